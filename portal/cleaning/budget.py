"""What cleaning one file may still cost: a resource budget, spent as the work is done.

:class:`~portal.cleaning.base.Limits` says how much a file may cost in total; a
:class:`Budget` is made from them for one file and spent wherever that file makes the
cleaner work (every stream of a PDF, every member of an office document), so that work
counted in many places adds up to one total. Spending past a resource's allowance
refuses the file at once, before the work that would exceed it: ask
:meth:`Budget.left` how far to go (inflate at most that much) or
:meth:`Budget.allows` whether to start, then :meth:`Budget.spend` what was used.
Bytes expanded past their allowance make a bomb, refused as ``TOO_LARGE``; every
other resource overspent makes a file too complex to clean, ``TOO_COMPLEX``.

Each :class:`Resource` is one kind of cost a hostile file can impose (bytes expanded
from compressed data, image pixels decoded across all frames of an animation, XML
elements, archive entries, PDF objects, ...), so every family is held to one account
per file.
"""

from __future__ import annotations

import enum

from portal.cleaning.base import Limits, Refusal, RefusalCode


class Resource(enum.StrEnum):
    """One kind of cost a file can impose on the cleaner."""

    EXPANDED_BYTES = "expanded_bytes"  # bytes inflated from compressed data
    ENCODED_PIXELS = "encoded_pixels"  # video pixels re-encoded (all frames together)
    DECODED_PIXELS = "decoded_pixels"  # image pixels, every frame and the canvas once
    XML_ELEMENTS = "xml_elements"  # elements of every XML part of a document
    ZIP_ENTRIES = "zip_entries"  # entries of a zip's central directory
    PDF_OBJECTS = "pdf_objects"  # PDF objects, and the values walked in them


class Budget:
    """The allowance left for each resource while one file is cleaned."""

    def __init__(self, limits: Limits) -> None:
        self._left: dict[Resource, int] = {
            Resource.EXPANDED_BYTES: limits.max_expanded_bytes,
            Resource.ENCODED_PIXELS: limits.max_encoded_pixels,
            Resource.DECODED_PIXELS: limits.max_decoded_pixels,
            Resource.XML_ELEMENTS: limits.max_xml_elements,
            Resource.ZIP_ENTRIES: limits.max_members,
            Resource.PDF_OBJECTS: limits.max_pdf_objects,
        }

    def left(self, resource: Resource) -> int:
        """How much of ``resource`` may still be spent."""
        return max(self._left[resource], 0)

    def allows(self, resource: Resource, amount: int) -> bool:
        """Whether ``amount`` more of ``resource`` would stay within the budget."""
        return amount <= self.left(resource)

    def spend(self, resource: Resource, amount: int, detail: str) -> None:
        """Count ``amount`` of ``resource`` as used; refuse the file (``detail`` says
        what overspent, for developers) once the allowance is exceeded."""
        self._left[resource] -= amount
        if self._left[resource] < 0:
            bomb = resource is Resource.EXPANDED_BYTES
            raise Refusal(RefusalCode.TOO_LARGE if bomb else RefusalCode.TOO_COMPLEX, detail)
