"""The safety guide (``/es/seguridad``, ``/en/safety``): how to send a tip without
giving yourself away, in plain words, one tap from the form and the receipt.

Its advice follows docs/threat-model.md ("What a tipster should still do"); keep the
two in step. What the guide says the portal keeps and never keeps is a promise: each
statement below has an id, the page shows only these statements, and a test cites
each id with ``@pytest.mark.proves(id)`` on the test that proves it
(tests/public/test_guide.py fails when a statement has no such test).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

#: the guide's address under each language ("/es/seguridad"); any other language
#: uses :data:`DEFAULT_PATH`, so a new catalogue needs no change here
PATHS = {"es": "seguridad"}
DEFAULT_PATH = "safety"


def path_for(lang: str) -> str:
    """The guide's last path segment in ``lang``."""
    return PATHS.get(lang, DEFAULT_PATH)


@dataclass(frozen=True)
class Statement:
    """Something the guide promises about what the portal keeps."""

    #: cited by the tests that prove it, and the list item's HTML id
    id: str
    text: LazyString


NEVER_KEPT = (
    Statement(
        "no-ip-address",
        _l("Your IP address: the number that can lead to your internet connection."),
    ),
    Statement("no-browser", _l("Which browser, phone or computer you used.")),
    Statement("no-referrer", _l("Which page you came from.")),
    Statement("no-file-names", _l("The names of your files.")),
    Statement(
        "no-phrase",
        _l(
            "Your follow-up phrase. We keep only a scrambled form of it, from which the "
            "words cannot be worked out."
        ),
    ),
    Statement(
        "nothing-that-follows-you",
        _l(
            "Anything that could follow you: no ads, no analytics, nothing loaded from "
            "other sites. The only cookie protects the form while you fill it in."
        ),
    ),
)

KEPT = (
    Statement(
        "what-you-write",
        _l("What you write: the note, the links and, if you leave one, a way to contact you."),
    ),
    Statement(
        "files-cleaned",
        _l(
            "Your photos, videos, recordings and documents, after we remove the hidden "
            "information that can identify you: the location, the make, model and serial "
            "number of the phone or camera, dates, authors' names and editing programs. "
            "The receipt lists what we found and removed."
        ),
    ),
    Statement(
        "refused-not-kept",
        _l("That a file could not be accepted, and why. The file itself is deleted, never saved."),
    ),
    Statement(
        "stored-encrypted",
        _l(
            "All of it is stored encrypted: only the editors can read it, and someone who "
            "takes or copies the server's disk cannot."
        ),
    ),
    Statement(
        "conversation-encrypted",
        _l(
            "In your conversation, what you send later and the editors' replies, "
            "encrypted like your tip. A reply can be read only by the editors, or with "
            "your phrase."
        ),
    ),
    Statement(
        "arrival-time",
        _l(
            "The date and time your tip, and anything you send later, arrived, and the "
            "language of the page you used."
        ),
    ),
)

#: every statement the guide makes about what the portal keeps, by id
STATEMENTS = {statement.id: statement for statement in (*NEVER_KEPT, *KEPT)}
