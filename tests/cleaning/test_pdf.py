"""The PDF cleaner: a full rewrite without any earlier revision, document or object
metadata, attachments, scripts or annotation authors, with the pages unchanged."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pikepdf
import pytest

from portal.cleaning import Category, Limits, Refusal, RefusalCode, clean_file
from portal.cleaning.pdf import CLEANER, STATIC_ID
from tests.cleaning import docgen
from tests.corpus import corpus_file
from tests.exiftool_oracle import leaks


def every_byte(path: Path) -> bytes:
    """The file's bytes followed by every stream, decoded as far as qpdf can."""
    parts = [path.read_bytes()]
    with pikepdf.open(path) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream):
                try:
                    parts.append(obj.read_bytes())
                except pikepdf.PdfError:
                    parts.append(obj.read_raw_bytes())  # images: their file bytes
    return b"\n".join(parts)


def assert_absent(values, path: Path) -> None:
    data = every_byte(path)
    for value in values:
        for encoding in ("utf-8", "utf-16-be"):
            assert value.encode(encoding) not in data, value


def page_contents(path: Path) -> list[bytes]:
    with pikepdf.open(path) as pdf:
        out = []
        for page in pdf.pages:
            contents = page.obj.get("/Contents")
            streams = contents if isinstance(contents, pikepdf.Array) else [contents]
            out.append(b"".join(s.read_bytes() for s in streams if s is not None))
        return out


@pytest.fixture
def dirty(tmp_path: Path) -> Path:
    path = tmp_path / "dirty.pdf"
    docgen.dirty_pdf(path)
    docgen.append_incremental_update(path)
    return path


def test_generated_pdf_is_cleaned_and_keeps_its_page(dirty: Path, tmp_path: Path) -> None:
    found = CLEANER.inspect(dirty, Limits())
    assert {Category.AUTHOR, Category.XMP, Category.REVISIONS, Category.EMBEDDED} <= found
    out = tmp_path / "clean.pdf"
    result = clean_file(dirty, out)
    assert (result.kind, result.format, result.extension) == ("document", "PDF", "pdf")
    assert {Category.AUTHOR, Category.XMP, Category.GPS, Category.DATES} <= result.removed
    assert leaks(out) == []
    assert_absent(docgen.SECRETS, out)
    assert page_contents(out) == page_contents(dirty)
    assert docgen.BODY.encode() in page_contents(out)[0]
    with pikepdf.open(out) as pdf:
        assert "/Info" not in pdf.trailer
        assert [bytes(i) for i in pdf.trailer.ID] == [STATIC_ID, STATIC_ID]
        annots = list(pdf.pages[0].Annots)
        assert [str(a.Subtype) for a in annots] == ["/Text", "/Link"]
        assert str(annots[0].Contents) == docgen.NOTE  # the note's text is content
        assert "/T" not in annots[0] and "/M" not in annots[0]
        assert str(annots[1].A.URI) == "https://example.org/report"
        assert set(pdf.Root.keys()) == {"/Type", "/Pages"}  # no actions, names, files
        assert not pdf.attachments
    assert CLEANER.inspect(out, Limits()) == set()


def test_embedded_photo_loses_gps(dirty: Path, tmp_path: Path) -> None:
    out = tmp_path / "clean.pdf"
    clean_file(dirty, out)
    with pikepdf.open(out) as pdf:
        image = pdf.pages[0].Resources.XObject.Im1
        photo = tmp_path / "photo.jpg"
        photo.write_bytes(image.read_raw_bytes())
        assert (int(image.Width), int(image.Height)) == (16, 16)
    assert leaks(photo) == []


def test_incremental_update_leaves_no_earlier_author(tmp_path: Path) -> None:
    path = tmp_path / "revised.pdf"
    docgen.dirty_pdf(path)
    docgen.append_incremental_update(path, "Bob Update")
    raw = path.read_bytes()
    assert b"Alice Original" in raw and b"Bob Update" in raw  # both revisions are there
    with pikepdf.open(path) as pdf:
        assert str(pdf.docinfo.Author) == "Bob Update"
    out = tmp_path / "clean.pdf"
    result = clean_file(path, out)
    assert Category.REVISIONS in result.removed
    assert_absent(["Alice Original", "Bob Update"], out)
    assert out.read_bytes().count(b"startxref") == 1


def test_password_protected_pdf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "locked.pdf"
    docgen.dirty_pdf(path, encryption=pikepdf.Encryption(user="secret", owner="secret"))
    with pytest.raises(Refusal) as info:
        clean_file(path, tmp_path / "out.pdf")
    assert info.value.code == RefusalCode.ENCRYPTED
    assert not (tmp_path / "out.pdf").exists()


def test_owner_password_only_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "restricted.pdf"
    docgen.dirty_pdf(path, encryption=pikepdf.Encryption(user="", owner="owner"))
    out = tmp_path / "out.pdf"
    clean_file(path, out)
    with pikepdf.open(out) as pdf:
        assert not pdf.is_encrypted
    assert_absent(docgen.SECRETS, out)


def test_truncated_pdf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R")
    with pytest.raises(Refusal) as info:
        clean_file(path, tmp_path / "out.pdf")
    assert info.value.code in {RefusalCode.MALFORMED, RefusalCode.CLEANING_FAILED}


@pytest.mark.parametrize("ids", [b"[null null]", b"[1 2]", b"[<00> null]", b"[]"])
def test_a_document_id_that_is_not_two_strings_is_replaced(ids: bytes, tmp_path: Path) -> None:
    """Found by the fuzz test: an /ID of nulls crashed the cleaner instead of being
    replaced like any other document id."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.save(tmp_path / "plain.pdf", deterministic_id=True)
    data = (tmp_path / "plain.pdf").read_bytes()
    # The trailer follows the cross-reference table: its length moves no offset.
    src = tmp_path / "odd-id.pdf"
    src.write_bytes(re.sub(rb"/ID \[<[0-9a-f]+><[0-9a-f]+>\]", b"/ID " + ids, data))
    assert b"/ID " + ids in src.read_bytes()
    result = clean_file(src, tmp_path / "out.pdf")
    if ids != b"[]":
        assert Category.SERIAL in result.removed
    with pikepdf.open(tmp_path / "out.pdf") as cleaned:
        assert [bytes(i) for i in cleaned.trailer.ID] == [STATIC_ID, STATIC_ID]


def test_a_filter_name_that_is_not_utf8_is_malformed(tmp_path: Path) -> None:
    """Found by the long fuzz run: a content stream's /Filter name holding the byte
    0xE3 made str() of the name raise UnicodeDecodeError, a crash."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.pages[0].obj.Contents = pdf.make_stream(b"BT ET", Filter=pikepdf.Name("/FlateDecodeX"))
    pdf.save(tmp_path / "plain.pdf", deterministic_id=True, compress_streams=False)
    data = (tmp_path / "plain.pdf").read_bytes()
    assert data.count(b"/FlateDecodeX") == 1
    src = tmp_path / "odd-filter.pdf"
    src.write_bytes(data.replace(b"/FlateDecodeX", b"/FlateDec#E3X"))  # same length
    with pytest.raises(Refusal) as refused:
        clean_file(src, tmp_path / "out.pdf")
    assert refused.value.code == RefusalCode.MALFORMED, refused.value


def test_decompressed_streams_count_against_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.pdf"
    docgen.dirty_pdf(path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        image = pdf.pages[0].Resources.XObject.Im1
        jpeg = image.read_raw_bytes()
        # Flate around DCT: the cleaner has to inflate it to reach the JPEG.
        image.write(
            zlib.compress(jpeg),
            filter=pikepdf.Array([pikepdf.Name.FlateDecode, pikepdf.Name.DCTDecode]),
        )
        pdf.save(path)
    with pytest.raises(Refusal) as info:
        clean_file(path, tmp_path / "out.pdf", Limits(max_expanded_bytes=len(jpeg) - 1))
    assert info.value.code == RefusalCode.TOO_LARGE
    out = tmp_path / "ok.pdf"
    clean_file(path, out)
    assert leaks(out) == []


def _identifying_values(path: Path) -> list[str]:
    """What the original says about its author, software, ids and dates, read by
    pikepdf independently of the cleaner."""
    values = []
    with pikepdf.open(path) as pdf:
        for key, value in pdf.docinfo.items():
            if key != "/Trapped":
                values.append(str(value))
        xmp = pdf.Root.Metadata.read_bytes().decode("utf-8", "replace")
    values += re.findall(r"(?:uuid|xmp\.[di]id|adobe:docid:[a-z]+):[0-9a-fA-F-]{8,}", xmp)
    values += [v for v in re.findall(r">([^<>]{6,})<", xmp) if v.strip()]
    return [v for v in values if len(v.strip()) >= 6]


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["exiftool_PDF.pdf", "mat2_dirty.pdf"])
def test_corpus_pdf(name: str, tmp_path: Path) -> None:
    src = corpus_file(name)
    out = tmp_path / "clean.pdf"
    clean_file(src, out)
    assert leaks(out) == []
    values = _identifying_values(src)
    assert values, "the corpus file should carry identifying values"
    assert_absent(values, out)
    assert page_contents(out) == page_contents(src)


def _cs(value: object) -> str:
    return str(value) if isinstance(value, pikepdf.Name) else "array"


def test_device_icc_profiles_become_device_colour_spaces(tmp_path: Path) -> None:
    src = tmp_path / "scanned.pdf"
    docgen.icc_pdf(src, docgen.device_icc())
    marker = docgen.DEVICE_PROFILE.encode("utf-16-be")
    assert marker in every_byte(src) and marker not in src.read_bytes()  # compressed
    assert Category.ICC_PROFILE in CLEANER.inspect(src, Limits())
    out = tmp_path / "clean.pdf"
    result = clean_file(src, out)
    assert Category.ICC_PROFILE in result.removed
    assert_absent([docgen.DEVICE_PROFILE, "Canon", "7QX-0042"], out)
    assert b"acsp" not in every_byte(out)  # no profile of any kind is left
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 1
        page = pdf.pages[0]
        image = page.Resources.XObject.Im1
        assert (int(image.Width), int(image.Height)) == (4, 4)
        assert image.read_bytes() == bytes([10, 200, 30] * 16)  # pixels unchanged
        assert _cs(image.ColorSpace) == "/DeviceRGB"
        spaces = page.Resources.ColorSpace
        assert _cs(spaces.CS0[1]) == "/DeviceRGB"  # the /Indexed base
        assert _cs(spaces.CS1[2]) == "/DeviceRGB"  # the /Separation alternate
        assert "/DefaultRGB" not in spaces
        assert _cs(page.obj.Group.CS) == "/DeviceRGB"
        assert "/OutputIntents" not in pdf.Root
    assert page_contents(out) == page_contents(src)
    assert CLEANER.inspect(out, Limits()) == set()
    assert leaks(out) == []


@pytest.mark.pdf_renders_differently(
    "the generated file is inconsistent on purpose: an RGB profile declared with /N 1 or 4"
)
def test_grey_and_cmyk_device_profiles_map_by_component_count(tmp_path: Path) -> None:
    for components, device in ((1, "/DeviceGray"), (4, "/DeviceCMYK")):
        src = tmp_path / f"n{components}.pdf"
        # The profile's own data stays RGB: only /N decides the replacement.
        docgen.icc_pdf(src, docgen.device_icc(), components=components)
        out = tmp_path / f"n{components}-clean.pdf"
        clean_file(src, out)
        with pikepdf.open(out) as pdf:
            assert _cs(pdf.pages[0].Resources.XObject.Im1.ColorSpace) == device
        assert_absent([docgen.DEVICE_PROFILE], out)


def test_standard_profile_is_replaced_by_its_canonical_copy(tmp_path: Path) -> None:
    from PIL import ImageCms

    from portal.cleaning.icc import is_standard_profile, srgb_profile

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert is_standard_profile(srgb) and srgb != srgb_profile()
    src = tmp_path / "srgb.pdf"
    docgen.icc_pdf(src, srgb)
    assert Category.ICC_PROFILE not in CLEANER.inspect(src, Limits())
    out = tmp_path / "clean.pdf"
    clean_file(src, out)
    with pikepdf.open(out) as pdf:
        space = pdf.pages[0].Resources.XObject.Im1.ColorSpace
        assert str(space[0]) == "/ICCBased"
        assert space[1].read_bytes() == srgb_profile()
        assert "/OutputIntents" not in pdf.Root  # for printing: not needed to show


def _inline_images(path: Path) -> list[pikepdf.PdfInlineImage]:
    images = []
    with pikepdf.open(path) as pdf:
        page = pdf.pages[0]
        for target in (page.obj, page.Resources.XObject.Fm1):
            for instruction in pikepdf.parse_content_stream(target):
                if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                    images.append(instruction.iimage)
    return images


def test_inline_jpeg_loses_its_exif(tmp_path: Path) -> None:
    src = tmp_path / "inline.pdf"
    docgen.inline_jpeg_pdf(src, docgen.gps_jpeg())
    assert {Category.GPS, Category.AUTHOR} <= CLEANER.inspect(src, Limits())
    out = tmp_path / "clean.pdf"
    result = clean_file(src, out)
    assert {Category.GPS, Category.AUTHOR} <= result.removed
    assert_absent([docgen.AUTHOR, "Canon EOS 40D"], out)
    images = _inline_images(out)
    assert len(images) == 2  # the page's and the form's
    for n, image in enumerate(images):
        assert (image.width, image.height) == (16, 16)
        photo = tmp_path / f"inline-{n}.jpg"
        photo.write_bytes(image.read_raw_bytes())
        assert image.as_pil_image().size == (16, 16)
        assert leaks(photo) == []
    assert CLEANER.inspect(out, Limits()) == set()
    assert leaks(out) == []


def test_inline_jpeg_2000_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "inline-jpx.pdf"
    docgen.inline_jpeg_pdf(src, docgen.gps_jpeg(), filter_name="/JPXDecode")
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out.pdf")
    assert info.value.code == RefusalCode.CLEANING_FAILED
    assert not (tmp_path / "out.pdf").exists()
