"""Which keys of which PDF objects survive: the document rebuilt from the catalog down,
each object keeping only what a viewer needs to render its pages.

:class:`Pruner` walks from a fresh catalog (``/Type /Pages`` and the optional-content
layers, nothing else) through one flat page tree to every page, and from each page
through its boxes, contents, resources and annotations. Every object met is judged by
what it is where it is met (a font, an image, a colour space, ...): it keeps the keys
its kind lists and loses every other, so a private key of any name (``/PTEX.InfoDict``,
``/PTEX.FileName``), XMP under any key, thumbnails, piece info, structure, scripts and
actions, embedded files and form fields go without having to be known. Objects no page
reaches are not written at all (qpdf writes only what the trailer reaches), which
drops the Info dictionary, custom catalog and trailer keys, outlines and any stream
nothing uses.

Annotations keep their appearance: links only with a ``/URI`` action to an http(s) or
mailto address (no destination, no other action), markup annotations (notes,
highlights, stamps, ink, ...) with their text and appearance but without author, dates
or ids. Form fields were drawn into their pages before the walk (see :mod:`.rewrite`):
what they showed stays, their names, values and scripts go. Annotations that carry
files, sounds, movies or 3D models are removed, and so is any subtype not known here.

The walk records what it removes as :class:`~portal.cleaning.Category` values (known
keys by what they hold; anything else as hidden data, after a look inside it for
authors, dates, software, paths and scripts), and what the rewrite still has to judge:
JPEG images, ICC colour profiles and content streams (inline images). Every key and
array item it looks at is charged to the file's budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

from portal.cleaning.base import Category, Refusal, RefusalCode
from portal.cleaning.budget import Budget, Resource
from portal.cleaning.pdf.objects import Objects

Container = Dictionary | Stream | Array
Spec = Mapping[str, str]

_MAX_DEPTH = 100  # nesting of direct objects; deeper is hostile
_WEB_URI = re.compile(r"^(?:https?://|mailto:)[^\x00-\x20\x7f]+$", re.I)
_PATH_LIKE = re.compile(r"[\\/].*\.[A-Za-z0-9]{1,5}$|^[A-Za-z]:\\")

# --- kinds of object, and the keys each keeps ------------------------------------------

DATA = "data"  # numbers, names, strings, booleans, null, and arrays of them
_STREAM: dict[str, str] = {"/Filter": DATA, "/DecodeParms": "decodeparms"}

_GSTATE_VALUES = (
    "/Type", "/LW", "/LC", "/LJ", "/ML", "/D", "/RI", "/OP", "/op", "/OPM",
    "/FL", "/SM", "/SA", "/BM", "/CA", "/ca", "/AIS", "/TK", "/UseBlackPtComp",
)  # fmt: skip
_FUNCTION_VALUES = (
    "/FunctionType", "/Domain", "/Range", "/Size", "/BitsPerSample", "/Order",
    "/Encode", "/Decode", "/C0", "/C1", "/N", "/Bounds",
)  # fmt: skip
_SHADING_VALUES = (
    "/ShadingType", "/Background", "/BBox", "/AntiAlias", "/Domain", "/Coords",
    "/Matrix", "/Extend", "/BitsPerCoordinate", "/BitsPerComponent",
    "/BitsPerFlag", "/Decode", "/VerticesPerRow",
)  # fmt: skip
_TILING_VALUES = (
    "/Type", "/PatternType", "/PaintType", "/TilingType", "/BBox", "/XStep",
    "/YStep", "/Matrix",
)  # fmt: skip
_MARKUP_VALUES = (
    "/Type", "/Subtype", "/Rect", "/Contents", "/AS", "/F", "/C", "/IC",
    "/Border", "/CA", "/QuadPoints", "/InkList", "/Vertices", "/L", "/LE",
    "/Open", "/Name", "/DA", "/Q", "/RD", "/LL", "/LLE", "/LLO", "/Cap", "/CP",
    "/IT", "/CL",
)  # fmt: skip
_DESCRIPTOR_VALUES = (
    "/Type", "/FontName", "/FontFamily", "/FontStretch", "/FontWeight", "/Flags",
    "/FontBBox", "/ItalicAngle", "/Ascent", "/Descent", "/Leading", "/CapHeight",
    "/XHeight", "/StemV", "/StemH", "/AvgWidth", "/MaxWidth", "/MissingWidth",
    "/CharSet", "/Lang",
)  # fmt: skip

_SPECS: dict[str, dict[str, str]] = {
    "catalog": {"/Type": DATA, "/Pages": "pages", "/OCProperties": "ocproperties"},
    "pages": {"/Type": DATA, "/Kids": "kids", "/Count": DATA},
    "page": {
        "/Type": DATA,
        "/MediaBox": DATA,
        "/CropBox": DATA,
        "/BleedBox": DATA,
        "/TrimBox": DATA,
        "/ArtBox": DATA,
        "/Rotate": DATA,
        "/UserUnit": DATA,
        "/Contents": "contents",
        "/Resources": "resources",
        "/Group": "group",
        "/Annots": "annots",
    },
    "content": dict(_STREAM),
    "glyph": dict(_STREAM),  # a Type 3 font's glyph: a content stream
    "resources": {
        "/ExtGState": "map:extgstate",
        "/ColorSpace": "map:colorspace",
        "/Pattern": "map:pattern",
        "/Shading": "map:shading",
        "/XObject": "map:xobject",
        "/Font": "map:font",
        "/Properties": "map:properties",
    },
    "image": {
        **_STREAM,
        "/Type": DATA,
        "/Subtype": DATA,
        "/Width": DATA,
        "/Height": DATA,
        "/ColorSpace": "colorspace",
        "/BitsPerComponent": DATA,
        "/Intent": DATA,
        "/ImageMask": DATA,
        "/Mask": "mask",
        "/Decode": DATA,
        "/Interpolate": DATA,
        "/SMask": "image",
        "/SMaskInData": DATA,
        "/Matte": DATA,
        "/OC": "oc",
    },
    "form": {
        **_STREAM,
        "/Type": DATA,
        "/Subtype": DATA,
        "/FormType": DATA,
        "/BBox": DATA,
        "/Matrix": DATA,
        "/Resources": "resources",
        "/Group": "group",
        "/OC": "oc",
    },
    "group": {"/Type": DATA, "/S": DATA, "/CS": "colorspace", "/I": DATA, "/K": DATA},
    "simplefont": {
        "/Type": DATA,
        "/Subtype": DATA,
        "/BaseFont": DATA,
        "/FirstChar": DATA,
        "/LastChar": DATA,
        "/Widths": DATA,
        "/FontDescriptor": "fontdescriptor",
        "/Encoding": "encoding",
        "/ToUnicode": "cmap",
    },
    "type3font": {
        "/Type": DATA,
        "/Subtype": DATA,
        "/FontBBox": DATA,
        "/FontMatrix": DATA,
        "/CharProcs": "map:glyph",
        "/Encoding": "encoding",
        "/FirstChar": DATA,
        "/LastChar": DATA,
        "/Widths": DATA,
        "/FontDescriptor": "fontdescriptor",
        "/Resources": "resources",
        "/ToUnicode": "cmap",
    },
    "type0font": {
        "/Type": DATA,
        "/Subtype": DATA,
        "/BaseFont": DATA,
        "/Encoding": "cmap",
        "/DescendantFonts": "array:cidfont",
        "/ToUnicode": "cmap",
    },
    "cidfont": {
        "/Type": DATA,
        "/Subtype": DATA,
        "/BaseFont": DATA,
        "/CIDSystemInfo": "datadict",
        "/FontDescriptor": "fontdescriptor",
        "/DW": DATA,
        "/W": DATA,
        "/DW2": DATA,
        "/W2": DATA,
        "/CIDToGIDMap": "fontdata",
    },
    "fontdescriptor": {
        **dict.fromkeys(_DESCRIPTOR_VALUES, DATA),
        "/FontFile": "fontdata",
        "/FontFile2": "fontdata",
        "/FontFile3": "fontdata",
        "/Style": "datadict",
        "/FD": "map:fontdescriptor",
        "/CIDSet": "fontdata",
    },
    "fontdata": {**_STREAM, "/Length1": DATA, "/Length2": DATA, "/Length3": DATA, "/Subtype": DATA},
    "encoding": {"/Type": DATA, "/BaseEncoding": DATA, "/Differences": DATA},
    "cmap": {
        **_STREAM,
        "/Type": DATA,
        "/CMapName": DATA,
        "/CIDSystemInfo": "datadict",
        "/WMode": DATA,
        "/UseCMap": "cmap",
    },
    "extgstate": {
        **dict.fromkeys(_GSTATE_VALUES, DATA),
        "/Font": "array:fontsize",
        **dict.fromkeys(("/BG", "/BG2", "/UCR", "/UCR2", "/TR", "/TR2"), "function"),
        "/SMask": "softmask",
    },
    "softmask": {"/Type": DATA, "/S": DATA, "/G": "form", "/BC": DATA, "/TR": "function"},
    "function": {
        **_STREAM,
        **dict.fromkeys(_FUNCTION_VALUES, DATA),
        "/Functions": "array:function",
    },
    "shading": {
        **_STREAM,
        **dict.fromkeys(_SHADING_VALUES, DATA),
        "/ColorSpace": "colorspace",
        "/Function": "function",
    },
    "tiling": {
        **_STREAM,
        **dict.fromkeys(_TILING_VALUES, DATA),
        "/Resources": "resources",
    },
    "shadingpattern": {
        "/Type": DATA,
        "/PatternType": DATA,
        "/Shading": "shading",
        "/Matrix": DATA,
        "/ExtGState": "extgstate",
    },
    "icc": {**_STREAM, "/N": DATA, "/Alternate": "colorspace", "/Range": DATA},
    "lookup": dict(_STREAM),  # an /Indexed colour table kept as a stream
    "devicenattrs": {"/Subtype": DATA, "/Colorants": "map:colorspace", "/Process": "process"},
    "process": {"/ColorSpace": "colorspace", "/Components": DATA},
    "link": {
        "/Type": DATA,
        "/Subtype": DATA,
        "/Rect": DATA,
        "/Border": DATA,
        "/C": DATA,
        "/BS": "datadict",
        "/H": DATA,
        "/QuadPoints": DATA,
        "/F": DATA,
        "/A": "uri",
    },
    "markup": {
        **dict.fromkeys(_MARKUP_VALUES, DATA),
        "/AP": "appearance",
        "/BS": "datadict",
        "/BE": "datadict",
        "/OC": "oc",
    },
    "appearance": {"/N": "appearancestate", "/R": "appearancestate", "/D": "appearancestate"},
    "uri": {"/S": DATA, "/URI": DATA},
    "ocg": {"/Type": DATA, "/Name": DATA, "/Intent": DATA},
    "ocmd": {"/Type": DATA, "/OCGs": "ocgs", "/P": DATA, "/VE": "visibility"},
    "ocproperties": {"/OCGs": "array:ocg", "/D": "occonfig"},
    "occonfig": {"/BaseState": DATA, "/ON": "array:ocg", "/OFF": "array:ocg"},
}

_SIMPLE_FONTS = {"/Type1", "/MMType1", "/TrueType"}
_CID_FONTS = {"/CIDFontType0", "/CIDFontType2"}
_MARKUP_ANNOTS = {
    "/Text", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine",
    "/Highlight", "/Underline", "/Squiggly", "/StrikeOut", "/Stamp", "/Caret", "/Ink",
    "/Watermark",
}  # fmt: skip
_EMBEDDING_ANNOTS = {"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"}
# Nothing of note; form widgets were drawn into their page before (see rewrite).
_QUIET_ANNOTS = {"/Popup", "/Redact", "/PrinterMark", "/TrapNet", "/Widget"}
_COLOUR_FAMILIES = {
    "/DeviceGray", "/DeviceRGB", "/DeviceCMYK", "/Pattern", "/G", "/RGB", "/CMYK",
}  # fmt: skip

# --- what a removed key told ------------------------------------------------------------

#: Keys whose removal the receipt reports, by what they hold.
KEY_CATEGORIES: dict[str, Category] = {
    "/Info": Category.COMMENT,
    "/Metadata": Category.XMP,
    "/PieceInfo": Category.HIDDEN_DATA,  # private data of the producing application
    "/LastModified": Category.DATES,
    "/Thumb": Category.THUMBNAIL,
    "/OPI": Category.FILE_PATHS,  # prepress links, often the original image's path
    "/Alternates": Category.HIDDEN_DATA,
    "/AA": Category.SCRIPTS,  # additional actions: run on events
    "/JS": Category.SCRIPTS,
    "/JavaScript": Category.SCRIPTS,
    "/XFA": Category.SCRIPTS,
    "/EmbeddedFiles": Category.EMBEDDED,
    "/EF": Category.EMBEDDED,
    "/AF": Category.EMBEDDED,  # associated files (PDF 2.0, PDF/A-3)
    "/Collection": Category.EMBEDDED,  # portfolio
    "/Perms": Category.AUTHOR,  # signature permissions
    "/SpiderInfo": Category.HIDDEN_DATA,  # web capture origins
    "/Author": Category.AUTHOR,
    "/T": Category.AUTHOR,  # an annotation's author
    "/Creator": Category.SOFTWARE,
    "/Producer": Category.SOFTWARE,
    "/CreationDate": Category.DATES,
    "/ModDate": Category.DATES,
    "/M": Category.DATES,
    "/NM": Category.SERIAL,  # an annotation's unique name, usually a UUID
    "/Title": Category.COMMENT,
    "/Subject": Category.COMMENT,
    "/Keywords": Category.COMMENT,
    "/Subj": Category.COMMENT,
    "/RC": Category.COMMENT,  # an annotation's rich text
    "/Usage": Category.AUTHOR,  # a layer's creator and its application
    "/Ref": Category.FILE_PATHS,  # a reference XObject: a page of another file
    "/URI": Category.HIDDEN_DATA,  # a base URI
}
#: Keys dropped without a word: layout, structure and bookkeeping nobody identifies by.
NEUTRAL_KEYS = {
    "/Length", "/ProcSet", "/Parent", "/PageLayout", "/PageMode", "/ViewerPreferences",
    "/Version", "/Extensions", "/Lang", "/MarkInfo", "/StructTreeRoot", "/StructParents",
    "/StructParent", "/Tabs", "/PageLabels", "/Dests", "/NeedsRendering", "/Trans",
    "/Dur", "/B", "/PZ", "/Name", "/HT", "/MixingHints", "/MK", "/Popup", "/P", "/IRT",
    "/RT", "/Dest", "/Order", "/RBGroups", "/AS", "/Configs", "/Legal", "/Requirements",
    "/DL", "/SeparationInfo", "/PresSteps", "/VP", "/DPart", "/DPartRoot", "/Threads",
    "/Type", "/DR", "/DA", "/Q", "/Fields", "/SigFlags", "/CO", "/NeedAppearances",
    "/OutputIntents", "/Group", "/Kids", "/Count", "/Resources", "/MediaBox", "/CropBox",
    "/Rotate", "/ID", "/Size", "/Prev", "/XRefStm", "/Encrypt", "/Root", "/Filter",
    "/DecodeParms", "/W", "/Index",
}  # fmt: skip
#: Keys removed for what may be inside them, not for themselves.
_LOOKED_INTO = {"/Info", "/Names", "/AcroForm"}
# Actions that are nothing but a move inside the document (harmless, but they go).
_QUIET_ACTIONS = {"/GoTo", "/Named"}


@dataclass
class Findings:
    """What a walk found and what the rewrite still has to judge."""

    categories: set[Category] = field(default_factory=set)
    jpegs: list[Stream] = field(default_factory=list)
    # Where an [/ICCBased stream] colour space is used: (container, key or index).
    icc_uses: list[tuple[Container, str | int, Stream]] = field(default_factory=list)
    # Content streams that are not a page's own (forms, tiling patterns, glyphs).
    content_streams: list[Stream] = field(default_factory=list)


def _name(value: object) -> str | None:
    return str(value) if isinstance(value, Name) else None


def filters(stream: Stream) -> list[str]:
    value = stream.get("/Filter")
    if isinstance(value, Array):
        return [str(v) for v in value]
    return [str(value)] if value is not None else []


class Pruner:
    """One walk over a PDF, from a fresh catalog down; it removes as it goes."""

    def __init__(self, pdf: pikepdf.Pdf, budget: Budget) -> None:
        self.pdf = pdf
        self.budget = budget
        self.findings = Findings()
        self.kept: set[tuple[int, int]] = set()
        self._seen: set[tuple[tuple[int, int], str]] = set()
        self._looked_at: set[tuple[int, int]] = set()
        self._kinds: dict[str, Callable[[object, int], object | None]] = {
            DATA: self._data,
            "kids": self._kids,
            "contents": self._contents,
            "colorspace": self._colour_space,
            "xobject": self._xobject,
            "font": self._font,
            "pattern": self._pattern,
            "shading": self._dict_or_stream("shading"),
            "function": self._function,
            "mask": self._mask,
            "encoding": self._encoding,
            "cmap": self._cmap,
            "fontdata": self._stream_of("fontdata"),
            "datadict": self._data_dict,
            "decodeparms": self._decode_parms,
            "annots": self._annots,
            "appearancestate": self._appearance_state,
            "uri": self._uri,
            "properties": self._properties,
            "oc": self._properties,
            "ocgs": self._ocgs,
            "visibility": self._visibility,
            "fontsize": self._font_size,
        }

    # --- entry ---------------------------------------------------------------------

    def run(self, root: Dictionary, pages: list[Dictionary]) -> None:
        """Rebuild the catalog ``root`` around one flat page tree holding ``pages``
        (pushed-down copies of the inherited attributes included), then prune."""
        node = self.pdf.make_indirect(
            Dictionary(Type=Name.Pages, Kids=Array(pages), Count=len(pages))
        )
        for page in pages:
            page.Parent = node
        old = root.get("/Pages")
        root.Pages = node
        self._prune(root, "catalog", 0)
        if old is not None:
            self._old_tree(old)

    def _old_tree(self, node: object) -> None:
        """Tell what the intermediate nodes of the original page tree held beyond the
        tree itself (the pages were taken out of it already)."""
        stack, seen = [node], set()
        while stack:
            current = stack.pop()
            if not isinstance(current, Dictionary) or _name(current.get("/Type")) != "/Pages":
                continue
            if current.objgen in seen:
                continue
            seen.add(current.objgen)
            for key in list(current.keys()):
                self._spend(1)
                if key == "/Kids" and isinstance(current.Kids, Array):
                    stack.extend(current.Kids)
                elif key not in NEUTRAL_KEYS:
                    self._report(key, current[key])

    # --- the walk --------------------------------------------------------------------

    def _spend(self, amount: int) -> None:
        self.budget.spend(Resource.PDF_OBJECTS, amount, "PDF has too many objects")

    def keep(self, value: object, kind: str, depth: int) -> object | None:
        """``value`` pruned as a ``kind``, or None if it is to go entirely."""
        if depth > _MAX_DEPTH:
            raise Refusal(RefusalCode.MALFORMED, "PDF objects nested too deep")
        if kind.startswith("map:"):
            return self._map(value, kind[4:], depth)
        if kind.startswith("array:"):
            return self._array(value, kind[6:], depth)
        if kind in self._kinds:
            return self._kinds[kind](value, depth)
        return self._prune(value, kind, depth)

    def _indirect(self, value: object, kind: str) -> bool:
        """Record an indirect object as kept; True if it was already walked as
        ``kind`` (and need not be again)."""
        if not getattr(value, "is_indirect", False):
            return False
        objgen = value.objgen  # type: ignore[attr-defined]
        self.kept.add(objgen)
        if (objgen, kind) in self._seen:
            return True
        self._seen.add((objgen, kind))
        return False

    def _prune(self, value: object, kind: str, depth: int) -> object | None:
        """A dictionary or stream keeping the keys of ``kind``'s spec."""
        if not isinstance(value, Dictionary | Stream):
            return None
        if self._indirect(value, kind):
            return value
        spec = _SPECS[kind]
        self._note(value, kind)
        for key in list(value.keys()):
            self._spend(1)
            if key == "/Length" and isinstance(value, Stream):
                continue  # qpdf writes it
            child_kind = spec.get(key)
            if child_kind is None:
                self._report(key, value[key], kind)
                del value[key]
                continue
            kept = self.keep(value[key], child_kind, depth + 1)
            if kept is None:
                self._report(key, value[key], kind)
                del value[key]
                continue
            if not getattr(kept, "is_indirect", False):
                value[key] = kept  # direct values: written back as pruned
            if child_kind == "colorspace":
                self._record_icc(value, key, kept)
        return value

    def _record_icc(self, container: Container, key: str | int, space: object) -> None:
        """Remember where an [/ICCBased stream] colour space is used."""
        if (
            isinstance(space, Array)
            and len(space) == 2
            and space[0] == Name.ICCBased
            and isinstance(space[1], Stream)
        ):
            self.findings.icc_uses.append((container, key, space[1]))

    def _note(self, value: Dictionary | Stream, kind: str) -> None:
        """Remember what the rewrite has to judge in ``value``."""
        if kind == "image" and isinstance(value, Stream):
            names = filters(value)
            if "/JPXDecode" in names:
                raise Refusal(RefusalCode.CLEANING_FAILED, "JPEG 2000 image in PDF")
            if "/DCTDecode" in names:
                self.findings.jpegs.append(value)
        elif kind in ("form", "tiling", "glyph") and isinstance(value, Stream):
            self.findings.content_streams.append(value)

    def _map(self, value: object, kind: str, depth: int) -> object | None:
        """A dictionary of names to objects of one kind (resources, char procs)."""
        if not isinstance(value, Dictionary) or isinstance(value, Stream):
            return None
        self._indirect(value, f"map:{kind}")
        for key in list(value.keys()):
            self._spend(1)
            kept = self.keep(value[key], kind, depth + 1)
            if kept is None:
                self._report(key, value[key], kind)
                del value[key]
                continue
            if not getattr(kept, "is_indirect", False):
                value[key] = kept
            if kind == "colorspace":
                self._record_icc(value, key, kept)
        return value

    def _array(self, value: object, kind: str, depth: int) -> object | None:
        if not isinstance(value, Array):
            return None
        self._indirect(value, f"array:{kind}")
        self._spend(len(value))
        kept = Array()
        for item in value:
            pruned = self.keep(item, kind, depth + 1)
            if pruned is None:
                self._report("", item, kind)
            else:
                kept.append(pruned)
        return kept

    # --- kinds that need more than a list of keys -------------------------------------

    def _data(self, value: object, depth: int) -> object | None:
        if isinstance(value, int | Decimal | bool) or value is None:
            return value
        if isinstance(value, Stream | Dictionary):
            return None
        if isinstance(value, Array):
            self._indirect(value, DATA)
            self._spend(len(value))
            for item in value:
                if isinstance(item, Array):
                    if self._data(item, depth + 1) is None:
                        return None
                elif isinstance(item, Dictionary | Stream):
                    return None
            return value
        if isinstance(value, pikepdf.Object):
            self._indirect(value, DATA)
            return value  # a name or a string
        return value

    def _data_dict(self, value: object, depth: int) -> object | None:
        """A dictionary of plain values (CIDSystemInfo, border styles, ...)."""
        if not isinstance(value, Dictionary) or isinstance(value, Stream):
            return None
        if self._indirect(value, "datadict"):
            return value
        for key in list(value.keys()):
            self._spend(1)
            if self._data(value[key], depth + 1) is None:
                self._report(key, value[key])
                del value[key]
        return value

    def _decode_parms(self, value: object, depth: int) -> object | None:
        if isinstance(value, Array):
            return self._array(value, "decodeparms", depth)
        if value is None:
            return value
        if not isinstance(value, Dictionary) or isinstance(value, Stream):
            return None
        self._indirect(value, "decodeparms")
        for key in list(value.keys()):
            self._spend(1)
            if key == "/JBIG2Globals":
                kept = self._stream_of("content")(value[key], depth + 1)
            else:
                kept = self._data(value[key], depth + 1)
            if kept is None:
                self._report(key, value[key])
                del value[key]
        return value

    def _stream_of(self, kind: str) -> Callable[[object, int], object | None]:
        def keep(value: object, depth: int) -> object | None:
            if not isinstance(value, Stream):
                return value if isinstance(value, Name) else None  # /Identity
            return self._prune(value, kind, depth)

        return keep

    def _dict_or_stream(self, kind: str) -> Callable[[object, int], object | None]:
        def keep(value: object, depth: int) -> object | None:
            return self._prune(value, kind, depth)

        return keep

    def _kids(self, value: object, depth: int) -> object | None:
        if not isinstance(value, Array):
            return None
        self._spend(len(value))
        for page in value:
            self._prune(page, "page", depth + 1)
        return value

    def _contents(self, value: object, depth: int) -> object | None:
        if isinstance(value, Stream):
            return self._prune(value, "content", depth)
        if isinstance(value, Array):
            streams = [item for item in value if isinstance(item, Stream)]
            self._spend(len(value))
            for stream in streams:
                self._prune(stream, "content", depth + 1)
            return Array(streams)
        return None

    def _xobject(self, value: object, depth: int) -> object | None:
        if not isinstance(value, Stream):
            return None
        subtype = _name(value.get("/Subtype"))
        if subtype == "/Image":
            return self._prune(value, "image", depth)
        if subtype == "/Form":
            return self._prune(value, "form", depth)
        return None  # PostScript XObjects and anything else

    def _mask(self, value: object, depth: int) -> object | None:
        if isinstance(value, Stream):
            return self._prune(value, "image", depth)
        return self._data(value, depth)  # a colour-key mask

    def _font(self, value: object, depth: int) -> object | None:
        if not isinstance(value, Dictionary) or isinstance(value, Stream):
            return None
        subtype = _name(value.get("/Subtype"))
        if subtype in _SIMPLE_FONTS:
            return self._prune(value, "simplefont", depth)
        if subtype == "/Type3":
            return self._prune(value, "type3font", depth)
        if subtype == "/Type0":
            return self._prune(value, "type0font", depth)
        if subtype in _CID_FONTS:
            return self._prune(value, "cidfont", depth)
        return None

    def _font_size(self, value: object, depth: int) -> object | None:
        """An item of ExtGState's /Font array: a font, then its size."""
        if isinstance(value, Dictionary):
            return self._font(value, depth)
        return self._data(value, depth)

    def _encoding(self, value: object, depth: int) -> object | None:
        if isinstance(value, Name):
            return value
        return self._prune(value, "encoding", depth)

    def _cmap(self, value: object, depth: int) -> object | None:
        if isinstance(value, Name):
            return value  # a predefined CMap
        if not isinstance(value, Stream):
            return None
        return self._prune(value, "cmap", depth)

    def _pattern(self, value: object, depth: int) -> object | None:
        if isinstance(value, Stream):
            return self._prune(value, "tiling", depth)
        return self._prune(value, "shadingpattern", depth)

    def _function(self, value: object, depth: int) -> object | None:
        if isinstance(value, Name):
            return value  # /Identity, /Default
        if isinstance(value, Array):
            return self._array(value, "function", depth)
        return self._prune(value, "function", depth)

    def _colour_space(self, value: object, depth: int) -> object | None:
        if isinstance(value, Name):
            return value
        if not isinstance(value, Array) or len(value) == 0:
            return None
        if self._indirect(value, "colorspace"):
            return value
        self._spend(len(value))
        family = _name(value[0])
        if family == "/ICCBased" and len(value) == 2 and isinstance(value[1], Stream):
            profile = self._prune(value[1], "icc", depth + 1)
            assert isinstance(profile, Stream)
            return value
        if family in ("/Indexed", "/I") and len(value) == 4:
            self._slot(value, 1, "colorspace", depth)
            lookup = value[3]
            if isinstance(lookup, Stream):
                self._prune(lookup, "lookup", depth + 1)
            elif self._data(lookup, depth + 1) is None:
                return None
            return value if self._data(value[2], depth + 1) is not None else None
        if family == "/Separation" and len(value) == 4:
            if not isinstance(value[1], Name):
                return None
            self._slot(value, 2, "colorspace", depth)
            return value if self._slot(value, 3, "function", depth) else None
        if family == "/DeviceN" and len(value) in (4, 5):
            if self._data(value[1], depth + 1) is None:
                return None
            self._slot(value, 2, "colorspace", depth)
            if not self._slot(value, 3, "function", depth):
                return None
            if len(value) == 5 and not self._slot(value, 4, "devicenattrs", depth):
                del value[4]
            return value
        if family == "/Pattern" and len(value) == 2:
            return value if self._slot(value, 1, "colorspace", depth) else None
        if family in ("/CalRGB", "/CalGray", "/Lab") and len(value) == 2:
            return value if self._slot(value, 1, "datadict", depth) else None
        if family in _COLOUR_FAMILIES and len(value) == 1:
            return value
        return None

    def _slot(self, array: Array, index: int, kind: str, depth: int) -> bool:
        """Prune ``array[index]`` as ``kind`` in place; False if it must go. ICC
        colour spaces met in the slot are recorded where they are used."""
        item = array[index]
        kept = self.keep(item, kind, depth + 1)
        if kept is None:
            return False
        if not getattr(kept, "is_indirect", False):
            array[index] = kept
        if kind == "colorspace":
            self._record_icc(array, index, kept)
        return True

    def _annots(self, value: object, depth: int) -> object | None:
        if not isinstance(value, Array):
            return None
        self._spend(len(value))
        kept = Array()
        for annot in value:
            pruned = self._annotation(annot, depth + 1)
            if pruned is not None:
                kept.append(pruned)
        return kept

    def _annotation(self, annot: object, depth: int) -> object | None:
        if not isinstance(annot, Dictionary) or isinstance(annot, Stream):
            return None
        subtype = _name(annot.get("/Subtype"))
        if subtype == "/Link":
            if self._uri(annot.get("/A"), depth + 1) is None:
                self._report_link(annot)
                return None
            return self._prune(annot, "link", depth)
        if subtype in _MARKUP_ANNOTS:
            return self._prune(annot, "markup", depth)
        if subtype in _EMBEDDING_ANNOTS:
            self.findings.categories.add(Category.EMBEDDED)
        elif subtype not in _QUIET_ANNOTS:
            self.findings.categories.add(Category.HIDDEN_DATA)
        self._look_inside(annot)
        return None

    def _report_link(self, annot: Dictionary) -> None:
        action = annot.get("/A")
        if isinstance(action, Dictionary):
            self._report("/A", action)

    def _uri(self, value: object, depth: int) -> object | None:
        """A link's action: only a /URI action to a web or mail address stays."""
        if not isinstance(value, Dictionary) or _name(value.get("/S")) != "/URI":
            return None
        uri = value.get("/URI")
        text = bytes(uri).decode("latin-1") if isinstance(uri, pikepdf.String) else ""
        if not _WEB_URI.match(text):
            return None
        return self._prune(value, "uri", depth)

    def _appearance_state(self, value: object, depth: int) -> object | None:
        if isinstance(value, Stream):
            return self._prune(value, "form", depth)
        return self._map(value, "form", depth)  # one form per appearance state

    def _properties(self, value: object, depth: int) -> object | None:
        """Optional content (a layer or a membership dictionary); other property
        lists of marked content go."""
        if not isinstance(value, Dictionary) or isinstance(value, Stream):
            return None
        kind = _name(value.get("/Type"))
        if kind == "/OCG":
            return self._prune(value, "ocg", depth)
        if kind == "/OCMD":
            return self._prune(value, "ocmd", depth)
        return None

    def _ocgs(self, value: object, depth: int) -> object | None:
        if isinstance(value, Array):
            return self._array(value, "ocg", depth)
        return self._prune(value, "ocg", depth)

    def _visibility(self, value: object, depth: int) -> object | None:
        """A visibility expression: operators and layers, nested."""
        if isinstance(value, Dictionary):
            return self._prune(value, "ocg", depth)
        if not isinstance(value, Array):
            return self._data(value, depth)
        self._spend(len(value))
        for index in range(len(value)):
            if not self._slot(value, index, "visibility", depth):
                return None
        return value

    # --- telling what went ----------------------------------------------------------

    def _report(self, key: str, value: object, kind: str = "") -> None:
        """Add what removing ``key`` (holding ``value``) takes away to the findings."""
        found = self.findings.categories
        if key in ("/OpenAction", "/A") and isinstance(value, Dictionary):
            action = _name(value.get("/S"))
            if action not in _QUIET_ACTIONS:
                found.add(Category.FILE_PATHS if action == "/GoToR" else Category.SCRIPTS)
            self._look_inside(value)
            return
        if key == "/Outlines":
            if isinstance(value, Dictionary) and "/First" in value:
                found.add(Category.COMMENT)  # bookmarks' titles
            self._look_inside(value)
            return
        if key in _LOOKED_INTO:
            self._look_inside(value)
            return
        if key in NEUTRAL_KEYS or key in ("/OpenAction", "/A"):
            return
        if key in KEY_CATEGORIES:
            found.add(KEY_CATEGORIES[key])
        elif key and not (kind == "page" and key == "/Annots"):
            found.add(Category.HIDDEN_DATA)  # a key nobody asked for
        self._look_inside(value)

    def _look_inside(self, value: object) -> None:
        """Look through something removed for what it held: authors, dates,
        software, paths, scripts, files."""
        found = self.findings.categories
        stack = [(value, "")]
        while stack:
            current, key = stack.pop()
            if getattr(current, "is_indirect", False):
                objgen = current.objgen  # type: ignore[attr-defined]
                if objgen in self._looked_at or objgen in self.kept:
                    continue
                self._looked_at.add(objgen)
            if isinstance(current, Dictionary | Stream):
                entries = list(current.items())
                self._spend(len(entries))
                if _name(current.get("/S")) in ("/JavaScript", "/Launch", "/SubmitForm"):
                    found.add(Category.SCRIPTS)
                for child_key, child in entries:
                    if child_key in KEY_CATEGORIES and child_key not in ("/T", "/URI", "/Info"):
                        found.add(KEY_CATEGORIES[child_key])
                    stack.append((child, child_key))
            elif isinstance(current, Array):
                self._spend(len(current))
                stack.extend((item, key) for item in current)
            elif isinstance(current, pikepdf.Object) and isinstance(current, pikepdf.String):
                text = bytes(current).decode("latin-1", "replace")
                if _PATH_LIKE.search(text) and not _WEB_URI.match(text):
                    found.add(Category.FILE_PATHS)
            if len(stack) > 100_000:
                raise Refusal(RefusalCode.TOO_COMPLEX, "PDF removed parts too large")

    def unreached_streams(self, objects: Objects) -> bool:
        """Whether the file holds a stream that nothing kept uses and nothing removed
        accounted for (an image no page shows, say). Told from the bytes, so such
        objects are never parsed; objects inside object streams cannot be streams."""
        for objgen in objects.in_file:
            if objgen in self.kept or objgen in self._looked_at:
                continue
            self._spend(1)
            if objects.is_stream(objgen):
                return True
        return False
