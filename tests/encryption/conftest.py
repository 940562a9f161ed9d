"""The encryption tests use the inbox's fixtures (clock, editors, signed-in clients)."""

from tests.inbox.conftest import (  # noqa: F401 (fixtures)
    clock,
    editor,
    inbox_app,
    make_submission,
    signed_in,
    web,
)
