"""PDF: a full rewrite by qpdf (through pikepdf) with every identifying entry removed.

The output is written from scratch: no incremental update survives (earlier
revisions, and the Author they carried, are gone), unreferenced objects are dropped,
object streams are generated afresh and the trailer /ID is qpdf's fixed "static" id,
the same for every cleaned file.

Removed everywhere: the document Info dictionary, XMP (/Metadata on the catalog and
on any page, image, font or stream), /PieceInfo, /LastModified, page thumbnails,
OPI and alternate images, reference XObjects, JavaScript, additional actions and every
action other than a link (URI), an in-document jump or a named action, embedded files
(the /EmbeddedFiles tree, /EF and /AF entries, file-attachment and media
annotations), XFA forms, and signatures (they name the signer and cannot survive a
rewrite anyway). Annotations keep their text but lose their author (/T), dates and
unique names. The structure tree (accessibility) is kept without its element ids.

JPEG images (DCTDecode) go through the registry's JPEG cleaner, as any uploaded JPEG
would; if it cannot clean one the PDF is refused. JPEG 2000 images can carry their own
metadata boxes and nothing here cleans them, so such PDFs are refused too.

Streams are never decompressed by qpdf on writing (they are copied as they are), so a
compression bomb is not expanded here; the streams this module does decompress count
against ``Limits.max_expanded_bytes``.
"""

from __future__ import annotations

import io
import mmap
import os
import secrets
import zlib
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, ObjectStreamMode, Stream, StreamDecodeLevel
from PIL import Image

from portal.cleaning import registry
from portal.cleaning.base import (
    Category,
    Cleaned,
    FormatCleaner,
    Limits,
    Refusal,
    RefusalCode,
)

#: The /ID qpdf writes with ``static_id=True``: shared by every cleaned PDF.
STATIC_ID = bytes.fromhex("31415926535897932384626433832795")

# Keys dropped from any dictionary or stream, with what they tell the receipt.
_DROPPED_KEYS = {
    "/Metadata": Category.XMP,
    "/PieceInfo": Category.HIDDEN_DATA,  # private data of the producing application
    "/LastModified": Category.DATES,
    "/AA": Category.EMBEDDED,  # additional actions: scripts run on events
    "/JS": Category.EMBEDDED,
    "/EF": Category.EMBEDDED,  # the embedded file of a file specification
    "/AF": Category.EMBEDDED,  # associated files (PDF 2.0, PDF/A-3)
    "/Thumb": Category.THUMBNAIL,
    "/OPI": Category.HIDDEN_DATA,  # prepress links, often the original image's path
    "/Alternates": Category.HIDDEN_DATA,
}

_INFO_CATEGORIES = {
    "/Author": Category.AUTHOR,
    "/Creator": Category.SOFTWARE,
    "/Producer": Category.SOFTWARE,
    "/CreationDate": Category.DATES,
    "/ModDate": Category.DATES,
    "/Title": Category.COMMENT,
    "/Subject": Category.COMMENT,
    "/Keywords": Category.COMMENT,
}
_NEUTRAL_INFO = {"/Trapped"}

# Actions that only move the reader within the document or open a visible link.
_SAFE_ACTIONS = {"/URI", "/GoTo", "/Named"}
# Annotations that carry a file, a sound, a movie or a 3D model: removed whole.
_EMBEDDING_ANNOTS = {"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"}
_ANNOT_DROPPED_KEYS = {
    "/M": Category.DATES,
    "/CreationDate": Category.DATES,
    "/NM": Category.SERIAL,  # the annotation's unique name, usually a UUID
}

_MAX_DEPTH = 100  # nesting of direct objects; deeper is hostile


def _name(obj: object) -> str | None:
    return str(obj) if isinstance(obj, Name) else None


def _filters(stream: Stream) -> list[str]:
    value = stream.get("/Filter")
    if isinstance(value, Array):
        return [str(v) for v in value]
    return [str(value)] if value is not None else []


class _Walk:
    """One pass over every object of a PDF. It records the categories it meets and,
    when ``apply`` is set, removes them."""

    def __init__(self, pdf: pikepdf.Pdf, apply: bool) -> None:
        self.pdf = pdf
        self.apply = apply
        self.found: set[Category] = set()
        self.jpegs: list[Stream] = []

    def _drop(self, d: Dictionary | Stream, key: str, category: Category | None) -> None:
        if key in d:
            if category is not None:
                self.found.add(category)
            if self.apply:
                del d[key]

    def run(self) -> set[Category]:
        self._trailer()
        self._catalog(self.pdf.Root)
        for obj in self.pdf.objects:
            if isinstance(obj, Dictionary | Stream):
                self._visit(obj, 0)
            elif isinstance(obj, Array):
                self._items(obj, 0)
        for page in self.pdf.pages:
            self._page_annotations(page.obj)
        return self.found

    def _trailer(self) -> None:
        trailer = self.pdf.trailer
        info = trailer.get("/Info")
        if isinstance(info, Dictionary):
            for key in info:
                if key in _NEUTRAL_INFO:
                    continue
                value = info[key]
                if isinstance(value, pikepdf.String) and not bytes(value).strip():
                    continue
                self.found.add(_INFO_CATEGORIES.get(key, Category.COMMENT))
        if self.apply and "/Info" in trailer:
            del trailer["/Info"]
        ids = trailer.get("/ID")
        if isinstance(ids, Array) and any(bytes(i) != STATIC_ID for i in ids):
            self.found.add(Category.SERIAL)
        # qpdf keeps the first element of an existing /ID; without one it writes the
        # static id in both.
        if self.apply and "/ID" in trailer:
            del trailer["/ID"]

    def _catalog(self, root: Dictionary) -> None:
        names = root.get("/Names")
        if isinstance(names, Dictionary):
            self._drop(names, "/EmbeddedFiles", Category.EMBEDDED)
            self._drop(names, "/JavaScript", Category.EMBEDDED)
        form = root.get("/AcroForm")
        if isinstance(form, Dictionary):
            self._drop(form, "/XFA", Category.EMBEDDED)
            self._drop(form, "/NeedsRendering", None)
        self._drop(root, "/Perms", Category.AUTHOR)  # signature permissions
        self._drop(root, "/Collection", Category.EMBEDDED)  # portfolio
        self._drop(root, "/SpiderInfo", Category.HIDDEN_DATA)  # web capture origins
        action = root.get("/OpenAction")
        if isinstance(action, Dictionary) and _name(action.get("/S")) not in _SAFE_ACTIONS:
            self._drop(root, "/OpenAction", Category.EMBEDDED)
        tree = root.get("/StructTreeRoot")
        if isinstance(tree, Dictionary):
            self._drop(tree, "/IDTree", None)

    def _visit(self, d: Dictionary | Stream, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise Refusal(RefusalCode.MALFORMED, "PDF objects nested too deep")
        for key, category in _DROPPED_KEYS.items():
            self._drop(d, key, category)
        self._typed(d)
        for key in list(d.keys()):
            self._descend(d[key], depth + 1)

    def _descend(self, value: object, depth: int) -> None:
        if isinstance(value, Stream) or getattr(value, "is_indirect", False):
            return  # indirect objects are visited on their own
        if isinstance(value, Dictionary):
            self._visit(value, depth)
        elif isinstance(value, Array):
            self._items(value, depth)

    def _items(self, array: Array, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise Refusal(RefusalCode.MALFORMED, "PDF objects nested too deep")
        for item in array:
            self._descend(item, depth + 1)

    def _typed(self, d: Dictionary | Stream) -> None:
        subtype = _name(d.get("/Subtype"))
        kind = _name(d.get("/Type"))
        action = d.get("/A")
        # /A is an action on links and outline items but attributes on structure
        # elements (which have no /S): only actions are judged.
        if (
            isinstance(action, Dictionary)
            and "/S" in action
            and _name(action.get("/S")) not in _SAFE_ACTIONS
        ):
            self._drop(d, "/A", Category.EMBEDDED)
        if "/S" in d and "/Next" in d:
            self._drop(d, "/Next", Category.EMBEDDED)  # chained actions are not judged
        if isinstance(d, Stream):
            if subtype == "/Image":
                filters = _filters(d)
                if "/JPXDecode" in filters:
                    raise Refusal(RefusalCode.CLEANING_FAILED, "JPEG 2000 image in PDF")
                if "/DCTDecode" in filters:
                    self.jpegs.append(d)
            elif subtype == "/Form":
                self._drop(d, "/Ref", Category.HIDDEN_DATA)  # a page of another file
            return
        if kind == "/Annot" or (subtype is not None and "/Rect" in d):
            if subtype != "/Widget":
                self._drop(d, "/T", Category.AUTHOR)
            for key, category in _ANNOT_DROPPED_KEYS.items():
                self._drop(d, key, category)
            if subtype in _EMBEDDING_ANNOTS:
                self.found.add(Category.EMBEDDED)
        if _name(d.get("/FT")) == "/Sig":
            self._drop(d, "/V", Category.AUTHOR)  # the signature names the signer
        if kind == "/Sig":
            for key in ("/Name", "/ContactInfo", "/Location", "/Reason", "/M", "/Prop_Build"):
                self._drop(d, key, Category.AUTHOR)
        if kind == "/Thread":
            self._drop(d, "/I", Category.COMMENT)
        if kind == "/StructElem":
            self._drop(d, "/ID", None)

    def _page_annotations(self, page: Dictionary) -> None:
        annots = page.get("/Annots")
        if not isinstance(annots, Array):
            return
        kept = Array()
        removed = False
        for annot in annots:
            if isinstance(annot, Dictionary) and (
                _name(annot.get("/Subtype")) in _EMBEDDING_ANNOTS
            ):
                removed = True
                continue
            kept.append(annot)
        if removed and self.apply:
            page["/Annots"] = kept


def _open(src: Path) -> pikepdf.Pdf:
    try:
        return pikepdf.open(src)
    except pikepdf.PasswordError as exc:
        raise Refusal(RefusalCode.ENCRYPTED, "PDF needs a password") from exc
    except (pikepdf.PdfError, ValueError) as exc:
        raise Refusal(RefusalCode.MALFORMED, f"pikepdf: {type(exc).__name__}") from exc


def _revision_count(src: Path) -> int:
    """How many cross-reference sections the bytes end ("startxref" markers)."""
    with open(src, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        count, pos = 0, mm.find(b"startxref")
        while pos != -1:
            count += 1
            pos = mm.find(b"startxref", pos + 1)
    return count


def _survey(
    pdf: pikepdf.Pdf, src: Path, limits: Limits, *, apply: bool
) -> tuple[_Walk, set[Category], list[int]]:
    """Walk every object (removing what is found when ``apply`` is set) and count the
    revisions. Returns the walk (for its JPEG streams), the categories found and the
    budget of bytes the JPEG streams may still expand to."""
    walk = _Walk(pdf, apply=apply)
    found = walk.run()
    if _revision_count(src) > (2 if pdf.is_linearized else 1):
        found.add(Category.REVISIONS)
    return walk, found, [limits.max_expanded_bytes]


def _jpeg_bytes(stream: Stream, budget: list[int]) -> bytes:
    """The JPEG file inside an image stream: the raw stream, or the raw stream inflated
    when a Flate filter is wrapped around it (inflated only as far as the budget)."""
    filters = _filters(stream)
    raw = stream.read_raw_bytes()
    if filters == ["/DCTDecode"]:
        data = raw
    elif filters == ["/FlateDecode", "/DCTDecode"]:
        parms = stream.get("/DecodeParms")
        if isinstance(parms, Array) and isinstance(parms[0], Dictionary) and len(parms[0]):
            raise Refusal(RefusalCode.CLEANING_FAILED, "predictor around a JPEG")
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(raw, max(budget[0], 0) + 1)
        except zlib.error as exc:
            raise Refusal(RefusalCode.MALFORMED, "bad Flate data around a JPEG") from exc
    else:
        raise Refusal(RefusalCode.CLEANING_FAILED, "unsupported filters around a JPEG")
    budget[0] -= len(data)
    if budget[0] < 0:
        raise Refusal(RefusalCode.TOO_LARGE, "PDF streams expand too far")
    return data


def _write_nested(data: bytes, folder: Path) -> Path:
    path = folder / f".pdf-image-{secrets.token_hex(8)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def _geometry(data: bytes) -> tuple[tuple[int, int], str]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size, im.mode


class PdfCleaner(FormatCleaner):
    family = "pdf"

    def sniff(self, head: bytes, path: Path) -> bool:
        return head.startswith(b"%PDF-")

    def inspect(self, src: Path, limits: Limits) -> set[Category]:
        with _open(src) as pdf:
            walk, found, budget = _survey(pdf, src, limits, apply=False)
            for stream in walk.jpegs:
                nested = _write_nested(_jpeg_bytes(stream, budget), src.parent)
                try:
                    found |= registry.inspect_file(nested, limits)[1]
                finally:
                    nested.unlink(missing_ok=True)
        return found

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        with _open(src) as pdf:
            walk, found, budget = _survey(pdf, src, limits, apply=True)
            for stream in walk.jpegs:
                found |= self._clean_jpeg(stream, budget, dst.parent, limits, depth)
            try:
                pdf.save(
                    dst,
                    static_id=True,
                    object_stream_mode=ObjectStreamMode.generate,
                    compress_streams=True,
                    stream_decode_level=StreamDecodeLevel.none,
                    fix_metadata_version=False,
                    preserve_pdfa=False,
                    encryption=False,
                    linearize=False,
                )
            except pikepdf.PdfError as exc:
                raise Refusal(RefusalCode.MALFORMED, "qpdf could not rewrite the PDF") from exc
        return Cleaned(
            kind="document",
            format="PDF",
            mime="application/pdf",
            extension="pdf",
            removed=frozenset(found),
        )

    @staticmethod
    def _clean_jpeg(
        stream: Stream, budget: list[int], workdir: Path, limits: Limits, depth: int
    ) -> set[Category]:
        original = _jpeg_bytes(stream, budget)
        try:
            cleaned, result = registry.clean_bytes(original, workdir, limits, depth + 1)
        except Refusal as exc:
            raise Refusal(
                RefusalCode.CLEANING_FAILED, f"embedded JPEG not cleanable: {exc.code}"
            ) from exc
        # The image must still fit the stream's /Width, /Height and colour space.
        if result.format != "JPEG" or _geometry(cleaned) != _geometry(original):
            raise Refusal(RefusalCode.CLEANING_FAILED, "embedded JPEG changed shape")
        decode_parms = stream.get("/DecodeParms")
        if isinstance(decode_parms, Array):
            decode_parms = decode_parms[-1]
        stream.write(
            cleaned,
            filter=Name.DCTDecode,
            decode_parms=decode_parms if isinstance(decode_parms, Dictionary) else None,
        )
        return set(result.removed)


CLEANER = PdfCleaner()
