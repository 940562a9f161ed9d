"""Every file of the shared corpus of real files through the cleaner.

Each file is either cleaned, and then exiftool finds nothing identifying in the output
AND a raw byte search of the output (zip members and PDF streams expanded) finds none
of the identifying values exiftool read from the original, and the content is still
there (same picture size, same streams, same pages); or it is refused, which is only
allowed for the files listed in ``EXPECTED_REFUSALS`` with the reason expected.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest

from portal.cleaning import Refusal, RefusalCode, clean_file
from tests import exiftool_oracle
from tests.cleaning.byte_search import encodings, expand
from tests.corpus import corpus_file, corpus_files
from tests.exiftool_oracle import leaks, read_tags

pytestmark = pytest.mark.corpus

#: The only corpus files that may be refused, each with the reason expected and why.
EXPECTED_REFUSALS: dict[str, RefusalCode] = {
    # exiftool's sample holds only metadata: its tracks have no media data (sample
    # sizes and chunk offsets of zero), so there is nothing to keep but the metadata.
    "exiftool_QuickTime.mov": RefusalCode.MALFORMED,
    # Pillow's Ultra HDR sample is cut short inside the primary image's scan data:
    # Pillow itself fails to load it ("image file is truncated").
    "pillow_ultrahdr.jpg": RefusalCode.MALFORMED,
}

# Values too generic to mean anything when found (they occur in ordinary structure).
# "Normal" is Word's default template name and also its default paragraph style, which
# every document's styles.xml names.
_GENERIC = {"unknown", "none", "default", "untitled", "image", "picture", "false", "true", "normal"}
# Tags whose values describe the content or the file type, not a person (a language
# code also appears in a document's styles, a MIME type in any container).
# ICCProfileName names a standard colour space ("sRGB IEC61966-2.1"), which the
# cleaner keeps in a scrubbed standard profile.
_CONTENT_TAGS = {"Language", "Format", "PictureMIMEType", "ICCProfileName"}
_MIN_LENGTH = 5


# --- what identified the original ------------------------------------------------------


def identifying_values(path: Path, original_parts: list[bytes]) -> dict[str, str]:
    """``{tag: value}`` for the identifying tags exiftool reads from ``path`` (as the
    oracle judges them) whose value is specific enough to search for and really
    stored as text in the file (GPS rationals, dates and flags are not)."""
    tags = read_tags(path)
    # the oracle's own judgement of which tags identify, without running exiftool twice
    with mock.patch.object(exiftool_oracle, "read_tags", return_value=tags):
        flagged = {leak.partition("=")[0] for leak in exiftool_oracle.leaks(path)}
    values: dict[str, str] = {}
    for key in flagged:
        raw = tags.get(key)
        for item in raw if isinstance(raw, list) else [raw]:
            if not isinstance(item, str):
                continue
            value = item.strip().strip("\x00").strip()
            tag = key.rpartition(":")[2]
            if (
                len(value) < _MIN_LENGTH
                or value.lower() in _GENERIC
                or value.startswith("base64:")
                or tag in _CONTENT_TAGS
                or "Date" in tag
                or "Time" in tag
            ):
                continue
            if any(enc in part for part in original_parts for enc in encodings(value)):
                values[key] = value
    return values


# --- content still there ----------------------------------------------------------------


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:
        pass
    with Image.open(path) as image:
        return image.size


def _media_streams(path: Path) -> tuple[list[str], float]:
    import av

    with av.open(str(path)) as container:
        kinds = sorted(
            s.type
            for s in container.streams
            if s.type in ("audio", "video")
            and not (s.disposition & av.stream.Disposition.attached_pic)
        )
        duration = (container.duration or 0) / 1_000_000
    return kinds, duration


def assert_content_kept(kind: str, original: Path, out: Path) -> None:
    if kind == "image":
        assert sorted(_image_size(out)) == sorted(_image_size(original))
    elif kind in ("video", "audio"):
        kinds_in, duration_in = _media_streams(original)
        kinds_out, duration_out = _media_streams(out)
        assert kinds_out == kinds_in
        assert abs(duration_out - duration_in) <= max(0.5, 0.05 * duration_in)
    elif kind == "document" and original.read_bytes()[:5] == b"%PDF-":
        import pikepdf

        with pikepdf.open(original) as a, pikepdf.open(out) as b:
            assert len(b.pages) == len(a.pages)


# --- the test -------------------------------------------------------------------------


@pytest.mark.parametrize("name", corpus_files() or ["(corpus absent)"])
def test_corpus_file_is_cleaned_or_refused_as_expected(name, tmp_path):
    src = corpus_file(name)
    out = tmp_path / "cleaned"
    if name in EXPECTED_REFUSALS:
        with pytest.raises(Refusal) as info:
            clean_file(src, out)
        assert info.value.code == EXPECTED_REFUSALS[name], info.value
        assert not out.exists()
        return

    try:
        result = clean_file(src, out)
    except Refusal as exc:
        pytest.fail(f"{name} refused ({exc}); add it to EXPECTED_REFUSALS only with a reason")

    assert leaks(out) == []

    original = identifying_values(src, expand(src.read_bytes()))
    cleaned_parts = expand(out.read_bytes())
    survived = {
        key: value
        for key, value in original.items()
        if any(enc in part for part in cleaned_parts for enc in encodings(value))
    }
    assert survived == {}, f"identifying values still in the bytes of the cleaned {name}"
    assert_content_kept(result.kind, src, out)
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize(
    "name",
    [
        "ianare_IMG_5195.HEIC",  # Apple, iPhone 11 Pro Max, capture ids in maker notes
        "mat2_dirty.docx",  # Julien Voisin, inside a zip member
        "mat2_dirty.pdf",  # pdfTeX, document ids inside compressed PDF streams
    ],
)
def test_byte_search_would_catch_an_uncleaned_copy(name):
    """The raw search above is not vacuous: on the originals it finds values."""
    src = corpus_file(name)
    assert identifying_values(src, expand(src.read_bytes()))
