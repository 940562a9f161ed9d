"""The notification tests use the inbox's clock and editors."""

from tests.inbox.conftest import clock  # noqa: F401 (a fixture)
