"""Units of portal.inbox.credentials, without the database or a request: which TOTP
step a code belongs to (replay of the last step, the edges of the accepted window,
clock drift, what a code may look like) and the lockout arithmetic.

The sign-in view also refuses a replayed code in its database update; these tests
hold the function to it on its own, so that neither guard hides a fault in the other.
Expected values are written out here: codes from RFC 6238's test vectors, waits in
seconds.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from portal.inbox.credentials import is_locked, matching_totp_step, wait_after
from portal.models import Editor

#: RFC 6238, appendix B: the SHA-1 secret "12345678901234567890", and the 8-digit codes
#: at these Unix times; a 6-digit code is the last six digits of the 8-digit one.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]

SECRET = pyotp.random_base32(32)
#: the first instant of a 30-second step, and that step's number
STEP_START = datetime(2026, 3, 2, 18, 0, 0, tzinfo=UTC)
STEP = int(STEP_START.timestamp()) // 30
assert STEP_START.timestamp() == STEP * 30


def code(step: int, secret: str = SECRET) -> str:
    """The code of a step, as an authenticator app shows it."""
    return pyotp.TOTP(secret).at(step * 30)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.mark.parametrize(("unix_time", "eight_digits"), RFC_VECTORS)
def test_rfc_6238_codes_match_their_step(unix_time: int, eight_digits: str) -> None:
    assert matching_totp_step(RFC_SECRET, eight_digits[-6:], at(unix_time), 0) == unix_time // 30


# --- replay --------------------------------------------------------------------------------


def test_the_last_used_step_is_refused_and_the_one_before_it_too() -> None:
    assert matching_totp_step(SECRET, code(STEP), STEP_START, STEP - 1) == STEP
    assert matching_totp_step(SECRET, code(STEP), STEP_START, STEP) is None
    assert matching_totp_step(SECRET, code(STEP), STEP_START, STEP + 1) is None
    assert matching_totp_step(SECRET, code(STEP - 1), STEP_START, STEP - 1) is None


def test_after_a_code_from_a_clock_running_ahead_the_current_ones_are_spent() -> None:
    # The phone runs 30 s ahead: its code is for the next step, and is accepted...
    assert matching_totp_step(SECRET, code(STEP + 1), STEP_START, STEP - 5) == STEP + 1
    # ...after which no code up to that step works again, not even the current one.
    for step in (STEP - 1, STEP, STEP + 1):
        assert matching_totp_step(SECRET, code(step), STEP_START, STEP + 1) is None
    # Thirty seconds later, the next step's code works.
    later = STEP_START + timedelta(seconds=30)
    assert matching_totp_step(SECRET, code(STEP + 2), later, STEP + 1) == STEP + 2


# --- the window ----------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0.0, 0.001, 15.0, 29.999])
def test_the_step_before_and_after_are_accepted_and_no_further(offset: float) -> None:
    """Anywhere inside a step, from its first instant to its last."""
    moment = STEP_START + timedelta(seconds=offset)
    for step in (STEP - 1, STEP, STEP + 1):
        assert matching_totp_step(SECRET, code(step), moment, 0) == step, step
    for step in (STEP - 3, STEP - 2, STEP + 2, STEP + 3):
        assert matching_totp_step(SECRET, code(step), moment, 0) is None, step


def test_the_window_moves_at_the_step_boundary() -> None:
    last_instant = STEP_START - timedelta(microseconds=1)  # still the step before
    assert matching_totp_step(SECRET, code(STEP - 2), last_instant, 0) == STEP - 2
    assert matching_totp_step(SECRET, code(STEP + 1), last_instant, 0) is None
    assert matching_totp_step(SECRET, code(STEP - 2), STEP_START, 0) is None
    assert matching_totp_step(SECRET, code(STEP + 1), STEP_START, 0) == STEP + 1


# --- what a code may look like ----------------------------------------------------------


def test_spaces_inside_and_around_a_code_are_ignored() -> None:
    typed = code(STEP)
    for variant in (
        f"{typed[:3]} {typed[3:]}",
        f"  {typed}\t",
        f"{typed[:2]} {typed[2:4]} {typed[4:]}",
    ):
        assert matching_totp_step(SECRET, variant, STEP_START, 0) == STEP, repr(variant)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "12345",
        "1234567",
        "12345a",
        "12-345",
        "\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic: str.isdigit() says yes
        "\uff11\uff12\uff13\uff14\uff15\uff16",  # fullwidth digits
        "\x00" * 6,
    ],
)
def test_anything_but_six_ascii_digits_is_refused_without_an_error(typed: str) -> None:
    assert matching_totp_step(SECRET, typed, STEP_START, 0) is None


def test_digits_of_other_scripts_are_refused_even_when_they_mean_the_code() -> None:
    """An authenticator's code typed on an Arabic keyboard: the digits mean the right
    code, but only ASCII digits are compared (hmac.compare_digest raises on others)."""
    arabic_digits = "".join(chr(0x0660 + digit) for digit in range(10))
    arabic = code(STEP).translate(str.maketrans("0123456789", arabic_digits))
    assert matching_totp_step(SECRET, arabic, STEP_START, 0) is None


# --- lockout arithmetic ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 0), (1, 0), (2, 0), (3, 15), (4, 30), (5, 60), (6, 900), (7, 900), (50, 900)],
)
def test_the_wait_after_each_number_of_failures(failures: int, seconds: int) -> None:
    """Three failures free, then 15 s doubling, then from the sixth a 15-minute lock."""
    assert wait_after(failures) == timedelta(seconds=seconds)


def test_an_account_is_locked_until_the_instant_its_lock_ends() -> None:
    until = STEP_START + timedelta(minutes=15)
    editor = Editor(name="ana", locked_until=until)
    assert is_locked(editor, until - timedelta(microseconds=1))
    assert not is_locked(editor, until)
    assert not is_locked(editor, until + timedelta(seconds=1))
    assert not is_locked(Editor(name="ana", locked_until=None), STEP_START)


def test_a_lock_read_back_without_its_zone_is_utc() -> None:
    """SQLite returns stored times without their zone; they were stored in UTC."""
    naive = (STEP_START + timedelta(minutes=15)).replace(tzinfo=None)
    editor = Editor(name="ana", locked_until=naive)
    assert is_locked(editor, STEP_START)
    assert not is_locked(editor, STEP_START + timedelta(minutes=15))
