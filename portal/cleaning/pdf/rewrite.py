"""The PDF rewrite: the document rebuilt from an allow-list (:mod:`.allowlist`), its
images and colour profiles cleaned, and written anew by qpdf (through pikepdf).

Before qpdf parses anything, :mod:`.objects` bounds how many objects the file lists and
how large they are. Then the catalog is rebuilt from scratch (``/Type``, ``/Pages``,
optional-content layers) around one flat page tree, and every object a page reaches is
pruned to the keys its kind needs to render (see :mod:`.allowlist`). The trailer keeps
only ``/Root``: the Info dictionary and any custom key go, and the ``/ID`` written is
qpdf's fixed "static" id, the same for every cleaned file. qpdf writes only the objects
the new catalog reaches, so no incremental update survives (earlier revisions, and the
Author they carried, are gone), nor any object nothing uses; object streams are
generated afresh.

JPEG images (DCTDecode) go through the registry's JPEG cleaner, as any uploaded JPEG
would; if it cannot clean one the PDF is refused. JPEG 2000 images can carry their own
metadata boxes and nothing here cleans them, so such PDFs are refused too. The same
holds for inline images (BI ... ID ... EI) in content streams (pages, form XObjects,
tiling patterns, Type 3 glyphs, annotation appearances): an inline JPEG is cleaned and
the content stream rewritten around it; an inline JPEG 2000 image, or a JPEG behind
other filters, is refused. Inline images cannot hold an ICC stream themselves; a named
colour space they use is a resource, handled below.

ICC colour profiles ([/ICCBased stream] colour spaces wherever they appear: images,
/ColorSpace resources, /DefaultRGB and friends, /Indexed bases, /Separation and
/DeviceN alternates, shadings, transparency groups) follow :mod:`portal.cleaning.icc`:
a standard profile's data is replaced by its canonical copy; a device profile (it can
name a scanner or printer) is replaced by the device colour space with as many
components (/N 1, 3, 4: /DeviceGray, /DeviceRGB, /DeviceCMYK), so such colours may
shift slightly; a /Default* entry holding one is removed. Output intents (printing
conditions) are not needed to show a page and go; one carrying a device profile is
reported. A profile with another /N is refused.

Streams are never decompressed by qpdf on writing (they are copied as they are), so a
compression bomb is not expanded here; the streams this module does decompress (JPEG
images, ICC profiles, content streams) count against one
:class:`~portal.cleaning.budget.Budget` of expanded bytes for the whole file, and none
may be larger than ``Limits.max_pdf_stream_bytes``. Flate is inflated here only as far
as the budget; a chain of other filters is decoded by qpdf only when even the worst
Flate ratio would fit the budget. Content streams parsed into instructions (to reach
inline images) are charged to the budget of PDF objects by their tokens first.
"""

from __future__ import annotations

import io
import mmap
import zlib
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, ObjectStreamMode, Stream, StreamDecodeLevel
from PIL import Image

from portal.cleaning import icc, registry
from portal.cleaning.base import Category, Cleaned, Kind, Limits, Refusal, RefusalCode
from portal.cleaning.budget import Budget, Resource
from portal.cleaning.pdf import STATIC_ID, objects
from portal.cleaning.pdf.allowlist import KEY_CATEGORIES, Findings, Pruner, filters

objects.apply_qpdf_limits()

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
# Trailer keys that are the file's own bookkeeping; any other is somebody's data.
_TRAILER_BOOKKEEPING = {
    "/Size", "/Prev", "/XRefStm", "/Encrypt", "/Root", "/Type", "/W", "/Index",
    "/Filter", "/DecodeParms", "/Length", "/DL", "/Info", "/ID",
}  # fmt: skip
_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
_MAX_TREE_DEPTH = 64

_DEVICE_SPACES = {1: Name.DeviceGray, 3: Name.DeviceRGB, 4: Name.DeviceCMYK}
_DEFAULT_SPACES = {"/DefaultGray", "/DefaultRGB", "/DefaultCMYK"}
_WHITESPACE = b"\x00\t\n\x0c\r "  # PDF white-space characters
_MAX_FLATE_RATIO = 1032  # the most Deflate can expand
_MAX_OTHER_RATIO = 4096  # LZW codes of 12 bits expand at most to 4096 bytes


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


@dataclass
class _Job:
    """One PDF being rebuilt: its budget, what it was found to carry, and the
    objects the rewrite still has to judge."""

    pdf: pikepdf.Pdf
    limits: Limits
    budget: Budget
    findings: Findings
    pages: list[Dictionary]
    intents: list[Stream]


def _trailer(pdf: pikepdf.Pdf, found: set[Category]) -> None:
    """Keep only /Root in the trailer; tell what the rest held."""
    trailer = pdf.trailer
    info = trailer.get("/Info")
    if isinstance(info, Dictionary):
        for key, value in info.items():
            if key in _NEUTRAL_INFO:
                continue
            if isinstance(value, pikepdf.String) and not bytes(value).strip():
                continue
            found.add(_INFO_CATEGORIES.get(key, Category.COMMENT))
    ids = trailer.get("/ID")
    if isinstance(ids, Array) and any(
        not isinstance(i, pikepdf.String) or bytes(i) != STATIC_ID for i in ids
    ):
        found.add(Category.SERIAL)
    for key in list(trailer.keys()):
        if key not in _TRAILER_BOOKKEEPING:
            found.add(KEY_CATEGORIES.get(key, Category.HIDDEN_DATA))
        if key not in ("/Root", "/Size", "/Encrypt"):
            del trailer[key]  # without an /ID, qpdf writes the static one in both halves


def _inherited(page: Dictionary, key: str) -> object | None:
    """``key`` as ``page`` inherits it from the page tree, if it does."""
    node, depth = page.get("/Parent"), 0
    while isinstance(node, Dictionary) and depth < _MAX_TREE_DEPTH:
        if key in node:
            return node[key]
        node, depth = node.get("/Parent"), depth + 1
    return None


def _pages(pdf: pikepdf.Pdf, budget: Budget) -> list[Dictionary]:
    """Every page, with the attributes it inherits written into it."""
    try:
        pages = [page.obj for page in pdf.pages]
    except (pikepdf.PdfError, RuntimeError) as exc:
        raise Refusal(RefusalCode.MALFORMED, "PDF page tree does not read") from exc
    budget.spend(Resource.PDF_OBJECTS, len(pages), "PDF has too many pages")
    for page in pages:
        for key in _INHERITED:
            if key not in page:
                value = _inherited(page, key)
                if value is not None:
                    page[key] = value
    return pages


def _flatten_widgets(
    pdf: pikepdf.Pdf, root: Dictionary, pages: list[Dictionary], found: set[Category]
) -> None:
    """Draw what each form field shows into its page, as the page's own content; the
    fields themselves (names, values, scripts) are left for the pruning to remove.
    Other annotations are set aside meanwhile, so only widgets are flattened."""
    form = root.get("/AcroForm")
    needs = form.get("/NeedAppearances") if isinstance(form, Dictionary) else None
    if isinstance(needs, bool) and needs:
        try:  # fields a viewer would draw from their values: drawn once, here
            pdf.generate_appearance_streams()
        except pikepdf.PdfError as exc:
            raise Refusal(RefusalCode.CLEANING_FAILED, "PDF form not drawable") from exc
    others: dict[int, Array] = {}
    for index, page in enumerate(pages):
        annots = page.get("/Annots")
        if not isinstance(annots, Array):
            continue
        widgets = Array()
        others[index] = Array()
        for annot in annots:
            is_widget = isinstance(annot, Dictionary) and annot.get("/Subtype") == Name.Widget
            (widgets if is_widget else others[index]).append(annot)
            if is_widget and ("/AA" in annot or "/A" in annot):
                found.add(Category.SCRIPTS)  # the field's scripts
        page.Annots = widgets
    if not others:
        return
    try:
        pdf.flatten_annotations(mode="all")
    except pikepdf.PdfError as exc:
        raise Refusal(RefusalCode.CLEANING_FAILED, "PDF form fields not drawable") from exc
    for index, kept in others.items():
        pages[index].Annots = kept  # widgets not drawn (hidden, no appearance) go


def _output_intents(root: Dictionary) -> list[Stream]:
    """The profiles of the output intents, which the rebuilt catalog will not keep."""
    intents = root.get("/OutputIntents")
    profiles = []
    for intent in intents if isinstance(intents, Array) else []:
        if isinstance(intent, Dictionary):
            profile = intent.get("/DestOutputProfile")
            if isinstance(profile, Stream):
                profiles.append(profile)
    return profiles


def _prepare(pdf: pikepdf.Pdf, src: Path, limits: Limits) -> _Job:
    """Check the file's size in objects, rebuild it from the allow-list and tell what
    it carried; images and profiles are left to the caller."""
    budget = Budget(limits)
    objects_of = objects.Objects(pdf, src, limits, budget)
    found: set[Category] = set()
    _trailer(pdf, found)
    root = pdf.Root
    if not isinstance(root, Dictionary):
        raise Refusal(RefusalCode.CLEANING_FAILED, "PDF catalog is not a dictionary")
    intents = _output_intents(root)
    pages = _pages(pdf, budget)
    _flatten_widgets(pdf, root, pages, found)
    pruner = Pruner(pdf, budget)
    pruner.run(root, pages)
    findings = pruner.findings
    findings.categories |= found
    if pruner.unreached_streams(objects_of):
        findings.categories.add(Category.HIDDEN_DATA)  # streams no page uses
    if _revision_count(src) > (2 if pdf.is_linearized else 1):
        findings.categories.add(Category.REVISIONS)
    return _Job(pdf, limits, budget, findings, pages, intents)


# --- decoding, within the budget ------------------------------------------------------


def _checked_size(size: int, limits: Limits) -> None:
    if size > limits.max_pdf_stream_bytes:
        raise Refusal(RefusalCode.TOO_COMPLEX, "PDF stream too large to clean")


def _jpeg_bytes(stream: Stream, job: _Job) -> bytes:
    """The JPEG file inside an image stream: the raw stream, or the raw stream inflated
    when a Flate filter is wrapped around it (inflated only as far as the budget)."""
    names = filters(stream)
    _checked_size(len(stream.get_raw_stream_buffer()), job.limits)
    raw = stream.read_raw_bytes()
    if names == ["/DCTDecode"]:
        data = raw
    elif names == ["/FlateDecode", "/DCTDecode"]:
        parms = stream.get("/DecodeParms")
        if isinstance(parms, Array) and isinstance(parms[0], Dictionary) and len(parms[0]):
            raise Refusal(RefusalCode.CLEANING_FAILED, "predictor around a JPEG")
        data = _inflate(raw, job, "bad Flate data around a JPEG")
    else:
        raise Refusal(RefusalCode.CLEANING_FAILED, "unsupported filters around a JPEG")
    job.budget.spend(Resource.EXPANDED_BYTES, len(data), "PDF streams expand too far")
    return data


def _inflate(raw: bytes, job: _Job, bad_data: str) -> bytes:
    """Flate data inflated no further than one byte past what the budget (or the
    largest stream allowed) has left, enough for spending it to refuse the file.
    ``bad_data`` is the refusal's detail if the data is corrupt."""
    most = min(job.budget.left(Resource.EXPANDED_BYTES), job.limits.max_pdf_stream_bytes)
    try:
        data = zlib.decompressobj().decompress(raw, most + 1)
    except zlib.error as exc:
        raise Refusal(RefusalCode.MALFORMED, bad_data) from exc
    _checked_size(len(data), job.limits)
    return data


def _decoded(stream: Stream, job: _Job) -> bytes:
    """The decoded data of a (non-image) stream, counted against the budget."""
    names = filters(stream)
    raw = stream.read_raw_bytes()
    parms = stream.get("/DecodeParms")
    if not names:
        data = raw
    elif names == ["/FlateDecode"] and not (isinstance(parms, Dictionary) and len(parms)):
        data = _inflate(raw, job, "bad Flate data in PDF")
    else:
        ratio = _MAX_FLATE_RATIO if "/FlateDecode" in names else _MAX_OTHER_RATIO
        if not job.budget.allows(Resource.EXPANDED_BYTES, len(raw) * ratio):
            raise Refusal(RefusalCode.TOO_LARGE, "PDF stream could expand too far")
        try:
            data = stream.read_bytes()
        except pikepdf.PdfError as exc:
            raise Refusal(RefusalCode.MALFORMED, "PDF stream does not decode") from exc
    _checked_size(len(data), job.limits)
    job.budget.spend(Resource.EXPANDED_BYTES, len(data), "PDF streams expand too far")
    return data


# --- colour profiles -------------------------------------------------------------------


class _Profiles:
    """Judges each ICC profile stream once: its canonical copy, or None for a
    device (non-standard or unreadable) profile."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.seen: dict[tuple[int, int], bytes | None] = {}

    def canonical(self, stream: Stream) -> bytes | None:
        key = stream.objgen
        if key not in self.seen:
            data = _decoded(stream, self.job)
            try:
                self.seen[key] = (
                    icc.canonical_profile(data) if icc.is_standard_profile(data) else None
                )
            except ValueError:
                self.seen[key] = None
        return self.seen[key]


def _icc_pass(job: _Job) -> set[Category]:
    """Apply the ICC policy (see the module docstring); report device profiles."""
    found: set[Category] = set()
    profiles = _Profiles(job)
    rewritten: set[tuple[int, int]] = set()
    for container, key, stream in job.findings.icc_uses:
        canonical = profiles.canonical(stream)
        if canonical is not None:
            if stream.objgen not in rewritten:
                rewritten.add(stream.objgen)
                stream.write(canonical)
                for name in list(stream.keys()):
                    if name not in {"/N", "/Alternate", "/Range", "/Length"}:
                        del stream[name]
            continue
        found.add(Category.ICC_PROFILE)
        device = _DEVICE_SPACES.get(stream.get("/N"))  # type: ignore[call-overload]
        if device is None:
            raise Refusal(RefusalCode.CLEANING_FAILED, "ICC profile of unusual /N in PDF")
        if isinstance(container, Array):
            assert isinstance(key, int)
            container[key] = device
        elif key in _DEFAULT_SPACES:
            del container[str(key)]
        else:
            container[str(key)] = device
    for profile in job.intents:
        if profiles.canonical(profile) is None:
            found.add(Category.ICC_PROFILE)  # a printer's or press's own profile
    return found


# --- inline images -----------------------------------------------------------------------


def _page_streams(page: Dictionary) -> list[Stream]:
    contents = page.get("/Contents")
    if isinstance(contents, Stream):
        return [contents]
    if isinstance(contents, Array):
        return [c for c in contents if isinstance(c, Stream)]
    return []


def _inline_jpeg(image: pikepdf.PdfInlineImage) -> bytes | None:
    """The JPEG file of an inline image, None if it is not a JPEG; refuses what cannot
    be cleaned."""
    names = [str(f) for f in image.filters]
    if "/JPXDecode" in names:
        raise Refusal(RefusalCode.CLEANING_FAILED, "inline JPEG 2000 image in PDF")
    if "/DCTDecode" not in names:
        return None
    if names != ["/DCTDecode"]:
        raise Refusal(RefusalCode.CLEANING_FAILED, "inline JPEG image behind other filters")
    # The raw span ends just before EI, so it holds the white space in front of it.
    return image.read_raw_bytes().rstrip(_WHITESPACE)


def _rebuilt_inline(
    pdf: pikepdf.Pdf, image: pikepdf.PdfInlineImage, jpeg: bytes
) -> pikepdf.ContentStreamInlineImage:
    """An inline-image instruction with ``image``'s dictionary and ``jpeg`` as data,
    checked to parse back to exactly that data (a stray "EI" in it would not)."""
    entries = Dictionary({k: v for k, v in image.obj.items() if k not in {"/Length", "/L"}})
    tokens = entries.unparse().strip()[2:-2]  # the dictionary without << and >>
    parsed = pikepdf.parse_content_stream(Stream(pdf, b"BI " + tokens + b" ID " + jpeg + b"\nEI\n"))
    if (
        len(parsed) != 1
        or not isinstance(parsed[0], pikepdf.ContentStreamInlineImage)
        or parsed[0].iimage.read_raw_bytes().rstrip(_WHITESPACE) != jpeg
    ):
        raise Refusal(RefusalCode.CLEANING_FAILED, "cleaned inline JPEG cannot be written")
    return parsed[0]


_Instructions = list[pikepdf.ContentStreamInstruction | pikepdf.ContentStreamInlineImage]


def _instructions(job: _Job, data: bytes) -> _Instructions:
    """``data`` (decoded content) parsed into instructions, its tokens charged to the
    budget first: parsing takes far more memory than the text."""
    tokens = data.count(b" ") + data.count(b"\n") + data.count(b"\r")
    job.budget.spend(Resource.PDF_OBJECTS, tokens, "PDF content streams too large")
    try:
        parsed: _Instructions = pikepdf.parse_content_stream(Stream(job.pdf, data))
    except pikepdf.PdfError as exc:
        raise Refusal(RefusalCode.MALFORMED, "PDF content stream does not parse") from exc
    return parsed


def _inline_pass(job: _Job, workdir: Path, depth: int | None) -> set[Category]:
    """Find inline JPEG images in every content stream: report their metadata
    (``depth`` None) or clean them and rewrite the content stream."""
    found: set[Category] = set()
    targets: list[tuple[Dictionary | Stream, list[Stream]]] = [
        (page, _page_streams(page)) for page in job.pages
    ]
    targets += [(stream, [stream]) for stream in job.findings.content_streams]
    for target, streams in targets:
        data = b"\n".join(_decoded(s, job) for s in streams)
        if b"ID" not in data:
            continue  # no inline image can be there
        instructions = _instructions(job, data)
        changed = False
        for index, instruction in enumerate(instructions):
            if not isinstance(instruction, pikepdf.ContentStreamInlineImage):
                continue
            image = instruction.iimage
            jpeg = _inline_jpeg(image)
            if jpeg is None:
                continue
            if depth is None:
                found |= registry.inspect_bytes(jpeg, workdir, job.limits)
                continue
            cleaned, removed = _cleaned_jpeg(jpeg, workdir, job.limits, depth)
            found |= removed
            instructions[index] = _rebuilt_inline(job.pdf, image, cleaned)
            changed = True
        if changed:
            rewritten = pikepdf.unparse_content_stream(instructions)
            if isinstance(target, Stream):
                target.write(rewritten)
            else:
                target["/Contents"] = job.pdf.make_stream(rewritten)
    return found


# --- JPEG images -----------------------------------------------------------------------


def _geometry(data: bytes) -> tuple[tuple[int, int], str]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size, im.mode


def _cleaned_jpeg(
    original: bytes, workdir: Path, limits: Limits, depth: int
) -> tuple[bytes, set[Category]]:
    """A JPEG found in the PDF, cleaned by the registry, with what was removed."""
    try:
        cleaned, result = registry.clean_bytes(original, workdir, limits, depth + 1)
    except Refusal as exc:
        if exc.code in (RefusalCode.TOO_LARGE, RefusalCode.TOO_COMPLEX):
            raise Refusal(exc.code, f"embedded JPEG: {exc.detail}") from exc
        raise Refusal(
            RefusalCode.CLEANING_FAILED, f"embedded JPEG not cleanable: {exc.code}"
        ) from exc
    # The image must still fit the stream's /Width, /Height and colour space.
    if result.format != "JPEG" or _geometry(cleaned) != _geometry(original):
        raise Refusal(RefusalCode.CLEANING_FAILED, "embedded JPEG changed shape")
    return cleaned, set(result.removed)


def _clean_jpeg(stream: Stream, job: _Job, workdir: Path, depth: int) -> set[Category]:
    cleaned, removed = _cleaned_jpeg(_jpeg_bytes(stream, job), workdir, job.limits, depth)
    decode_parms = stream.get("/DecodeParms")
    if isinstance(decode_parms, Array):
        decode_parms = decode_parms[-1]
    stream.write(
        cleaned,
        filter=Name.DCTDecode,
        decode_parms=decode_parms if isinstance(decode_parms, Dictionary) else None,
    )
    return removed


# --- the two verbs ---------------------------------------------------------------------


def _within_qpdf_limits(pdf: pikepdf.Pdf, errors_before: int) -> None:
    """Refuse the file if qpdf hit one of its limits (:mod:`.objects`) meanwhile: it
    does not raise then, it warns, reads the object as null and goes on."""
    if pikepdf.settings.qpdf_limit_errors() != errors_before or any(
        "limit exceeded" in warning for warning in pdf.get_warnings()
    ):
        raise Refusal(RefusalCode.TOO_COMPLEX, "PDF beyond qpdf's limits")


def inspect(src: Path, limits: Limits) -> set[Category]:
    """What the PDF at ``src`` carries, images inside it included. (The file is
    rebuilt in memory, exactly as for cleaning, and never written.)"""
    objects.count_before_opening(src, limits)
    errors_before = pikepdf.settings.qpdf_limit_errors()
    with _open(src) as pdf:
        job = _prepare(pdf, src, limits)
        found = set(job.findings.categories)
        found |= _icc_pass(job)
        found |= _inline_pass(job, src.parent, None)
        for stream in job.findings.jpegs:
            found |= registry.inspect_bytes(_jpeg_bytes(stream, job), src.parent, limits)
        _within_qpdf_limits(pdf, errors_before)
    return found


def clean(src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
    """Write the cleaned rewrite of the PDF at ``src`` to ``dst``."""
    objects.count_before_opening(src, limits)
    errors_before = pikepdf.settings.qpdf_limit_errors()
    with _open(src) as pdf:
        job = _prepare(pdf, src, limits)
        _within_qpdf_limits(pdf, errors_before)
        found = set(job.findings.categories)
        found |= _icc_pass(job)
        found |= _inline_pass(job, dst.parent, depth)
        for stream in job.findings.jpegs:
            found |= _clean_jpeg(stream, job, dst.parent, depth)
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
        _within_qpdf_limits(pdf, errors_before)
    return Cleaned(
        kind=Kind.DOCUMENT,
        format="PDF",
        mime="application/pdf",
        extension="pdf",
        removed=frozenset(found),
    )
