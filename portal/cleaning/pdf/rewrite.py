"""The PDF rewrite: qpdf (through pikepdf) writes the file anew, every identifying
entry removed.

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
metadata boxes and nothing here cleans them, so such PDFs are refused too. The same
holds for inline images (BI ... ID ... EI) in content streams (pages, form XObjects,
tiling patterns, Type 3 glyphs): an inline JPEG is cleaned and the content stream
rewritten around it; an inline JPEG 2000 image, or a JPEG behind other filters, is
refused. Inline images cannot hold an ICC stream themselves; a named colour space they
use is a resource, handled below.

ICC colour profiles ([/ICCBased stream] colour spaces wherever they appear: images,
/ColorSpace resources, /DefaultRGB and friends, /Indexed bases, /Separation and
/DeviceN alternates, shadings, transparency groups; and output intents) follow
:mod:`portal.cleaning.icc`: a standard profile's data is replaced by its canonical
copy; a device profile (it can name a scanner or printer) is replaced by the device
colour space with as many components (/N 1, 3, 4: /DeviceGray, /DeviceRGB,
/DeviceCMYK), so such colours may shift slightly; a /Default* entry holding one is
removed; an output intent carrying one is dropped. A profile with another /N is
refused.

Streams are never decompressed by qpdf on writing (they are copied as they are), so a
compression bomb is not expanded here; the streams this module does decompress (JPEG
images, ICC profiles, content streams holding inline images) count against
one :class:`~portal.cleaning.budget.Budget` of expanded bytes for the whole file.
Flate is inflated here only as far as the budget; a chain of other filters is decoded
by qpdf only when even the worst Flate ratio would fit the budget.
"""

from __future__ import annotations

import io
import mmap
import zlib
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, ObjectStreamMode, Stream, StreamDecodeLevel
from PIL import Image

from portal.cleaning import icc, registry
from portal.cleaning.base import (
    Category,
    Cleaned,
    Kind,
    Limits,
    Refusal,
    RefusalCode,
)
from portal.cleaning.budget import Budget, Resource
from portal.cleaning.pdf import STATIC_ID

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

_DEVICE_SPACES = {1: Name.DeviceGray, 3: Name.DeviceRGB, 4: Name.DeviceCMYK}
_DEFAULT_SPACES = {"/DefaultGray", "/DefaultRGB", "/DefaultCMYK"}
_WHITESPACE = b"\x00\t\n\x0c\r "  # PDF white-space characters
_MAX_FLATE_RATIO = 1032  # the most Deflate can expand
_MAX_OTHER_RATIO = 4096  # LZW codes of 12 bits expand at most to 4096 bytes


def _icc_stream(value: object) -> Stream | None:
    """The profile stream of an [/ICCBased stream] colour space, else None."""
    if (
        isinstance(value, Array)
        and len(value) >= 2
        and value[0] == Name.ICCBased
        and isinstance(value[1], Stream)
    ):
        return value[1]
    return None


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
        # Where an [/ICCBased stream] colour space is used: (container, key or index).
        self.icc_uses: list[tuple[Dictionary | Stream | Array, str | int, Stream]] = []
        # Dictionaries holding /OutputIntents, and ICC-like streams met anywhere.
        self.intent_holders: list[Dictionary | Stream] = []
        self.icc_like: list[Stream] = []
        # Content streams other than pages' (which may hold inline images).
        self.content_streams: list[Stream] = []

    def _drop(self, d: Dictionary | Stream, key: str, category: Category | None) -> None:
        if key in d:
            if category is not None:
                self.found.add(category)
            if self.apply:
                del d[key]

    def run(self) -> set[Category]:
        self._trailer()
        root = self.pdf.Root
        if not isinstance(root, Dictionary):
            raise Refusal(RefusalCode.CLEANING_FAILED, "PDF catalog is not a dictionary")
        self._catalog(root)
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
            for key, value in info.items():
                if key in _NEUTRAL_INFO:
                    continue
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
            value = d[key]
            profile = _icc_stream(value)
            if profile is not None:
                self.icc_uses.append((d, key, profile))
            if key == "/OutputIntents":
                self.intent_holders.append(d)
            if key == "/CharProcs" and isinstance(value, Dictionary):
                self.content_streams += [v for v in value.values() if isinstance(v, Stream)]
            self._descend(value, depth + 1)

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
        for index, item in enumerate(array):
            profile = _icc_stream(item)
            if profile is not None:
                self.icc_uses.append((array, index, profile))
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
                self.content_streams.append(d)
            elif d.get("/PatternType") == 1:
                self.content_streams.append(d)  # a tiling pattern's cell
            elif "/N" in d and kind is None and subtype is None:
                self.icc_like.append(d)  # judged if its data is a profile
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
) -> tuple[_Walk, set[Category], Budget]:
    """Walk every object (removing what is found when ``apply`` is set) and count the
    revisions. Returns the walk (for its JPEG streams), the categories found and the
    file's budget, which the streams decoded from here on are counted against."""
    walk = _Walk(pdf, apply=apply)
    found = walk.run()
    if _revision_count(src) > (2 if pdf.is_linearized else 1):
        found.add(Category.REVISIONS)
    return walk, found, Budget(limits)


def _jpeg_bytes(stream: Stream, budget: Budget) -> bytes:
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
        data = _inflate(raw, budget, "bad Flate data around a JPEG")
    else:
        raise Refusal(RefusalCode.CLEANING_FAILED, "unsupported filters around a JPEG")
    budget.spend(Resource.EXPANDED_BYTES, len(data), "PDF streams expand too far")
    return data


def _inflate(raw: bytes, budget: Budget, bad_data: str) -> bytes:
    """Flate data inflated no further than one byte past what the budget has left
    (enough for spending it to refuse the file). ``bad_data`` is the refusal's
    detail if the data is corrupt."""
    try:
        return zlib.decompressobj().decompress(raw, budget.left(Resource.EXPANDED_BYTES) + 1)
    except zlib.error as exc:
        raise Refusal(RefusalCode.MALFORMED, bad_data) from exc


def _decoded(stream: Stream, budget: Budget) -> bytes:
    """The decoded data of a (non-image) stream, counted against the budget."""
    filters = _filters(stream)
    raw = stream.read_raw_bytes()
    parms = stream.get("/DecodeParms")
    if not filters:
        data = raw
    elif filters == ["/FlateDecode"] and not (isinstance(parms, Dictionary) and len(parms)):
        data = _inflate(raw, budget, "bad Flate data in PDF")
    else:
        ratio = _MAX_FLATE_RATIO if "/FlateDecode" in filters else _MAX_OTHER_RATIO
        if not budget.allows(Resource.EXPANDED_BYTES, len(raw) * ratio):
            raise Refusal(RefusalCode.TOO_LARGE, "PDF stream could expand too far")
        try:
            data = stream.read_bytes()
        except pikepdf.PdfError as exc:
            raise Refusal(RefusalCode.MALFORMED, "PDF stream does not decode") from exc
    budget.spend(Resource.EXPANDED_BYTES, len(data), "PDF streams expand too far")
    return data


class _Profiles:
    """Judges each ICC profile stream once: its canonical copy, or None for a
    device (non-standard or unreadable) profile."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.seen: dict[tuple[int, int], bytes | None] = {}

    def canonical(self, stream: Stream) -> bytes | None:
        key = stream.objgen
        if key not in self.seen:
            data = _decoded(stream, self.budget)
            try:
                self.seen[key] = (
                    icc.canonical_profile(data) if icc.is_standard_profile(data) else None
                )
            except ValueError:
                self.seen[key] = None
        return self.seen[key]


def _icc_pass(walk: _Walk, budget: Budget, *, apply: bool) -> set[Category]:
    """Apply the ICC policy (see the module docstring); report device profiles."""
    found: set[Category] = set()
    profiles = _Profiles(budget)
    rewritten: set[tuple[int, int]] = set()

    def keep(stream: Stream) -> bool:
        canonical = profiles.canonical(stream)
        if canonical is None:
            found.add(Category.ICC_PROFILE)
            return False
        if apply and stream.objgen not in rewritten:
            rewritten.add(stream.objgen)
            stream.write(canonical)
            for key in list(stream.keys()):
                if key not in {"/N", "/Alternate", "/Range", "/Length"}:
                    del stream[key]
        return True

    for container, key, stream in walk.icc_uses:
        if keep(stream) or not apply:
            continue
        device = _DEVICE_SPACES.get(stream.get("/N"))  # type: ignore[call-overload]
        if device is None:
            raise Refusal(RefusalCode.CLEANING_FAILED, "ICC profile of unusual /N in PDF")
        if isinstance(container, Array):
            container[key] = device
        elif key in _DEFAULT_SPACES:
            del container[key]
        else:
            container[key] = device
    for holder in walk.intent_holders:
        intents = holder.get("/OutputIntents")
        kept = Array()
        for intent in intents if isinstance(intents, Array) else []:
            profile = intent.get("/DestOutputProfile") if isinstance(intent, Dictionary) else None
            if isinstance(intent, Dictionary) and "/DestOutputProfileRef" in intent:
                found.add(Category.ICC_PROFILE)  # PDF 2.0: names an external profile
            elif not isinstance(profile, Stream) or keep(profile):
                kept.append(intent)
        if apply:
            if len(kept):
                holder["/OutputIntents"] = kept
            else:
                del holder["/OutputIntents"]
    for stream in walk.icc_like:
        # A profile used in a way not recognised above: a device profile is reported
        # (a cleaned file that still holds one is then refused), a standard one
        # canonicalised.
        if stream.objgen not in profiles.seen and _decoded(stream, budget)[36:40] == b"acsp":
            keep(stream)
    return found


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
    filters = [str(f) for f in image.filters]
    if "/JPXDecode" in filters:
        raise Refusal(RefusalCode.CLEANING_FAILED, "inline JPEG 2000 image in PDF")
    if "/DCTDecode" not in filters:
        return None
    if filters != ["/DCTDecode"]:
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


def _inline_pass(
    pdf: pikepdf.Pdf,
    walk: _Walk,
    budget: Budget,
    limits: Limits,
    workdir: Path,
    depth: int | None,
) -> set[Category]:
    """Find inline JPEG images in every content stream: report their metadata
    (``depth`` None) or clean them and rewrite the content stream."""
    found: set[Category] = set()
    targets: list[tuple[Dictionary | Stream, list[Stream]]] = [
        (page.obj, _page_streams(page.obj)) for page in pdf.pages
    ]
    targets += [(stream, [stream]) for stream in walk.content_streams]
    for target, streams in targets:
        if not any(b"ID" in _decoded(s, budget) for s in streams):
            continue  # no inline image can be there
        try:
            instructions = pikepdf.parse_content_stream(target)
        except pikepdf.PdfError as exc:
            raise Refusal(RefusalCode.MALFORMED, "PDF content stream does not parse") from exc
        changed = False
        for index, instruction in enumerate(instructions):
            if not isinstance(instruction, pikepdf.ContentStreamInlineImage):
                continue
            image = instruction.iimage
            jpeg = _inline_jpeg(image)
            if jpeg is None:
                continue
            if depth is None:
                found |= registry.inspect_bytes(jpeg, workdir, limits)
                continue
            cleaned, removed = _cleaned_jpeg(jpeg, workdir, limits, depth)
            found |= removed
            instructions[index] = _rebuilt_inline(pdf, image, cleaned)
            changed = True
        if changed:
            data = pikepdf.unparse_content_stream(instructions)
            if isinstance(target, Stream):
                target.write(data)
            else:
                target["/Contents"] = pdf.make_stream(data)
    return found


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
        raise Refusal(
            RefusalCode.CLEANING_FAILED, f"embedded JPEG not cleanable: {exc.code}"
        ) from exc
    # The image must still fit the stream's /Width, /Height and colour space.
    if result.format != "JPEG" or _geometry(cleaned) != _geometry(original):
        raise Refusal(RefusalCode.CLEANING_FAILED, "embedded JPEG changed shape")
    return cleaned, set(result.removed)


def inspect(src: Path, limits: Limits) -> set[Category]:
    """What the PDF at ``src`` carries, images inside it included."""
    with _open(src) as pdf:
        walk, found, budget = _survey(pdf, src, limits, apply=False)
        found |= _icc_pass(walk, budget, apply=False)
        found |= _inline_pass(pdf, walk, budget, limits, src.parent, None)
        for stream in walk.jpegs:
            found |= registry.inspect_bytes(_jpeg_bytes(stream, budget), src.parent, limits)
    return found


def clean(src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
    """Write the cleaned rewrite of the PDF at ``src`` to ``dst``."""
    with _open(src) as pdf:
        walk, found, budget = _survey(pdf, src, limits, apply=True)
        found |= _icc_pass(walk, budget, apply=True)
        found |= _inline_pass(pdf, walk, budget, limits, dst.parent, depth)
        for stream in walk.jpegs:
            found |= _clean_jpeg(stream, budget, dst.parent, limits, depth)
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
        kind=Kind.DOCUMENT,
        format="PDF",
        mime="application/pdf",
        extension="pdf",
        removed=frozenset(found),
    )


def _clean_jpeg(
    stream: Stream, budget: Budget, workdir: Path, limits: Limits, depth: int
) -> set[Category]:
    cleaned, removed = _cleaned_jpeg(_jpeg_bytes(stream, budget), workdir, limits, depth)
    decode_parms = stream.get("/DecodeParms")
    if isinstance(decode_parms, Array):
        decode_parms = decode_parms[-1]
    stream.write(
        cleaned,
        filter=Name.DCTDecode,
        decode_parms=decode_parms if isinstance(decode_parms, Dictionary) else None,
    )
    return removed
