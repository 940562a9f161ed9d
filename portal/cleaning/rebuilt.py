"""The family of images rebuilt from an allow-list: PNG, WebP and GIF.

Each of these formats is a sequence of chunks (or blocks) around compressed pixels.
Their modules parse the file once, sorting what is kept (byte for byte, or rewritten in
canonical form) from what is dropped and reported, and write a fresh file from the
kept parts; pixels are never re-encoded unless a device colour profile forces it.
What they share is the shape of a clean, which lives here once:

1. parse the original (:meth:`RebuiltImageCleaner.parse`), which refuses anything
   malformed or over the limits, spends every frame's pixels (and the canvas once)
   from the file's budget before any is decoded, and records the categories found;
2. prove that the compressed data about to be copied decodes
   (:meth:`RebuiltImageCleaner.prove_decodes`), because it is copied unchanged and a
   corrupt stream would otherwise pass through. Each frame is decoded at its own size,
   never composed on the canvas: a tiny frame on a huge canvas costs a tiny decode;
3. write the rebuilt file (:meth:`RebuiltImageCleaner.rebuild`), which applies the
   colour-profile policy of :mod:`portal.cleaning.icc`.

The file is read once. The registry's re-inspection of the cleaned copy
(:meth:`RebuiltImageCleaner.reinspect`) parses it again from disk, every chunk and its
metadata, but does not decode again the pixels step 2 proved.

The receipt reports what the original carried, whatever the rebuild did with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Generic, Protocol, TypeVar

from portal.cleaning.base import Category, Cleaned, FormatCleaner, Kind, Limits


class ParsedImage(Protocol):
    """What a module's parse must at least say: the categories the file carries."""

    categories: set[Category]


ParsedT = TypeVar("ParsedT", bound=ParsedImage)


class RebuiltImageCleaner(FormatCleaner, Generic[ParsedT]):
    """A format whose cleaned copy is rebuilt from a parse of the original. Subclasses
    set the class attributes and implement :meth:`sniff`, :meth:`parse`,
    :meth:`prove_decodes` and :meth:`rebuild`."""

    #: Pillow's name for the format, also the ``Cleaned.format`` ("PNG").
    format_name: ClassVar[str] = ""
    mime: ClassVar[str] = ""
    extension: ClassVar[str] = ""

    def parse(self, data: bytes, limits: Limits, *, prove_pixels: bool = True) -> ParsedT:
        """Check the whole file and sort kept from dropped. Raises Refusal.
        ``prove_pixels=False`` (re-inspection) skips work on compressed pixel data
        that only serves to prove it decodes."""
        raise NotImplementedError

    def prove_decodes(self, data: bytes, parsed: ParsedT, limits: Limits) -> None:
        """Refuse ``data`` as malformed unless its compressed pixels decode, frame by
        frame at each frame's own size. Sizes and the pixel budget were checked by
        :meth:`parse`."""
        raise NotImplementedError

    def rebuild(self, data: bytes, parsed: ParsedT, limits: Limits) -> bytes:
        """The cleaned file's bytes, from the original ``data`` and its parse."""
        raise NotImplementedError

    def inspect(self, src: Path, limits: Limits) -> set[Category]:
        return self.parse(Path(src).read_bytes(), limits).categories

    def reinspect(self, out: Path, limits: Limits) -> set[Category]:
        return self.parse(Path(out).read_bytes(), limits, prove_pixels=False).categories

    def clean(self, src: Path, dst: Path, limits: Limits, depth: int) -> Cleaned:
        data = Path(src).read_bytes()
        parsed = self.parse(data, limits)
        self.prove_decodes(data, parsed, limits)
        removed = frozenset(parsed.categories)
        Path(dst).write_bytes(self.rebuild(data, parsed, limits))
        return Cleaned(Kind.IMAGE, self.format_name, self.mime, self.extension, removed)
