"""deploy/'s files are valid for the programs that read them, and say what the docs
and the tests rely on: nginx -t on Debian's nginx.conf with the portal's sites,
``systemd-analyze verify`` on the units (any warning fails), ``tor --verify-config``
on the onion services, and the public unit runs exactly README's tested command."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.production.stack import (
    DEPLOY,
    NginxPorts,
    nginx_check,
    nginx_prefix,
    readme_production,
    substitute,
    write_nginx_prefix,
)

UNITS = DEPLOY / "systemd"
VENV_BIN = "/srv/portal/app/.venv/bin/"


def test_nginx_accepts_the_portal_sites() -> None:
    if shutil.which("nginx") is None:
        pytest.skip("Debian's nginx is not installed (.ci/run installs it)")
    prefix = nginx_prefix()
    try:
        result = nginx_check(write_nginx_prefix(prefix, 8000, 8001, NginxPorts.free()))
        assert result.returncode == 0, result.stderr
        assert "[warn]" not in result.stderr and "[emerg]" not in result.stderr, result.stderr
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def _verify(folder: Path, *units: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["systemd-analyze", "verify", *[str(folder / unit) for unit in units]],
        capture_output=True,
        text=True,
    )


def test_systemd_units_verify_cleanly(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    units = [
        "portal-public.service",
        "portal-inbox.service",
        "portal-housekeeping.service",
        "portal-backup.service",
    ]
    for name in units:
        text = (UNITS / name).read_text()
        # systemd checks that programs exist: use this virtualenv's.
        text = substitute(text, [(VENV_BIN, f"{Path(sys.executable).parent}/")], name)
        (tmp_path / name).write_text(text)
    timers = ["portal-housekeeping.timer", "portal-backup.timer"]
    for name in timers:
        shutil.copy(UNITS / name, tmp_path)
    result = _verify(tmp_path, *units, *timers)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_the_nginx_drop_in_verifies_on_debians_unit(tmp_path: Path) -> None:
    debian_unit = Path("/lib/systemd/system/nginx.service")
    if shutil.which("systemd-analyze") is None or not debian_unit.exists():
        pytest.skip("systemd-analyze or Debian's nginx is not installed")
    merged = debian_unit.read_text() + "\n" + (UNITS / "nginx-portal.conf").read_text()
    (tmp_path / "nginx.service").write_text(merged)
    result = _verify(tmp_path, "nginx.service")
    assert result.returncode == 0 and result.stderr == "", result.stderr


def _service(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((UNITS / name).read_text())
    return parser["Service"]


@pytest.mark.parametrize("name", ["portal-public.service", "portal-inbox.service"])
def test_services_are_hardened(name: str) -> None:
    service = _service(name)
    assert service["User"] == "portal"
    assert service["UMask"] == "0077"
    for key in ("NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectHome"):
        assert service[key] == "yes", key
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/srv/portal/data"
    assert service["CapabilityBoundingSet"] == ""
    assert service["IPAddressDeny"] == "any"


def test_the_public_unit_runs_readmes_tested_command() -> None:
    service = _service("portal-public.service")
    env, words = readme_production()
    unit_env = dict(
        line.split("=", 1)
        for line in (UNITS / "portal-public.service").read_text().splitlines()
        if line.startswith("Environment=")
        for line in [line.removeprefix("Environment=")]
    )
    assert unit_env == env
    command = shlex.split(service["ExecStart"])
    assert command[0] == VENV_BIN + "gunicorn"
    assert command[1:] == words[1:]


def test_tor_accepts_the_onion_services(tmp_path: Path) -> None:
    if shutil.which("tor") is None:
        pytest.skip("Debian's tor is not installed (.ci/run installs it)")
    folders = {name: tmp_path / name for name in ("public", "inbox", "data")}
    for folder in folders.values():
        folder.mkdir(mode=0o700)
    torrc = substitute(
        (DEPLOY / "tor" / "portal.conf").read_text(),
        [
            ("/var/lib/tor/portal-public/", f"{folders['public']}/"),
            ("/var/lib/tor/portal-inbox/", f"{folders['inbox']}/"),
        ],
        "portal.conf",
    )
    (tmp_path / "torrc").write_text(f"{torrc}\nDataDirectory {folders['data']}\n")
    result = subprocess.run(
        ["tor", "--verify-config", "-f", str(tmp_path / "torrc")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration was valid" in result.stdout
    warnings = [
        line
        for line in result.stdout.splitlines()
        if "[warn]" in line and "running Tor as root" not in line
    ]
    assert warnings == []
