"""The tip form: its fields, their limits and the messages shown at each field; and
the forms of a conversation (the phrase, a later message, deleting a reply, leaving).

Files are not validated here: they are received by :mod:`portal.public.uploads`
and judged by the cleaner. The form only knows whether any arrived. Links are taken
as people paste them from an app ("facebook.com/…", without ``https://``) and filed
as absolute ``https://`` addresses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from babel.lists import format_list
from flask_babel import format_decimal, get_locale, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, MultipleFileField, StringField, TextAreaField
from wtforms.validators import Length, ValidationError

from portal.cleaning.invisible import strip_invisible
from portal.config import Settings

MAX_LINK_LENGTH = 2000
MAX_CONTACT_LENGTH = 500
#: far longer than any phrase (eight words of at most eight letters), short enough to
#: read at no cost
MAX_PHRASE_LENGTH = 400


def normalise_text(value: str | None) -> str:
    """Browsers send line breaks as CRLF; count and store them as one character.
    NUL is dropped: it means nothing in a tip and PostgreSQL refuses it in text.
    Invisible characters go, as from an uploaded text file (:func:`strip_invisible`):
    a passage pasted from a leaked document may carry its reader's mark."""
    if not value:
        return ""
    value = value.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    return strip_invisible(value)[0].strip()


def had_invisible(value: str | None) -> bool:
    """Whether :func:`normalise_text` removes invisible characters from ``value``."""
    return bool(value) and strip_invisible(value or "")[1]


#: an address as people paste it from an app, without its scheme:
#: "www.facebook.com/groups/…", "facebook.com/…", "t.me/canal": a host name of two
#: or more labels ending in letters, an optional port, then anything after a / ? or #
_BARE_ADDRESS = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
    r"(?::\d{1,5})?(?:[/?#]\S*)?",
    re.IGNORECASE,
)


def is_web_address(line: str) -> bool:
    """An absolute http(s) URL with a host and no spaces or control characters."""
    if len(line) > MAX_LINK_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in line):
        return False
    try:
        parts = urlsplit(line)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(host)


def web_address(line: str) -> str | None:
    """``line`` as an absolute http(s) address, or None when it is not one. An address
    pasted without its scheme ("facebook.com/…") gets ``https://``."""
    if is_web_address(line):
        return line
    if _BARE_ADDRESS.fullmatch(line) and is_web_address(f"https://{line}"):
        return f"https://{line}"
    return None


def link_lines(value: str) -> list[str]:
    """The non-empty lines of the links field, stripped."""
    return [line.strip() for line in value.splitlines() if line.strip()]


def web_addresses(value: str) -> list[str]:
    """The links field's addresses as they are filed (each line checked by the form)."""
    return [web_address(line) or line for line in link_lines(value)]


class TipForm(FlaskForm):
    note = TextAreaField(
        _l("What happened?"),
        filters=[normalise_text],
        description=_l(
            "Tell us what you saw or know: what, where, when, who. "
            "Leave out anything that could identify you."
        ),
    )
    links = TextAreaField(
        _l("Links"),
        filters=[normalise_text],
        description=_l(
            "Web addresses of posts, videos or pages, one per line, as you copy them "
            "(for example facebook.com/…). We do not open them from this site."
        ),
    )
    files = MultipleFileField(
        _l("Files"),
        description=_l("You can choose several files at once."),
    )
    contact = TextAreaField(
        _l("A way to contact you (optional)"),
        filters=[normalise_text],
        validators=[Length(max=MAX_CONTACT_LENGTH)],
        render_kw={"maxlength": MAX_CONTACT_LENGTH},
        description=_l(
            "Only if you want us to be able to reach you, for example a Signal "
            "username or an email address made just for this. Leaving a way to "
            "contact you makes you less anonymous."
        ),
    )
    #: a honeypot: hidden from people (CSS, aria-hidden, not focusable); bots fill it
    homepage = StringField(_l("Leave this field empty"))

    def __init__(self, settings: Settings, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings
        #: set by the view when files arrived with the request
        self.files_received = 0

    @property
    def invisible_removed(self) -> list[str]:
        """The typed fields (note, links, contact where the form has it) from which
        invisible characters were removed, as sent."""
        return [
            field.name
            for field in (self.note, self.links, self.contact)
            if field is not None and any(had_invisible(raw) for raw in field.raw_data or [])
        ]

    def validate_note(self, field: Field) -> None:
        limit = self.settings.max_note_length
        if len(field.data or "") > limit:
            raise ValidationError(
                ngettext(
                    "The note can be at most %(limit)s character long (it has %(count)s).",
                    "The note can be at most %(limit)s characters long (it has %(count)s).",
                    limit,
                    limit=format_decimal(limit),
                    count=format_decimal(len(field.data)),
                )
            )

    def validate_links(self, field: Field) -> None:
        bad = [
            number
            for number, line in enumerate((field.data or "").splitlines(), start=1)
            if line.strip() and web_address(line.strip()) is None
        ]
        if bad:
            raise ValidationError(
                ngettext(
                    "Line %(lines)s is not a web address starting with http:// or https://.",
                    "Lines %(lines)s are not web addresses starting with http:// or https://.",
                    len(bad),
                    # "2 and 3", "2, 3 y 5": joined as the language lists things
                    lines=format_list([format_decimal(n) for n in bad], locale=get_locale()),
                )
            )

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid: bool = super().validate(extra_validators)
        if not (self.note.data or link_lines(self.links.data or "") or self.files_received):
            # Shown at the note, the first place to fix it.
            self.note.errors = [
                *self.note.errors,
                _l("Please write what happened, add a link, or choose at least one file."),
            ]
            valid = False
        return valid


class MessageForm(TipForm):
    """A tipster's later message in their conversation: a note, links and files, as
    in a tip. No contact field: the conversation is the way to reach them."""

    note = TextAreaField(
        _l("Your message"),
        filters=[normalise_text],
        description=_l(
            "Answer the editors' questions or add what you remembered. Leave out "
            "anything that could identify you."
        ),
    )
    contact = None  # type: ignore[assignment]


class PhraseForm(FlaskForm):
    """The follow-up phrase, typed to open a conversation."""

    phrase = TextAreaField(
        _l("Your follow-up phrase"),
        filters=[normalise_text],
        validators=[Length(max=MAX_PHRASE_LENGTH)],
        description=_l(
            "The words you were given when you sent your tip, in their order. Capital "
            "letters, accents and extra spaces do not matter."
        ),
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "none",
            "autocorrect": "off",
            "spellcheck": "false",
            "maxlength": MAX_PHRASE_LENGTH,
        },
    )


class ForgetForm(FlaskForm):
    """Declining a phrase on the receipt: the phrase travels back in a hidden field."""

    phrase = HiddenField(filters=[normalise_text], validators=[Length(max=MAX_PHRASE_LENGTH)])


class ReplyForm(FlaskForm):
    """Deleting one reply from the conversation page (its id in the body, never in a URL)."""

    reply = HiddenField()


class LeaveForm(FlaskForm):
    """Leaving the conversation: only the CSRF token."""
