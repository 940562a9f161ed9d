"""The development server's request log never carries a client's address or query."""

import logging

from portal.logs import AnonymisingFilter


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("werkzeug", logging.INFO, __file__, 1, msg, args, None)


def test_address_and_query_are_removed() -> None:
    record = _record(
        "%s - - [%s] %s",
        "127.0.0.7",
        "28/Nov/2026 20:01:02",
        '"POST /es/?ref=tip HTTP/1.1" 200 -',
    )
    AnonymisingFilter().filter(record)
    message = record.getMessage()
    assert "127.0.0.7" not in message
    assert "ref=tip" not in message
    assert message == '"POST /es/ HTTP/1.1" 200 -'


def test_coloured_request_lines_are_cleaned_too() -> None:
    record = _record('10.1.2.3 - - [x] "\x1b[1mGET /en/?q=1 HTTP/1.1\x1b[0m" 200 -')
    AnonymisingFilter().filter(record)
    assert "10.1.2.3" not in record.getMessage()
    assert "q=1" not in record.getMessage()


def test_other_messages_pass_unchanged() -> None:
    record = _record("Running on %s", "http://127.0.0.1:5000")
    AnonymisingFilter().filter(record)
    assert record.getMessage() == "Running on http://127.0.0.1:5000"
