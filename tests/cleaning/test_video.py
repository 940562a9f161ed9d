"""The video cleaner: real corpus videos and generated ones carrying tags, a location,
chapters, subtitles, data tracks and attachments.

exiftool judges what metadata remains; PyAV compares the packets of the kept streams
byte for byte, so the cleaner is shown to copy media without re-encoding it.
"""

from __future__ import annotations

import pytest

from portal.cleaning import Category, Limits, Refusal, RefusalCode, identify
from portal.cleaning.media import VIDEO_CLEANER, sniff_container
from tests.cleaning import mediagen
from tests.corpus import corpus_file
from tests.exiftool_oracle import leaks, read_tags

# Corpus videos, and strings from their tags that must not survive.
CORPUS = {
    "mat2_dirty.mp4": ("MP4", [b"HandBrake"]),  # its dates are binary: exiftool judges
    "mat2_dirty.avi": ("AVI", [b"MEncoder"]),
    "mat2_dirty.wmv": ("WMV", ["Lavf52".encode("utf-16-le")]),  # ASF strings are UTF-16
}


clean = mediagen.clean
assert_clean = mediagen.assert_clean


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_video_cleaned(name, tmp_path):
    src = corpus_file(name)
    expected_format, needles = CORPUS[name]
    result, out = clean(src, tmp_path)
    assert (result.kind, result.format) == ("video", expected_format)
    assert Category.SOFTWARE in result.removed
    for needle in needles:
        assert needle in src.read_bytes()  # the needle was really there
    assert_clean(src, out, needles)
    assert set(mediagen.stream_types(out)) == {"video", "audio"}


@pytest.mark.corpus
def test_quicktime_without_media_data_is_refused(tmp_path):
    # exiftool's sample MOV keeps the headers of a Pentax clip but no samples: its
    # tracks hold only empty packets, so there is nothing to copy.
    with pytest.raises(Refusal) as info:
        clean(corpus_file("exiftool_QuickTime.mov"), tmp_path)
    assert info.value.code == RefusalCode.MALFORMED


@pytest.mark.parametrize(
    ("container", "expected_format", "mime"),
    [
        ("mp4", "MP4", "video/mp4"),
        ("mov", "MP4", "video/mp4"),
        ("mkv", "MKV", "video/x-matroska"),
        ("webm", "WEBM", "video/webm"),
    ],
)
def test_generated_video_loses_tags_tracks_and_chapters(container, expected_format, mime, tmp_path):
    src = mediagen.tagged_video(tmp_path, container)
    before = mediagen.stream_types(src)
    assert "subtitle" in before or "data" in before
    result, out = clean(src, tmp_path)
    assert (result.kind, result.format, result.mime) == ("video", expected_format, mime)
    assert {Category.AUTHOR, Category.COMMENT, Category.EMBEDDED} <= result.removed
    if container != "webm":  # the WebM muxer keeps no location or date tags
        assert {Category.GPS, Category.DATES} <= result.removed
    assert_clean(src, out, [m.encode() for m in mediagen.MARKERS])
    assert mediagen.stream_types(out) == ["video", "audio"]
    tags = read_tags(out)
    assert not [k for k in tags if "Chapter" in k or k.endswith(":Text")]
    dates = {k: v for k, v in tags.items() if "Date" in k and not k.startswith("System:")}
    assert all(str(v).startswith("0000:00:00 00:00:00") for v in dates.values()), dates


def test_mov_apple_location_and_make_are_reported(tmp_path):
    src = mediagen.tagged_video(tmp_path, "mov")
    found = VIDEO_CLEANER.inspect(src, Limits())
    assert {Category.GPS, Category.MAKE_MODEL, Category.DATES} <= found


def test_rotation_is_kept(tmp_path):
    src = mediagen.rotated_video(tmp_path)
    assert mediagen.first_frame_rotation(src) in (90, -90, 270)
    _result, out = clean(src, tmp_path)
    assert mediagen.first_frame_rotation(out) == mediagen.first_frame_rotation(src)
    assert read_tags(out)["Composite:Rotation"] == read_tags(src)["Composite:Rotation"]


def test_video_without_video_stream_becomes_audio(tmp_path):
    src = tmp_path / "sound.mp4"
    mediagen.ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", src)
    assert identify(src).family == "video"  # an ordinary isom brand
    result, out = clean(src, tmp_path)
    assert (result.kind, result.format, result.extension) == ("audio", "M4A", "m4a")
    assert leaks(out) == []


@pytest.mark.parametrize("faststart", [False, True], ids=["moov-last", "moov-first"])
def test_truncated_mp4_refused(faststart, tmp_path):
    extra = ("-movflags", "+faststart") if faststart else ()
    src = mediagen.plain_video(tmp_path, "whole.mp4", *extra)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size * 2 // 3])
    with pytest.raises(Refusal) as info:
        clean(cut, tmp_path)
    assert info.value.code == RefusalCode.MALFORMED
    assert not (tmp_path / "cleaned.bin").exists()


@pytest.mark.parametrize("container", ["mkv", "webm"])
def test_truncated_matroska_refused(container, tmp_path):
    src = mediagen.tagged_video(tmp_path, container)
    cut = tmp_path / f"cut.{container}"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size * 2 // 3])
    with pytest.raises(Refusal) as info:
        clean(cut, tmp_path)
    assert info.value.code == RefusalCode.MALFORMED


def test_frame_larger_than_limit_refused(tmp_path):
    src = mediagen.plain_video(tmp_path)
    with pytest.raises(Refusal) as info:
        clean(src, tmp_path, Limits(max_pixels=64 * 48 - 1))
    assert info.value.code == RefusalCode.TOO_LARGE


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", None),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1avif", None),
        (b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00avifmif1", None),
        (b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom", "m4a"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isomavc1", "isobmff"),
        (b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x003gp4", "isobmff"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", "isobmff"),
        (b"\x00\x00\x00\x14ftypXXXX\x00\x00\x00\x00XXXX", None),
        (b"\x00\x00\x0f\x17moov\x00\x00\x00lmvhd", "quicktime"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "avi"),
        (b"\x1aE\xdf\xa3\x93B\x82\x84webmB\x87\x81\x02", "webm"),
        (b"\x1aE\xdf\xa3\x97B\x82\x88matroskaB\x87\x81\x04", "matroska"),
        (b"just some text that is not a video", None),
    ],
)
def test_sniffing_by_bytes(head, expected, tmp_path):
    path = tmp_path / "probe"
    path.write_bytes(head)
    assert sniff_container(head, path) == expected


def test_heic_is_left_to_the_heif_module(tmp_path):
    head = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
    path = tmp_path / "photo"
    path.write_bytes(head)
    assert not VIDEO_CLEANER.sniff(head, path)


def test_garbage_after_a_video_signature_refused(tmp_path):
    path = tmp_path / "fake.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isomavc1" + bytes(5000))
    with pytest.raises(Refusal) as info:
        clean(path, tmp_path)
    assert info.value.code == RefusalCode.MALFORMED


@pytest.mark.parametrize("fourcc", ["gpmd", "mebx"])
def test_timed_data_tracks_are_dropped(fourcc, tmp_path):
    # A GPS track (GoPro gpmd) or Apple timed metadata (mebx, face boxes) beside the
    # picture: the copy keeps the video packets and nothing of the data track.
    src = mediagen.data_track_video(tmp_path, fourcc)
    assert mediagen.stream_types(src) == ["video", "data"]
    assert mediagen.TRACK_SECRET in src.read_bytes()
    result, out = clean(src, tmp_path)
    assert Category.EMBEDDED in result.removed
    assert mediagen.stream_types(out) == ["video"]
    assert_clean(src, out, [mediagen.TRACK_SECRET, b"GPS5", fourcc.encode()])


@pytest.mark.parametrize(
    ("name", "codecs", "expected"),
    [
        ("tagged.m4v", ("-c:v", "libx264", "-c:a", "aac", "-f", "ipod"), ("MP4", "mp4")),
        ("tagged.3gp", ("-c:v", "libx264", "-c:a", "aac", "-ar", "16000"), ("MP4", "mp4")),
        ("tagged.avi", ("-c:v", "mpeg4", "-c:a", "libmp3lame"), ("AVI", "avi")),
    ],
)
def test_m4v_3gp_and_avi_lose_their_tags(name, codecs, expected, tmp_path):
    src = tmp_path / name
    chapters, _subtitles = mediagen._sources(tmp_path)
    mediagen.ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1",
        "-f", "lavfi", "-i", "sine=duration=1", "-i", chapters,
        "-map", "0", "-map", "1", "-map_chapters", "2", *codecs, *mediagen.TAGS, src,
    )  # fmt: skip
    found = read_tags(src)
    assert any(mediagen.MARKERS[0] in str(v) for v in found.values())  # tags were written
    result, out = clean(src, tmp_path)
    assert (result.format, result.extension) == expected
    assert {Category.AUTHOR, Category.COMMENT} <= result.removed
    assert_clean(src, out, [m.encode() for m in mediagen.MARKERS])
    assert mediagen.stream_types(out) == ["video", "audio"]
    assert not [k for k in read_tags(out) if "Chapter" in k]


def test_chapters_are_gone_for_the_demuxer_too(tmp_path):
    import av

    for container in ("mp4", "mkv"):
        src = mediagen.tagged_video(tmp_path, container)
        with av.open(str(src)) as before:
            assert before.chapters()
        _result, out = clean(src, tmp_path)
        with av.open(str(out)) as after:
            assert after.chapters() == []
