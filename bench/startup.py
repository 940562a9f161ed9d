"""Start-up benchmark: how long a command takes before it does any work.

Times, as separate processes run from the repository's root, interleaved round by
round so that a busy machine slows every one alike:

* ``flask --app app scrub`` on a six-byte text file (the operator's one-file cleaner),
* building the web app (``create_app()`` on a fresh data folder, plus the import),
* the peers: ``python -c pass`` (the interpreter alone) and ``exiftool -ver`` (the
  metadata tool editors know, a Perl program that loads its own modules).

Prints, for each, the median and the fastest wall-clock time and the median CPU time
(user + system, which a loaded machine inflates less), and the median wall-clock
time as a ratio to both peers. Ratios, not seconds, are what to compare between
machines.

    .venv/bin/python bench/startup.py [--rounds 9]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

BUILD_APP = """
import sys
from pathlib import Path
from portal import create_app
from portal.config import Settings
create_app(Settings(data_dir=Path(sys.argv[1])))
"""


def commands(work: Path) -> dict[str, list[str]]:
    tiny = work / "tiny.txt"
    tiny.write_text("hello\n")
    found = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "flask scrub (tiny file)": [
            str(BIN / "flask"),
            "--app",
            "app",
            "scrub",
            "--force",
            str(tiny),
            str(work / "clean.txt"),
        ],
        "create_app()": [sys.executable, "-c", BUILD_APP, str(work / "data")],
    }
    exiftool = shutil.which("exiftool")
    if exiftool:
        found["exiftool -ver"] = [exiftool, "-ver"]
    return found


def elapsed(command: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="portal-startup-") as tmp:
        work = Path(tmp)
        runs = commands(work)
        times: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        for command in runs.values():  # warm the file cache once, untimed
            elapsed(command)
        for _ in range(args.rounds):
            for name, command in runs.items():
                wall, used = elapsed(command)
                times[name].append(wall)
                cpu[name].append(used)

    median = {name: statistics.median(values) for name, values in times.items()}
    peers = [name for name in ("python -c pass", "exiftool -ver") if name in median]
    header = f"{'command':<26}{'median s':>10}{'fastest s':>11}{'cpu s':>8}"
    header += "".join(f"{'÷ ' + peer:>18}" for peer in peers)
    print(f"{args.rounds} rounds, interleaved")
    print(header)
    for name, values in times.items():
        line = f"{name:<26}{median[name]:>10.3f}{min(values):>11.3f}"
        line += f"{statistics.median(cpu[name]):>8.3f}"
        line += "".join(f"{median[name] / median[peer]:>18.1f}" for peer in peers)
        print(line)


if __name__ == "__main__":
    main()
