"""Settings are read from PORTAL_* variables, validated, and the secret key persists."""

from pathlib import Path

import pytest

from portal.config import Settings, load_secret_key

#: a well-formed version 3 onion address (no such service exists)
ONION = "portalx" + "a" * 45 + "b2cd.onion"


def test_defaults_need_only_a_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_env(default_data_dir=tmp_path, env={})
    assert settings.data_dir == tmp_path
    assert settings.serve == "all"
    assert settings.database_uri == f"sqlite:///{tmp_path / 'portal.sqlite3'}"


def test_every_field_reads_from_its_variable(tmp_path: Path) -> None:
    env = {
        "PORTAL_DATA_DIR": str(tmp_path / "d"),
        "PORTAL_MAX_FILES": "3",
        "PORTAL_SERVE": "inbox",
        "PORTAL_SECURE_COOKIES": "yes",
        "PORTAL_DEFAULT_LOCALE": "en",
        "PORTAL_ONION_ADDRESS": ONION,
        "PORTAL_RETENTION_DAYS": "90",
    }
    settings = Settings.from_env(default_data_dir=tmp_path, env=env)
    assert settings.data_dir == tmp_path / "d"
    assert settings.max_files == 3
    assert settings.serve == "inbox"
    assert settings.secure_cookies is True
    assert settings.default_locale == "en"
    assert settings.onion_address == ONION
    assert settings.retention_days == 90


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORTAL_SERVE", "everything"),
        ("PORTAL_MAX_FILES", "many"),
        ("PORTAL_MAX_FILES", "0"),
        ("PORTAL_MAX_NOTE_LENGTH", "0"),
        ("PORTAL_EDITOR_IDLE_TIMEOUT", "-5"),
        ("PORTAL_ONION_ADDRESS", "http://" + "a" * 56 + ".onion"),
        ("PORTAL_ONION_ADDRESS", "a" * 16 + ".onion"),  # version 2: gone since 2021
        ("PORTAL_ONION_ADDRESS", "example.org"),
        ("PORTAL_RETENTION_DAYS", "-1"),
        ("PORTAL_RETENTION_DAYS", "ninety"),
    ],
)
def test_bad_values_stop_the_start(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env(default_data_dir=tmp_path, env={name: value})


def test_generated_secret_key_is_private_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_secret_key(settings)
    assert len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert load_secret_key(settings) == first
    assert load_secret_key(settings.with_overrides(secret_key="given")) == "given"
