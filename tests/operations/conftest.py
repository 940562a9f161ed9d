"""Backups, restores and retention use the inbox's fixtures (clock, editors)."""

from tests.inbox.conftest import clock  # noqa: F401 (fixture)
