"""Placeholder for the tiff format family: recognises nothing until it is written."""

from portal.cleaning.base import FormatCleaner


class _Unwritten(FormatCleaner):
    family = "tiff"

    def sniff(self, head, path):
        return False


CLEANER = _Unwritten()
