"""Encrypting a cleaner's output while it is written (portal.crypto.streaming): the
age file holds exactly the plaintext file's final bytes, whatever the writer patched
behind itself; a stream that cannot hold says so and leaves nothing; a helper that
fails is an error, never a short file.

The window and the batch are made small here so that files of a few hundred KiB go
through the helper process as a gigabyte does."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pyrage
import pytest

from portal.cleaning import Limits, clean_file, registry
from portal.crypto import age, sealer, streaming
from portal.public.filing import clean_encrypted
from portal.public.uploads import is_out_of_space
from tests.cleaning import mediagen
from tests.corpus import corpus_file
from tests.encryption.helpers import noise_wav

CHUNK = age.CHUNK


@pytest.fixture(scope="module")
def theirs() -> pyrage.x25519.Identity:
    return pyrage.x25519.Identity.generate()


@pytest.fixture
def small(monkeypatch):
    """Batches of 2 chunks, sealed once 1 chunk has been written after them; counts
    the helper processes started."""
    monkeypatch.setattr(streaming, "BATCH", 2)
    monkeypatch.setattr(streaming, "WINDOW", CHUNK)
    started = []
    real = sealer.SealerProcess.__init__

    def init(self, *args, **kwargs):
        started.append(1)
        real(self, *args, **kwargs)

    monkeypatch.setattr(sealer.SealerProcess, "__init__", init)
    return started


def _output(tmp_path: Path, theirs) -> tuple[streaming.StreamedEncryption, Path, Path]:
    target = tmp_path / "out.age"
    streamed = streaming.StreamedEncryption(target, age.Identity.parse(str(theirs)).recipient)
    return streamed, tmp_path / "plain", target


def _write_in_pieces(out, data: bytes, piece: int = 10_000) -> None:
    for at in range(0, len(data), piece):
        out.write(data[at : at + piece])


def test_written_in_order_it_is_sealed_behind_the_writer(tmp_path, theirs, small) -> None:
    streamed, plain, target = _output(tmp_path, theirs)
    out = streamed(plain)
    data = os.urandom(20 * CHUNK + 123)
    _write_in_pieces(out, data)
    assert small, "no helper process sealed behind the writer"
    assert streamed.finish() == len(data)
    assert pyrage.decrypt(target.read_bytes(), [theirs]) == data == plain.read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.age", "plain"]


def test_patches_to_chunk_zero_and_to_the_window_are_kept(tmp_path, theirs, small) -> None:
    streamed, plain, target = _output(tmp_path, theirs)
    out = streamed(plain)
    data = bytearray(os.urandom(12 * CHUNK + 5))
    _write_in_pieces(out, bytes(data))
    for at, patch in ((8, b"SIZE"), (CHUNK - 2, b"ab"), (len(data) - 100, b"tail" * 10)):
        out.seek(at)
        out.write(patch)
        data[at : at + len(patch)] = patch
    out.seek(0, os.SEEK_END)
    out.write(b"more")
    data += b"more"
    out.seek(4)
    assert out.read(4) == bytes(data[4:8])
    assert streamed.finish() == len(data)
    assert pyrage.decrypt(target.read_bytes(), [theirs]) == bytes(data)


@pytest.mark.parametrize("spoil", ["sealed chunk", "truncation", "behind its back"])
def test_a_stream_that_cannot_hold_says_so_and_leaves_nothing(
    tmp_path, theirs, small, spoil: str
) -> None:
    streamed, plain, _ = _output(tmp_path, theirs)
    out = streamed(plain)
    _write_in_pieces(out, os.urandom(16 * CHUNK))
    if spoil == "sealed chunk":
        out.seek(CHUNK + 10)  # chunk 1 went into the first batch
        out.write(b"patch")
    elif spoil == "truncation":
        out.truncate(3 * CHUNK)
    else:
        with plain.open("r+b") as fh:
            fh.seek(2 * CHUNK)
            fh.write(b"not through the stream")
    assert streamed.finish() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]


def test_a_short_output_is_sealed_without_a_helper(tmp_path, theirs, monkeypatch) -> None:
    started = []
    monkeypatch.setattr(sealer.SealerProcess, "__init__", lambda *a: started.append(1))
    streamed, plain, target = _output(tmp_path, theirs)
    data = os.urandom(3 * CHUNK + 1)
    _write_in_pieces(streamed(plain), data)
    assert streamed.finish() == len(data)
    assert pyrage.decrypt(target.read_bytes(), [theirs]) == data
    assert not started


def _failing_helper(tmp_path: Path, monkeypatch, code: int) -> None:
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\nexit {code}\n")
    fake.chmod(0o700)
    monkeypatch.setattr(sealer.sys, "executable", str(fake))


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_helper_out_of_space_is_a_full_disk_and_leaves_nothing(
    tmp_path, theirs, small, monkeypatch, code: int
) -> None:
    _failing_helper(tmp_path, monkeypatch, code)
    streamed, plain, _ = _output(tmp_path, theirs)
    with pytest.raises(sealer.HelperFailed) as raised:
        out = streamed(plain)
        _write_in_pieces(out, os.urandom(16 * CHUNK))
        streamed.finish()
    streamed.discard()
    assert is_out_of_space(raised.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain", "python"]


@pytest.mark.parametrize("code", [1, 9, -9])
def test_a_helper_that_fails_otherwise_only_abandons_the_stream(
    tmp_path, theirs, small, monkeypatch, code: int
) -> None:
    """A helper that cannot start or dies (killed, out of memory) is not the file's
    fault: the stream is abandoned and the caller encrypts the plaintext itself."""
    if code < 0:
        _failing_helper(tmp_path, monkeypatch, 0)
        (tmp_path / "python").write_text(f"#!/bin/sh\nkill {-code} $$\n")
    else:
        _failing_helper(tmp_path, monkeypatch, code)
    streamed, plain, _ = _output(tmp_path, theirs)
    out = streamed(plain)
    _write_in_pieces(out, os.urandom(16 * CHUNK))
    assert streamed.finish() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain", "python"]


def test_filing_falls_back_when_the_helper_fails(tmp_path, theirs, small, monkeypatch) -> None:
    _failing_helper(tmp_path, monkeypatch, 1)
    recording = tmp_path / "voice.wav"
    recording.write_bytes(noise_wav(seconds=20))  # 320 KB: past the window, a helper starts
    registry.load_all()
    expected = tmp_path / "expected"
    clean_file(recording, expected, durable=False)
    target = tmp_path / "stored.age"
    recipient = age.Identity.parse(str(theirs)).recipient
    result, size = clean_encrypted(recording, tmp_path / "plain", target, recipient, Limits())
    assert small, "no helper was started"
    assert (result.format, size) == ("WAV", expected.stat().st_size)
    assert pyrage.decrypt(target.read_bytes(), [theirs]) == expected.read_bytes()


def _same_streamed_or_not(tmp_path: Path, theirs, source: Path) -> None:
    registry.load_all()
    by_path = tmp_path / "by-path"
    clean_file(source, by_path, durable=False)
    streamed, plain, target = _output(tmp_path, theirs)
    clean_file(source, plain, durable=False, through=streamed)
    assert streamed.finish() == by_path.stat().st_size
    assert pyrage.decrypt(target.read_bytes(), [theirs]) == by_path.read_bytes()


@pytest.mark.parametrize("container", ["mp4", "mov", "mkv", "webm"])
def test_a_cleaned_video_is_the_same_streamed_or_not(tmp_path, theirs, small, container) -> None:
    """FFmpeg writing through the stream makes the very bytes it writes to a path,
    patches and user-data blanking included."""
    _same_streamed_or_not(tmp_path, theirs, mediagen.tagged_video(tmp_path, container))


@pytest.mark.parametrize("container", ["mp3", "m4a", "ogg", "flac", "wav"])
def test_a_cleaned_sound_is_the_same_streamed_or_not(tmp_path, theirs, small, container) -> None:
    _same_streamed_or_not(tmp_path, theirs, mediagen.tagged_audio(tmp_path, container))


@pytest.mark.parametrize(
    "name", ["mat2_dirty.mp4", "mat2_dirty.mp3", "mat2_dirty.flac", "mat2_dirty.avi"]
)
def test_a_cleaned_corpus_recording_is_the_same_streamed_or_not(
    tmp_path, theirs, small, name
) -> None:
    _same_streamed_or_not(tmp_path, theirs, corpus_file(name))
