"""Fixtures for conversations: the inbox's app, editors and signed-in clients (the
helpers are in helpers.py)."""

from tests.inbox.conftest import (  # noqa: F401 (fixtures)
    clock,
    editor,
    inbox_app,
    make_submission,
    signed_in,
    web,
)
