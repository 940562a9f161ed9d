"""The documented production setup, run as written: README.md's gunicorn command and
deploy/'s nginx configuration in front of it, on loopback ports.

Only what cannot run unprivileged on a test machine is changed, and every change is
a plain text substitution that must find its target (so a test notices when the
documented files change shape): gunicorn's ``--bind`` port, the data folder, and in
nginx the listening ports, the upstream ports, the certificate, the log and
temporary folders. Debian's own /etc/nginx/nginx.conf is the main configuration,
with its pid, log and include paths moved the same way. nginx runs as ``nobody``
when the tests run as root, from a private prefix folder holding copies of every
file it reads.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from portal.unavailable import FOLDER as UNAVAILABLE_PAGES
from tests.inbox_keys import prepare_data_dir

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEBIAN_NGINX_CONF = Path("/etc/nginx/nginx.conf")


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int, avoid: Collection[int] = ()) -> list[int]:
    """``count`` different free ports, none in ``avoid``. The sockets are held until
    all are drawn: ports drawn one at a time can repeat, and nginx refuses to start
    on a repeated listen port."""
    with contextlib.ExitStack() as held:
        ports: list[int] = []
        while len(ports) < count:
            sock = held.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            if port not in avoid:
                ports.append(port)
        return ports


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text(errors="replace")) from None
            time.sleep(0.1)


def readme_production() -> tuple[dict[str, str], list[str]]:
    """(environment, gunicorn command) from README.md's production block: ``export``
    lines and ``VAR=value`` prefixes set the environment."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running in production", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "README.md shows the production commands in a sh block"
    env: dict[str, str] = {}
    command: list[str] = []
    for line in block.group(1).replace("\\\n", " ").splitlines():
        words = shlex.split(line)
        if words and words[0] == "export":
            words = words[1:]
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            name, value = words.pop(0).split("=", 1)
            env[name] = value
        if words:
            assert not command, "one command in README.md's production block"
            command = words
    assert command and command[0] == ".venv/bin/gunicorn", command
    return env, command


def substitute(text: str, changes: list[tuple[str, str]], name: str) -> str:
    for old, new in changes:
        assert old in text, f"{name} no longer contains {old!r}"
        text = text.replace(old, new)
    return text


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=tips.example.org", "-keyout", str(key), "-out", str(cert),
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class NginxPorts:
    http: int
    https: int
    onion: int
    inbox_onion: int

    @classmethod
    def free(cls, avoid: Collection[int] = ()) -> NginxPorts:
        return cls(*free_ports(4, avoid))


def write_nginx_prefix(prefix: Path, public_port: int, inbox_port: int, ports: NginxPorts) -> Path:
    """Debian's nginx.conf and deploy/nginx/ as nginx would read them on a server,
    moved into ``prefix``. Returns the main configuration file."""
    for sub in ("snippets", "sites", "conf.d", "log", "body", "temp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    cert, key = self_signed_certificate(prefix)
    main = substitute(
        DEBIAN_NGINX_CONF.read_text(),
        [
            ("user www-data;", ""),  # nginx runs unprivileged here
            ("pid /run/nginx.pid;", f"pid {prefix}/nginx.pid;"),
            ("/var/log/nginx/", f"{prefix}/log/"),
            ("include /etc/nginx/conf.d/*.conf;", f"include {prefix}/conf.d/*.conf;"),
            ("include /etc/nginx/sites-enabled/*;", f"include {prefix}/sites/*;"),
            (
                "http {",
                "http {\n"
                + "".join(
                    f"\t{kind}_temp_path {prefix}/temp/{kind};\n"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
                ),
            ),
        ],
        "/etc/nginx/nginx.conf",
    )
    main = "daemon off;\n" + main
    (prefix / "nginx.conf").write_text(main)

    snippet = substitute(
        (DEPLOY / "nginx" / "portal-proxy.conf").read_text(),
        [
            ("/var/lib/portal-nginx/body", f"{prefix}/body"),
            ("root /srv/portal/app/static;", f"root {prefix}/static;"),
        ],
        "portal-proxy.conf",
    )
    (prefix / "snippets" / "portal-proxy.conf").write_text(snippet)
    shutil.copy(DEPLOY / "nginx" / "portal-http.conf", prefix / "conf.d" / "portal.conf")
    shutil.copytree(UNAVAILABLE_PAGES, prefix / "static" / UNAVAILABLE_PAGES.name)
    shutil.copy(
        DEPLOY / "nginx" / "portal-public-locations.conf",
        prefix / "snippets" / "portal-public-locations.conf",
    )
    public = substitute(
        (DEPLOY / "nginx" / "portal-public.conf").read_text(),
        [
            ("server 127.0.0.1:8000;", f"server 127.0.0.1:{public_port};"),
            _listen("80", ports.http),
            ("listen [::]:80 default_server;\n", ""),
            _listen("443", ports.https),
            ("listen [::]:443 ssl default_server;\n", ""),
            _listen("127.0.0.1:8080", ports.onion),
            ("/etc/letsencrypt/live/tips.example.org/fullchain.pem", str(cert)),
            ("/etc/letsencrypt/live/tips.example.org/privkey.pem", str(key)),
        ],
        "portal-public.conf",
    )  # fmt: skip
    (prefix / "sites" / "portal-public.conf").write_text(public)
    inbox = substitute(
        (DEPLOY / "nginx" / "portal-inbox.conf").read_text(),
        [
            ("server 127.0.0.1:8001;", f"server 127.0.0.1:{inbox_port};"),
            _listen("127.0.0.1:8081", ports.inbox_onion),
        ],
        "portal-inbox.conf",
    )  # fmt: skip
    (prefix / "sites" / "portal-inbox.conf").write_text(inbox)
    # nginx resolves "include snippets/..." against the main file's folder.
    if os.geteuid() == 0:
        for path in [prefix, *prefix.rglob("*")]:
            shutil.chown(path, "nobody", "nogroup")
    return prefix / "nginx.conf"


def _listen(address: str, port: int) -> tuple[str, str]:
    return f"listen {address} ", f"listen 127.0.0.1:{port} "


def nginx_prefix() -> Path:
    """A private folder nginx can use (not under pytest's root-only folders)."""
    return Path(tempfile.mkdtemp(prefix="portal-nginx-"))


def _unprivileged() -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    return {"user": "nobody", "group": "nogroup", "extra_groups": []}


def nginx_check(conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NGINX, "-t", "-p", str(conf.parent), "-c", str(conf), "-e", "stderr"],
        capture_output=True, text=True, **_unprivileged(),
    )  # fmt: skip


def _wait_until_served(port: int, log: Path, timeout: float = 90) -> None:
    """gunicorn binds before its workers have loaded the app: wait for an answer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/es/")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(log.read_text(errors="replace"))
        time.sleep(0.2)


@dataclass
class Stack:
    """A running production setup."""

    data_dir: Path
    gunicorn: subprocess.Popen
    nginx: subprocess.Popen
    gunicorn_log: Path
    nginx_prefix: Path
    ports: NginxPorts
    public_port: int

    @property
    def onion(self) -> tuple[str, int]:
        """Where Tor connects: nginx's plain-HTTP loopback listener."""
        return ("127.0.0.1", self.ports.onion)

    def workers(self) -> list[psutil.Process]:
        return psutil.Process(self.gunicorn.pid).children()

    def processes(self) -> list[psutil.Process]:
        """gunicorn's and nginx's processes (master and workers)."""
        found = []
        for pid in (self.gunicorn.pid, self.nginx.pid):
            master = psutil.Process(pid)
            found += [master, *master.children(recursive=True)]
        return found

    def memory(self) -> int:
        """Resident memory of all of them, in bytes (unique set size where known)."""
        total = 0
        for process in self.processes():
            with contextlib.suppress(psutil.Error):
                info = process.memory_full_info()
                total += getattr(info, "uss", info.rss)
        return total

    def logs(self) -> bytes:
        blobs = [self.gunicorn_log.read_bytes()]
        blobs += [p.read_bytes() for p in (self.nginx_prefix / "log").glob("*") if p.is_file()]
        return b"\n".join(blobs)


@contextlib.contextmanager
def production_stack(base: Path, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    if shutil.which("nginx") is None and not Path(NGINX).exists():
        pytest.skip("Debian's nginx is not installed (.ci/run installs it)")
    env_given, words = readme_production()
    env = {**os.environ, **env_given, "PYTHONPATH": str(ROOT)}
    assert env.pop("PORTAL_DATA_DIR") == "/srv/portal/data"
    data_dir = base / "data"
    prepare_data_dir(data_dir)  # an editor made the inbox key: tips can be filed
    env["PORTAL_DATA_DIR"] = str(data_dir)
    env.pop("PORTAL_SECRET_KEY", None)
    env.update(extra_env or {})
    public_port = free_port()
    bind = words.index("--bind")
    assert words[bind + 1] == "127.0.0.1:8000"
    words[bind + 1] = f"127.0.0.1:{public_port}"
    gunicorn_log = base / "gunicorn.log"
    with open(gunicorn_log, "wb") as log:
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *words[1:]],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for_port(public_port, gunicorn, gunicorn_log)
        inbox_port = free_port()  # gunicorn holds public_port, so the two differ
        with running_nginx(base, public_port, inbox_port) as (nginx, prefix, ports):
            _wait_until_served(ports.onion, gunicorn_log)
            yield Stack(data_dir, gunicorn, nginx, gunicorn_log, prefix, ports, public_port)
    finally:
        gunicorn.terminate()
        try:
            gunicorn.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(gunicorn.pid, signal.SIGKILL)
            gunicorn.wait()


@contextlib.contextmanager
def running_nginx(
    base: Path, public_port: int, inbox_port: int
) -> Iterator[tuple[subprocess.Popen, Path, NginxPorts]]:
    """deploy/'s nginx in front of the given upstream ports (whether or not anything
    listens there), listening; its process, prefix folder and ports."""
    if shutil.which("nginx") is None and not Path(NGINX).exists():
        pytest.skip("Debian's nginx is not installed (.ci/run installs it)")
    prefix = nginx_prefix()
    ports = NginxPorts.free(avoid={public_port, inbox_port})
    nginx = None
    try:
        conf = write_nginx_prefix(prefix, public_port, inbox_port, ports)
        nginx_log = base / "nginx.stderr"
        with open(nginx_log, "wb") as log:
            nginx = subprocess.Popen(
                [NGINX, "-p", str(prefix), "-c", str(conf), "-e", "stderr"],
                stdout=log, stderr=subprocess.STDOUT, **_unprivileged(),
            )  # fmt: skip
        wait_for_port(ports.onion, nginx, nginx_log)
        wait_for_port(ports.inbox_onion, nginx, nginx_log)
        yield nginx, prefix, ports
    finally:
        if nginx is not None:
            nginx.send_signal(signal.SIGQUIT)
            try:
                nginx.wait(timeout=20)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait()
        shutil.rmtree(prefix, ignore_errors=True)
