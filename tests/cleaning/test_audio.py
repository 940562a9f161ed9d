"""The audio cleaner: real corpus songs and generated MP3, M4A, Ogg, Opus, FLAC and WAV
files carrying tags (ID3v1/v2, iTunes, Vorbis comments, RIFF INFO, BWF) and covers.

exiftool judges what metadata remains; PyAV compares the audio packets byte for byte.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from portal.cleaning import Category, Limits, Refusal, RefusalCode, identify
from portal.cleaning.media import AUDIO_CLEANER
from tests.cleaning import mediagen
from tests.corpus import corpus_file
from tests.exiftool_oracle import leaks

# Corpus songs: expected format, and strings from their tags that must not survive.
CORPUS = {
    "mat2_dirty.mp3": ("MP3", [b"jvoisin", b"harmfull", b"Thank you for using MAT"]),
    "mat2_dirty.ogg": ("OGG", [b"jvoisin", b"harmfull", b"Thank you for using MAT"]),
    "mat2_dirty.flac": ("FLAC", [b"jvoisin", b"harmfull", b"Thank you for using MAT"]),
    "mat2_dirty.wav": ("WAV", [b"jvoisin", b"Zomg, a comment"]),
}

FORMATS = {
    "mp3": ("MP3", "audio/mpeg", "mp3"),
    "m4a": ("M4A", "audio/mp4", "m4a"),
    "ogg": ("OGG", "audio/ogg", "ogg"),
    "opus": ("OPUS", "audio/ogg", "opus"),
    "flac": ("FLAC", "audio/flac", "flac"),
    "wav": ("WAV", "audio/wav", "wav"),
}


clean = mediagen.clean


def assert_clean(src: Path, out: Path, needles: list[bytes]) -> None:
    mediagen.assert_clean(src, out, needles)
    assert mediagen.stream_types(out) == ["audio"]


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_audio_cleaned(name, tmp_path):
    src = corpus_file(name)
    expected_format, needles = CORPUS[name]
    for needle in needles:
        assert needle in src.read_bytes()  # the needle was really there
    result, out = clean(src, tmp_path)
    assert (result.kind, result.format) == ("audio", expected_format)
    assert {Category.AUTHOR, Category.COMMENT} <= result.removed
    assert_clean(src, out, needles)


@pytest.mark.corpus
def test_corpus_flac_cover_reported(tmp_path):
    result, _out = clean(corpus_file("mat2_dirty.flac"), tmp_path)
    assert Category.THUMBNAIL in result.removed


@pytest.mark.parametrize("container", sorted(FORMATS))
def test_generated_audio_loses_tags_and_cover(container, tmp_path):
    src = mediagen.tagged_audio(tmp_path, container)
    assert identify(src).family == "audio"
    result, out = clean(src, tmp_path)
    assert (result.kind, result.format, result.mime, result.extension) == (
        "audio",
        *FORMATS[container],
    )
    assert {Category.AUTHOR, Category.COMMENT, Category.DATES} <= result.removed
    if container in mediagen.COVER_FORMATS:
        assert "video" in mediagen.stream_types(src)
        assert Category.THUMBNAIL in result.removed
    needles = [m.encode() for m in mediagen.MARKERS] + [b"Lavf"]
    # FFmpeg's AAC encoder writes its name into the first audio packet; packets are
    # copied untouched, so "Lavc" may stay only where it is part of the audio data.
    in_audio = any(b"Lavc" in p for s in mediagen.kept_payloads(src) for p in s)
    if not in_audio:
        needles.append(b"Lavc")
    assert_clean(src, out, needles)


def test_cleaned_output_inspects_clean(tmp_path):
    for container in ("mp3", "flac", "ogg"):
        _result, out = clean(mediagen.tagged_audio(tmp_path, container), tmp_path)
        assert AUDIO_CLEANER.inspect(out, Limits()) == set()


@pytest.mark.parametrize("container", ["m4a", "flac", "wav"])
def test_truncated_audio_refused(container, tmp_path):
    src = mediagen.tagged_audio(tmp_path, container)
    # M4A: the sample tables come last, cut them off; FLAC/WAV: lose the audio's end.
    size = src.stat().st_size
    cut_at = size * 2 // 3 if container == "m4a" else size - 2000
    cut = tmp_path / f"cut.{container}"
    cut.write_bytes(src.read_bytes()[:cut_at])
    with pytest.raises(Refusal) as info:
        clean(cut, tmp_path)
    assert info.value.code == RefusalCode.MALFORMED


def _frame_header() -> bytes:
    return b"\xff\xfb\x90\x64"  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417 bytes


def test_mp3_sniffing_needs_a_chain_of_frames(tmp_path):
    rng = random.Random(7)
    frame = _frame_header() + bytes(413)
    cases = {
        "chain": (frame * 6, True),
        "one frame then noise": (frame + rng.randbytes(4000), False),
        "sync bytes in noise": (b"\xff\xfb" + rng.randbytes(4000), False),
        "reserved sample rate": ((b"\xff\xfb\x9c\x64" + bytes(413)) * 6, False),
    }
    for name, (data, expected) in cases.items():
        path = tmp_path / "probe"
        path.write_bytes(data)
        assert AUDIO_CLEANER.sniff(data[:4096], path) is expected, name


def test_id3_tag_then_flac_goes_to_flac(tmp_path):
    flac = mediagen.tagged_audio(tmp_path, "flac")
    id3 = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + bytes(10)  # an empty 10-byte tag
    src = tmp_path / "id3.flac"
    src.write_bytes(id3 + flac.read_bytes())
    result, out = clean(src, tmp_path)
    assert result.format == "FLAC"
    assert leaks(out) == []


def test_id3_tag_over_noise_is_not_audio(tmp_path):
    data = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + bytes(10) + random.Random(1).randbytes(5000)
    path = tmp_path / "noise"
    path.write_bytes(data)
    assert not AUDIO_CLEANER.sniff(data[:4096], path)
