"""Settings, read once from ``PORTAL_*`` environment variables into a frozen dataclass.

Every setting has an embedded default, so ``flask run`` works on a fresh clone with
SQLite and a local data folder. Tests build a :class:`Settings` directly.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from portal.storage import create_once

MB = 1024 * 1024
#: a version 3 onion service's host name (version 2 names are no longer reachable)
ONION_ADDRESS = re.compile(r"[a-z2-7]{56}\.onion")
#: what may not appear in a host's name when it becomes part of a file name
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Settings:
    #: where the database, the cleaned files, the secret key and temp files live
    data_dir: Path
    #: SQLAlchemy URL; empty means SQLite in data_dir
    database_url: str = ""
    #: Flask's secret key; empty means generated once and kept in data_dir
    secret_key: str = ""
    #: language when nothing in Accept-Language matches
    default_locale: str = "es"
    #: which audiences this process serves: "all", "public" or "inbox"
    serve: str = "all"
    #: largest single file, in bytes
    max_file_size: int = 2048 * MB
    #: largest whole submission (all files and fields), in bytes
    max_submission_size: int = 4096 * MB
    #: most files in one submission
    max_files: int = 20
    #: longest note, in characters
    max_note_length: int = 50_000
    #: how long a form's CSRF token stays valid, in seconds (slow uploads over Tor)
    csrf_time_limit: int = 6 * 3600
    #: editors are signed out after this many seconds without a request
    editor_idle_timeout: int = 30 * 60
    #: time zone used to show dates to editors when they have not chosen one
    editor_timezone: str = "America/Mexico_City"
    #: mark cookies Secure on every request; requests that arrive over HTTPS get
    #: Secure cookies whatever this says (security.HttpsAwareSessionInterface)
    secure_cookies: bool = False
    #: folder of gettext catalogues; empty means paths.TRANSLATIONS (the repository's
    #: translations/, or the copy an installed wheel carries)
    translations_dir: str = ""
    #: the portal's Tor onion service (host name only), shown to tipsters on the form
    #: and the safety guide; empty when the portal has none
    onion_address: str = ""
    #: folder for plaintext temporary files (uploads being cleaned), dedicated to the
    #: portal and to this host; empty means tmp/<host name>/ in data_dir. Production
    #: can put it on a tmpfs; hosts sharing a data folder should put it on local disk.
    tmp_dir: str = ""
    #: this machine's name among hosts sharing one data folder: its temporary files
    #: and the lock of its start-up sweep are its own (docs/deployment.md); empty
    #: means the system's host name. Every host needs a different one.
    host_name: str = ""
    #: ``flask housekeeping`` deletes submissions whose last activity is older than
    #: this many days (starred ones excepted, see portal.retention); 0 keeps them all
    retention_days: int = 0
    #: most follow-up phrase checks (each a memory-hard key derivation) running at
    #: once on this data folder; more are refused with a 429 page
    phrase_checks: int = 2
    #: a tipster's open conversation is forgotten after this many seconds unused
    followup_idle_timeout: int = 30 * 60
    #: SMTP server for notifications; empty means no notifications
    smtp_host: str = ""
    #: its port (587 is STARTTLS's, 465 implicit TLS's)
    smtp_port: int = 587
    #: "starttls", "tls" (implicit, usually port 465) or "none" (a relay on this
    #: machine only: no user name or password is sent without encryption)
    smtp_security: str = "starttls"
    smtp_user: str = ""
    smtp_password: str = ""
    #: the notification's From address
    smtp_from: str = ""
    #: who is notified: addresses separated by commas
    smtp_to: str = ""
    #: at most one notification every this many minutes
    smtp_interval: int = 15

    @property
    def notify_to(self) -> list[str]:
        """The notification's recipients."""
        return [address.strip() for address in self.smtp_to.split(",") if address.strip()]

    @property
    def host(self) -> str:
        """This host's name as a file name (``host_name``, else the system's)."""
        name = self.host_name or socket.gethostname()
        return _UNSAFE_IN_NAME.sub("_", name)[:64].strip("._") or "host"

    @property
    def temp_dir(self) -> Path:
        """Where this host's requests keep their plaintext: ``tmp_dir``, or
        tmp/<host>/ in the data folder. Only processes of this host sweep it, so a
        host never removes another host's upload in progress."""
        return Path(self.tmp_dir) if self.tmp_dir else self.data_dir / "tmp" / self.host

    @property
    def host_lock(self) -> Path:
        """The file every serving process of this host holds a shared lock on
        (:func:`portal.housekeeping.sweep_storage`)."""
        return self.data_dir / f"portal-{self.host}.lock"

    @property
    def database_uri(self) -> str:
        """The SQLAlchemy URL. A bare ``postgresql://`` (or ``postgres://``) means
        psycopg 3, the driver of the ``postgres`` extra, whatever SQLAlchemy's
        default (before 2.1 it was psycopg2, which the extra does not install)."""
        if not self.database_url:
            return f"sqlite:///{self.data_dir / 'portal.sqlite3'}"
        scheme, sep, rest = self.database_url.partition("://")
        if sep and scheme in {"postgresql", "postgres"}:
            return f"postgresql+psycopg://{rest}"
        return self.database_url

    @classmethod
    def from_env(cls, default_data_dir: Path, env: Mapping[str, str] | None = None) -> Settings:
        """Read every field from ``PORTAL_<NAME>``; sizes are whole numbers of bytes."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "data_dir": Path(env.get("PORTAL_DATA_DIR") or default_data_dir)
        }
        for field in fields(cls):
            raw = env.get(f"PORTAL_{field.name.upper()}")
            if field.name == "data_dir" or raw is None or raw == "":
                continue
            values[field.name] = _parse(field.type, raw, field.name)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def with_overrides(self, **changes: Any) -> Settings:
        updated = replace(self, **changes)
        updated.validate()
        return updated

    def validate(self) -> None:
        if self.serve not in {"all", "public", "inbox"}:
            raise ValueError("PORTAL_SERVE must be one of: all, public, inbox")
        positive = (
            "max_file_size",
            "max_submission_size",
            "max_files",
            "max_note_length",
            "csrf_time_limit",
            "editor_idle_timeout",
            "phrase_checks",
            "followup_idle_timeout",
            "smtp_port",
            "smtp_interval",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"PORTAL_{name.upper()} must be positive")
        if self.retention_days < 0:
            raise ValueError("PORTAL_RETENTION_DAYS must be 0 (keep everything) or more")
        if self.smtp_security not in {"starttls", "tls", "none"}:
            raise ValueError("PORTAL_SMTP_SECURITY must be one of: starttls, tls, none")
        if self.smtp_host and not (self.smtp_from and self.notify_to):
            raise ValueError("PORTAL_SMTP_HOST needs PORTAL_SMTP_FROM and PORTAL_SMTP_TO")
        if self.smtp_security == "none" and (self.smtp_user or self.smtp_password):
            raise ValueError(
                "PORTAL_SMTP_SECURITY=none sends no user name or password: use starttls or tls"
            )
        if self.onion_address and not ONION_ADDRESS.fullmatch(self.onion_address):
            raise ValueError(
                "PORTAL_ONION_ADDRESS must be an onion service's host name: 56 letters "
                "a-z and digits 2-7, then .onion (no http:// and no path)"
            )


def _parse(kind: object, raw: str, name: str) -> object:
    kind = str(kind)
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"PORTAL_{name.upper()} must be a whole number") from None
    if kind == "bool":
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return raw


def load_secret_key(settings: Settings) -> str:
    """The configured key, or one generated on first start and kept (mode 0600)."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    key = create_once(path, secrets.token_hex(32).encode()).decode().strip()
    if not key:  # every form would fail: refuse to start instead
        raise RuntimeError(f"{path} is empty: remove it, and a new key is made on start")
    return key
