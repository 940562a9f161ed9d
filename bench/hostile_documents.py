"""Benchmark: the hostile PDF and office documents of tests/cleaning/hostile.py against
the cleaner's budget, one child process per file.

    .venv/bin/python bench/hostile_documents.py [--only NAME ...]

Each case is built first (not timed), then cleaned by ``clean_file`` in a fresh
Python process, whose wall time (start-up and imports included) and peak resident
memory (VmHWM, which the kernel resets when the child starts the new program, unlike
getrusage's ru_maxrss, which keeps the parent's peak at fork) are reported, with the outcome
(cleaned, or the refusal code) and whether it kept within the target of issue 10:
max(10 s, 1 s per MB of the file) and 512 MB.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.cleaning.hostile import CASES  # noqa: E402

MB = 1024 * 1024
MEMORY_TARGET = 512 * MB

_CHILD = """
import sys
from pathlib import Path
from portal.cleaning import Refusal, clean_file
try:
    clean_file(Path(sys.argv[1]), Path(sys.argv[2]))
    outcome = "cleaned"
except Refusal as exc:
    outcome = f"refused: {exc.code.value}"
peak = next(
    line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")
)
print(outcome)
print(peak)
"""


def run_case(path: Path, out: Path) -> tuple[str, float, int]:
    """Outcome, wall seconds and peak RSS in bytes of cleaning ``path`` in a child."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    output, _ = child.communicate()
    seconds = time.perf_counter() - start
    lines = output.decode().split()
    if child.returncode != 0 or len(lines) < 2:
        return f"exit {child.returncode}", seconds, 0
    return " ".join(lines[:-1]), seconds, int(lines[-1]) * 1024  # VmHWM is in kB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="case names to run")
    args = parser.parse_args()
    names = args.only or list(CASES)
    print(f"{'case':32} {'size':>9} {'outcome':>22} {'time':>8} {'peak RSS':>9}  target")
    with tempfile.TemporaryDirectory(prefix="hostile-bench-") as tmp:
        for name in names:
            folder = Path(tmp) / name
            folder.mkdir()
            src = folder / f"{name}.{name.split('-')[0]}"
            CASES[name](src)
            size = src.stat().st_size
            outcome, seconds, peak = run_case(src, folder / "out")
            allowed = max(10.0, size / MB)
            ok = seconds <= allowed and peak <= MEMORY_TARGET
            print(
                f"{name:32} {size / MB:8.2f}M {outcome:>22} {seconds:7.2f}s "
                f"{peak / MB:8.0f}M  {'within' if ok else 'OVER'} "
                f"({allowed:.0f} s, 512 MB)",
                flush=True,
            )


if __name__ == "__main__":
    main()
