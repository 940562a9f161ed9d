"""Placeholder for the pdf format family: recognises nothing until it is written."""

from portal.cleaning.base import FormatCleaner


class _Unwritten(FormatCleaner):
    family = "pdf"

    def sniff(self, head, path):
        return False


CLEANER = _Unwritten()
