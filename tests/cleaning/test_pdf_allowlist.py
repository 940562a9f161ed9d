"""PDF from an allow-list: private keys of any name, custom catalog and trailer keys,
XMP under any key, objects no page uses, actions, scripts, files and form fields go;
pages render as before (checked for every PDF cleaned, see tests/pdf_rendering.py);
web and mail links stay. Files that would cost too much are refused before qpdf
parses what would cost it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pikepdf
import pytest

from portal.cleaning import Category, Limits, Refusal, RefusalCode, clean_file
from portal.cleaning.pdf import CLEANER, rewrite
from tests.cleaning import docgen, hostile
from tests.corpus import corpus_file
from tests.exiftool_oracle import leaks


def expanded(path: Path) -> list[bytes]:
    """Every byte string the PDF holds: qpdf's QDF form of it (object streams
    expanded, streams decoded), and every string and stream read with pikepdf."""
    qdf = subprocess.run(
        ["qpdf", "--qdf", "--object-streams=disable", str(path), "-"],
        capture_output=True,
        check=False,
    )
    assert qdf.returncode in (0, 3), qdf.stderr  # 3: warnings only
    parts = [path.read_bytes(), qdf.stdout]
    with pikepdf.open(path) as pdf:
        stack: list[object] = [pdf.trailer, *pdf.objects]
        seen: set[tuple[int, int]] = set()
        while stack:
            obj = stack.pop()
            if getattr(obj, "is_indirect", False):
                if obj.objgen in seen:  # type: ignore[attr-defined]
                    continue
                seen.add(obj.objgen)  # type: ignore[attr-defined]
            if isinstance(obj, pikepdf.String):
                parts.append(bytes(obj))
            elif isinstance(obj, pikepdf.Array):
                stack.extend(obj)
            elif isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                parts.append(" ".join(obj.keys()).encode())
                stack.extend(obj.values())
                if isinstance(obj, pikepdf.Stream):
                    try:
                        parts.append(obj.read_bytes())
                    except pikepdf.PdfError:
                        parts.append(obj.read_raw_bytes())
    return parts


def found_in(values, path: Path) -> list[str]:
    parts = expanded(path)
    return [
        value
        for value in values
        if any(value.encode(codec) in part for part in parts for codec in ("utf-8", "utf-16-be"))
    ]


def test_private_keys_custom_keys_and_unused_objects_go(tmp_path: Path) -> None:
    src = tmp_path / "private.pdf"
    hostile.private_keys_pdf(src)
    planted = [
        hostile.PDF_PRIVATE,
        hostile.PDF_PRIVATE_PRODUCER,
        hostile.PDF_CATALOG_KEY,
        hostile.PDF_TRAILER_KEY,
        hostile.PDF_HIDDEN_XMP,
        "Canon EOS 40D",  # in the JPEG no page uses
    ]
    assert found_in(planted, src) == planted
    out = tmp_path / "clean.pdf"
    result = clean_file(src, out)
    assert found_in([*planted, "PTEX", "CustomCatalog", "CustomTrailer", "MyMeta"], out) == []
    assert {
        Category.FILE_PATHS,  # /PTEX.FileName
        Category.SOFTWARE,  # /PTEX.InfoDict's producer
        Category.DATES,
        Category.HIDDEN_DATA,  # the custom keys, the stream no page uses
    } <= result.removed
    with pikepdf.open(out) as pdf:
        assert set(pdf.Root.keys()) == {"/Type", "/Pages"}
        xref_stream = {"/Type", "/W", "/Index", "/Filter", "/DecodeParms", "/Length"}
        assert set(pdf.trailer.keys()) - xref_stream == {"/Root", "/Size", "/ID"}
        figure = pdf.pages[0].Resources.XObject.Fx
        assert set(figure.keys()) <= {"/Type", "/Subtype", "/BBox", "/Length", "/Filter"}
        assert not any(
            isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == pikepdf.Name.Image
            for obj in pdf.objects
        )
    assert leaks(out) == []


def test_each_private_key_is_reported_even_alone(tmp_path: Path) -> None:
    """A file whose only extra is one unknown key is not reported as clean."""
    src = tmp_path / "one.pdf"
    pdf = pikepdf.new()
    page = pdf.add_blank_page()
    page.obj["/Whatever.Key"] = pikepdf.String("x")
    pdf.save(src, static_id=True)
    assert CLEANER.inspect(src, Limits()) == {Category.HIDDEN_DATA}


@pytest.mark.corpus
def test_included_figures_lose_their_pdftex_keys() -> None:
    src = corpus_file("mat2_dirty.pdf")
    assert found_in(["PTEX.FileName", "./figures/", "cairo 1.13.1", "D:2016"], src)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clean.pdf"
        result = clean_file(src, out)
        assert found_in(["PTEX", "./figures/", "cairo", "D:2016"], out) == []
    assert {Category.FILE_PATHS, Category.SOFTWARE, Category.DATES} <= result.removed


def test_actions_scripts_files_and_fields_go_links_stay(tmp_path: Path) -> None:
    src = tmp_path / "actions.pdf"
    hostile.actions_pdf(src)
    canaries = [
        hostile.PDF_OPEN_URL,
        "js-canary",
        "form-canary",
        "launch-canary",
        "gotor-canary",
        "submit-canary",
        hostile.PDF_OCG_CREATOR,
        docgen.AUTHOR,
        "attached spreadsheet",
        "javascript:",
        "/Named",
        "nombre",  # the field's name
    ]
    assert found_in(canaries, src) == canaries
    out = tmp_path / "clean.pdf"
    result = clean_file(src, out)
    assert found_in(canaries, out) == []
    assert {
        Category.SCRIPTS,
        Category.EMBEDDED,
        Category.FILE_PATHS,  # the remote file a link opened
        Category.AUTHOR,  # the note's author, the layer's creator
        Category.DATES,
        Category.COMMENT,  # the note's rich text
    } <= result.removed
    with pikepdf.open(out) as pdf:
        assert set(pdf.Root.keys()) == {"/Type", "/Pages", "/OCProperties"}
        page = pdf.pages[0]
        assert "/AA" not in page.obj
        annots = list(page.Annots)
        links = [str(a.A.URI) for a in annots if a.Subtype == pikepdf.Name.Link]
        assert links == ["https://example.org/fuente", "mailto:editor@example.org"]
        assert all(set(a.A.keys()) == {"/S", "/URI"} for a in annots if "/A" in a)
        (note,) = [a for a in annots if a.Subtype == pikepdf.Name.Text]
        assert str(note.Contents) == docgen.NOTE
        assert not set(note.keys()) & {"/T", "/M", "/RC", "/AA", "/NM"}
        assert not [a for a in annots if a.Subtype == pikepdf.Name.Widget]
        drawn = b"".join(s.read_bytes() for s in pdf.pages[0].Contents)
        assert b"/Fxo" in drawn or b"Do" in drawn  # the field's look, drawn into the page
        assert list(pdf.Root.OCProperties.D.OFF) == list(pdf.Root.OCProperties.OCGs)
        assert "/Usage" not in pdf.Root.OCProperties.OCGs[0]
    assert CLEANER.inspect(out, Limits()) == set()


def test_inherited_page_attributes_are_kept(tmp_path: Path) -> None:
    src = tmp_path / "inherited.pdf"
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(200, 100))
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Courier
        )
    )
    pdf.Root.Pages.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    pdf.Root.Pages.Rotate = 90
    pdf.Root.Pages.MediaBox = page.obj.MediaBox
    del page.obj["/MediaBox"]
    del page.obj["/Resources"]
    page.Contents = pdf.make_stream(b"BT /F1 20 Tf 10 40 Td (Informe) Tj ET")
    pdf.save(src)
    out = tmp_path / "clean.pdf"
    clean_file(src, out)
    with pikepdf.open(out) as cleaned:
        page = cleaned.pages[0]
        assert int(page.Rotate) == 90 and list(page.MediaBox) == [0, 0, 200, 100]
        assert "/F1" in page.Resources.Font


# --- budget ---------------------------------------------------------------------------


def refusal(src: Path, tmp_path: Path, limits: Limits | None = None) -> RefusalCode:
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out.pdf", limits)
    assert not (tmp_path / "out.pdf").exists()
    return info.value.code


def test_too_many_objects_are_refused_before_qpdf_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "many.pdf"
    hostile.many_objects_pdf(src, 3_000)
    opened: list[object] = []
    monkeypatch.setattr(rewrite, "_open", lambda path: opened.append(path))
    assert refusal(src, tmp_path, Limits(max_pdf_objects=2_000)) == RefusalCode.TOO_COMPLEX
    assert opened == []


@pytest.mark.parametrize(
    "builder",
    [hostile.object_stream_bomb_pdf, hostile.big_array_pdf, hostile.content_bomb_pdf],
    ids=["object-stream-bomb", "big-array", "content-bomb"],
)
def test_objects_that_would_take_gigabytes_are_refused(builder, tmp_path: Path) -> None:
    src = tmp_path / "bomb.pdf"
    builder(src)
    assert refusal(src, tmp_path) == RefusalCode.TOO_COMPLEX


def test_values_walked_count_against_the_budget(tmp_path: Path) -> None:
    src = tmp_path / "dirty.pdf"
    docgen.dirty_pdf(src)
    clean_file(src, tmp_path / "ok.pdf")
    assert refusal(src, tmp_path, Limits(max_pdf_objects=20)) == RefusalCode.TOO_COMPLEX


def test_streams_larger_than_allowed_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "dirty.pdf"
    docgen.dirty_pdf(src)
    assert refusal(src, tmp_path, Limits(max_pdf_stream_bytes=100)) == RefusalCode.TOO_COMPLEX
