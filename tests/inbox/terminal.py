"""Running ``flask`` commands on a pseudo-terminal, as a person types at them: the
password prompts of ``flask editor`` and ``flask inbox`` only show on a terminal."""

from __future__ import annotations

import os
import pty
import select as io_select
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _read_until(fd: int, wanted: bytes, seen: bytearray, start: int, deadline: float) -> int:
    """Read the terminal until ``wanted`` appears after ``start``; return where it ends."""
    while (found := seen.find(wanted, start)) < 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"waited for {wanted!r}, got {bytes(seen)!r}")
        ready, _, _ = io_select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"ended before {wanted!r}: {bytes(seen)!r}")
            seen += chunk
    return found + len(wanted)


def run_on_a_terminal(
    data_dir: Path, args: list[str], answers: list[tuple[bytes, str]], group: str = "editor"
):
    """Run ``flask GROUP ...`` on a pseudo-terminal, answering each prompt in turn;
    return everything the terminal showed and the exit code."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PORTAL_DATA_DIR": str(data_dir),
        "TERM": "dumb",
    }
    command = [sys.executable, "-m", "flask", "--app", "app", group, *args]
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, nothing else
        os.chdir(ROOT)
        os.execve(sys.executable, command, env)  # noqa: S606 (a fixed argv, no shell)
    seen = bytearray()
    deadline = time.monotonic() + 30
    finished = False
    try:
        position = 0
        for prompt, answer in answers:
            position = _read_until(fd, prompt, seen, position, deadline)
            os.write(fd, answer.encode() + b"\r")
        while time.monotonic() < deadline:
            ready, _, _ = io_select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    finished = True
                    break
                seen += chunk
        assert finished, f"did not finish: {bytes(seen)!r}"
    finally:
        if not finished:
            os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return seen.decode("utf-8", "replace").replace("\r\n", "\n"), os.waitstatus_to_exitcode(status)
