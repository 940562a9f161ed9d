"""Editors' credentials: passwords checked by opening the editor's private key (wrapped
under an Argon2id key, so the password is never stored, hashed or not), TOTP codes
(kept encrypted to the editor's key) that work only once, and the per-account failure
counter that slows attackers down and then locks the account for a while.

A successful sign-in yields the editor's keyring (the inbox identities); only
:mod:`portal.inbox.sessions` keeps it, sealed under a key held by the cookie.

Nothing here knows about HTTP: the sign-in view and the ``flask editor`` commands both
use it. The counter is kept on the account row; no address is ever looked at or kept.
Time comes from :func:`now` so that tests can move the clock.
"""

from __future__ import annotations

import contextlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pyotp
from argon2 import PasswordHasher
from flask import Flask, current_app
from sqlalchemy import CursorResult, select, update

from portal.crypto import age, wrapping
from portal.crypto.keyring import Keyring
from portal.inbox import audit
from portal.models import Editor, db

#: failures allowed before each attempt has to wait
FREE_FAILURES = 3
#: the first wait; it doubles with every further failure (15 s, 30 s, 60 s, ...)
FIRST_WAIT = timedelta(seconds=15)
#: from this many consecutive failures on, the account is locked for LOCK_TIME
LOCK_AFTER = 6
LOCK_TIME = timedelta(minutes=15)
#: TOTP codes of the previous and next 30-second step are accepted (clock drift)
TOTP_DRIFT_STEPS = 1

_CODE = re.compile(r"[0-9]{6}", re.ASCII)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
ISSUER = "Portal inbox"


def now() -> datetime:
    """The current time (UTC). Tests monkeypatch this to move the clock."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a time without a zone is taken to be in UTC already
    (columns read back aware, see :class:`portal.models.UtcDateTime`)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class PasswordPolicy:
    """The cost of the password KDF (taken from an argon2 ``PasswordHasher``'s
    parameters: 64 MiB, 3 passes, 4 lanes by default), and a secret wrapped under a
    random password, opened when the name is unknown so that unknown names take as
    long as known ones."""

    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    _dummy_wrapped: str = ""

    @property
    def cost(self) -> wrapping.KdfCost:
        return wrapping.KdfCost(
            self.hasher.time_cost, self.hasher.memory_cost, self.hasher.parallelism
        )

    def dummy_wrapped(self) -> str:
        if not self._dummy_wrapped:
            self._dummy_wrapped = wrapping.wrap_with_password(
                b"", secrets.token_urlsafe(24), self.cost
            )
        return self._dummy_wrapped


def init_app(app: Flask) -> None:
    app.extensions.setdefault("portal_passwords", PasswordPolicy())


def policy() -> PasswordPolicy:
    # setdefault: `flask editor` works in a process that does not serve the inbox
    passwords: PasswordPolicy = current_app.extensions.setdefault(
        "portal_passwords", PasswordPolicy()
    )
    return passwords


def wrap_private_key(identity: age.Identity, password: str) -> str:
    return wrapping.wrap_with_password(str(identity).encode(), password, policy().cost)


def open_private_key(editor: Editor, password: str) -> age.Identity | None:
    """The editor's identity if ``password`` is theirs; None otherwise."""
    if not editor.private_key:
        return None
    try:
        raw = wrapping.unwrap_with_password(editor.private_key, password)
        return age.Identity.parse(raw.decode())
    except (wrapping.WrongSecret, age.AgeError, UnicodeDecodeError):
        return None


def open_totp_secret(editor: Editor, identity: age.Identity) -> str:
    assert editor.totp_sealed is not None
    return age.decrypt(editor.totp_sealed, [identity]).decode("ascii")


def open_keyring(editor: Editor, identity: age.Identity) -> Keyring:
    assert editor.keyring is not None
    return Keyring.from_text(age.decrypt(editor.keyring, [identity]).decode("ascii"))


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable (English, for the command line), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must have at most {MAX_PASSWORD_LENGTH} characters."
    return None


def new_totp_secret() -> str:
    return pyotp.random_base32(32)


def totp_uri(name: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER)


def matching_totp_step(secret: str, code: str, moment: datetime, after_step: int) -> int | None:
    """The time step ``code`` belongs to, if it is valid around ``moment`` and newer
    than ``after_step`` (the last step already used); otherwise None."""
    code = code.strip().replace(" ", "")
    # ASCII digits only: \d would let other scripts' digits through, and
    # compare_digest raises on non-ASCII text (a 500 only when the password was right).
    if not _CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(moment)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        expected = totp.generate_otp(step).encode("ascii")
        if step > after_step and hmac.compare_digest(expected, code.encode("ascii")):
            return step
    return None


def wait_after(failures: int) -> timedelta:
    """How long an account is closed after ``failures`` consecutive failures."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    if failures < LOCK_AFTER:
        doublings: int = 2 ** (failures - FREE_FAILURES)
        return FIRST_WAIT * doublings
    return LOCK_TIME


def is_locked(editor: Editor, moment: datetime) -> bool:
    return editor.locked_until is not None and as_utc(editor.locked_until) > moment


@dataclass(frozen=True)
class SignedIn:
    editor: Editor
    keyring: Keyring


def attempt_sign_in(name: str, password: str, code: str) -> SignedIn | None:
    """The editor and their keyring if name, password and a fresh TOTP code all match
    and the account is open; None otherwise, with the attempt counted and written to
    the audit log.

    Every path runs the password KDF once, so unknown names, locked accounts and wrong
    passwords take about the same time; the TOTP check after it costs microseconds.
    """
    moment = now()
    # Made before the name is looked up: were it made on the first unknown name, a
    # worker's first attempt would take twice as long exactly when the name is unknown.
    dummy = policy().dummy_wrapped()
    editor = db.session.scalar(select(Editor).where(Editor.name == name)) if name else None
    identity: age.Identity | None = None
    if editor is not None and editor.private_key:
        identity = open_private_key(editor, password)
    else:
        # An unknown name, or an account an upgrade left without keys: same cost.
        with contextlib.suppress(wrapping.WrongSecret):
            wrapping.unwrap_with_password(dummy, password)
    if editor is None:
        audit.record("", audit.SIGN_IN_UNKNOWN_NAME)
        db.session.commit()
        return None
    if is_locked(editor, moment):
        # Not counted: attempts during a lock must not extend it.
        audit.record(editor.name, audit.SIGN_IN_WHILE_LOCKED)
        db.session.commit()
        return None

    step = (
        matching_totp_step(open_totp_secret(editor, identity), code, moment, editor.last_totp_step)
        if identity is not None
        else None
    )
    if step is not None:
        # Claim the step atomically: two requests racing with one code cannot both win.
        claim = db.session.execute(
            update(Editor)
            .where(Editor.id == editor.id, Editor.last_totp_step < step)
            .values(last_totp_step=step, failed_attempts=0, locked_until=None)
        )
        # An UPDATE's result is a CursorResult (the session types it as any Result).
        claimed = cast("CursorResult[Any]", claim).rowcount
        if claimed == 1 and identity is not None:
            assert editor.private_key is not None
            if wrapping.wrapped_cost(editor.private_key) != policy().cost:
                editor.private_key = wrap_private_key(identity, password)
            keyring = open_keyring(editor, identity)
            audit.record(editor.name, audit.SIGN_IN)
            db.session.commit()
            db.session.refresh(editor)
            return SignedIn(editor, keyring)

    db.session.execute(
        update(Editor)
        .where(Editor.id == editor.id)
        .values(failed_attempts=Editor.failed_attempts + 1)
    )
    db.session.refresh(editor)
    wait = wait_after(editor.failed_attempts)
    editor.locked_until = moment + wait if wait else None
    audit.record(editor.name, audit.SIGN_IN_FAILED)
    if wait >= LOCK_TIME:
        audit.record(editor.name, audit.ACCOUNT_LOCKED)
    db.session.commit()
    return None
