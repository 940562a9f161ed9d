"""Logging that cannot name a tipster.

Werkzeug's development server (``flask run``) writes one line per request that begins
with the client's address. :class:`AnonymisingFilter` rewrites those lines before any
handler sees them: the address (with the timestamp after it) is removed and the query
string dropped. Under gunicorn the README's command turns the access log off or gives
it a format without ``%(h)s``.
"""

from __future__ import annotations

import logging
import re

# '127.0.0.7 - - [28/Nov/2026 20:01:02] "POST /es/?x=1 HTTP/1.1" 200 -'
# (the request line may be wrapped in terminal colour codes)
_ADDRESS_PREFIX = re.compile(r"^\S+ - - \[[^\]]*\] ", re.DOTALL)
_QUERY = re.compile(r"\?[^\s\"\x1b]*")


class AnonymisingFilter(logging.Filter):
    """Drops the client address and query string from Werkzeug request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        stripped = _ADDRESS_PREFIX.sub("", message, count=1)
        if stripped != message:
            record.msg = _QUERY.sub("", stripped)
            record.args = ()
        return True


def init_logging() -> None:
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, AnonymisingFilter) for f in logger.filters):
        logger.addFilter(AnonymisingFilter())
