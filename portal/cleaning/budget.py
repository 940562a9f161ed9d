"""What cleaning one file may still cost: a resource budget, spent as the work is done.

:class:`~portal.cleaning.base.Limits` says how much a file may cost in total; a
:class:`Budget` is made from them for one file and spent wherever that file makes the
cleaner work (every stream of a PDF, every member of an office document), so that work
counted in many places adds up to one total. Spending past a resource's allowance
refuses the file at once (as ``TOO_LARGE``, or as the resource says), before the work
that would exceed it: ask
:meth:`Budget.left` how far to go (inflate at most that much) or
:meth:`Budget.allows` whether to start, then :meth:`Budget.spend` what was used.

Each :class:`Resource` is one kind of cost. The budget counts bytes expanded from
compressed data and image pixels decoded across all frames of an animation (a small
file can declare thousands of frames on a huge canvas: each counts); the other costs a
hostile file can impose (XML elements, archive entries, PDF objects, text) become
resources of the same budget, so every family is held to one account per file.
"""

from __future__ import annotations

import enum

from portal.cleaning.base import Limits, Refusal, RefusalCode


class Resource(enum.StrEnum):
    """One kind of cost a file can impose on the cleaner."""

    EXPANDED_BYTES = "expanded_bytes"  # bytes inflated from compressed data
    ENCODED_PIXELS = "encoded_pixels"  # video pixels re-encoded (all frames together)
    DECODED_PIXELS = "decoded_pixels"  # image pixels, every frame and the canvas once


#: The refusal for a resource overspent, where it is not ``TOO_LARGE``.
_REFUSAL_CODES = {
    Resource.DECODED_PIXELS: RefusalCode.TOO_COMPLEX,
    Resource.ENCODED_PIXELS: RefusalCode.TOO_COMPLEX,
}


class Budget:
    """The allowance left for each resource while one file is cleaned."""

    def __init__(self, limits: Limits) -> None:
        self._left: dict[Resource, int] = {
            Resource.EXPANDED_BYTES: limits.max_expanded_bytes,
            Resource.ENCODED_PIXELS: limits.max_encoded_pixels,
            Resource.DECODED_PIXELS: limits.max_decoded_pixels,
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
            raise Refusal(_REFUSAL_CODES.get(resource, RefusalCode.TOO_LARGE), detail)
