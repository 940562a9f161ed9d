"""Metadata cleaning: one module per format family, chosen by a file's bytes.

The one entry point the rest of the portal uses is :func:`clean_file`. It sniffs the
input, hands it to the module for its format family, and either returns a
:class:`Cleaned` result with the cleaned copy written to the destination path, or
raises :class:`Refusal` with a reason code and leaves nothing behind.
"""

from portal.cleaning.base import Alteration, Category, Cleaned, Kind, Limits, Refusal, RefusalCode
from portal.cleaning.registry import clean_file, identify, inspect_file

__all__ = [
    "Alteration",
    "Category",
    "Cleaned",
    "Kind",
    "Limits",
    "Refusal",
    "RefusalCode",
    "clean_file",
    "identify",
    "inspect_file",
]
