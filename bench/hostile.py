"""Benchmark: files built to cost the cleaner as much as possible, against its budget.

    .venv/bin/python bench/hostile.py [--only NAME...] [--keep DIR]
    .venv/bin/python bench/clean.py --hostile      (the same, after the corpus groups)

The cases come from ``tests/cleaning/hostile_media.py`` (images, text, phone media) and
``tests/cleaning/hostile.py`` (PDF and Office, where that module exists; until it does
the table says so). Each file is cleaned by ``clean_file`` in a child process of its
own, after every format module was imported, so that one case's memory is not
another's. For each file the table gives:

* the outcome (the cleaned format, or the refusal code);
* the wall time of ``clean_file`` alone, its CPU time (what a loaded machine
  changes least), and the budget: max(10 s, 1 s per MB of input);
* the child's peak resident memory (VmHWM: the whole process, Python and the
  imported libraries being about 80 MB of it) after cleaning, and after making the
  thumbnail as filing does next, against the budget of 512 MB;
* for text, the throughput in MB/s of input, by wall and by CPU time (target: 20 MB/s
  or more);
* for images that were cleaned, the time to make the thumbnail as filing does
  (``write_thumbnail`` in the same child: decode, reduce, encrypt), and the time of
  one thumbnail request afterwards through the inbox (a signed-in Flask test client,
  decrypting the stored thumbnail; target: under 50 ms).

"over" marks what exceeds its budget. Nothing is asserted: this is measured on a shared
machine, so read times as orders of magnitude, and compare runs made together.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MEMORY_BUDGET_MB = 512
TEXT_TARGET_MBPS = 20.0
THUMBNAIL_TARGET_MS = 50.0

#: The generators of hostile files, by module: each has CASES, name -> builder(path).
GENERATORS = ("tests.cleaning.hostile_media", "tests.cleaning.hostile")

# Cleans argv[1] into argv[2] in a fresh process and prints one JSON line: what
# happened, how long clean_file took, and the peak memory before and after it.
_CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path
from portal.cleaning import Refusal, clean_file, registry


def peak_kb():
    # VmHWM starts afresh at exec; getrusage's ru_maxrss would count the parent's.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])


registry.load_all()
before = peak_kb()
start, cpu = time.perf_counter(), time.process_time()
try:
    result = clean_file(Path(sys.argv[1]), Path(sys.argv[2]))
    outcome = {"cleaned": f"{result.format} -> {result.extension}", "kind": result.kind,
               "altered": sorted(result.altered)}
except Refusal as exc:
    result, outcome = None, {"refused": exc.code.value}
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = peak_kb()
thumbnail = None
if result is not None and result.kind == "image":
    # As filing does next: the thumbnail from the cleaned image, encrypted.
    from portal.crypto import age
    from portal.inbox import thumbnails
    recipient = age.Identity.generate().recipient
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        thumbnails.write_thumbnail(Path(sys.argv[2]), Path(folder), recipient)
        thumbnail = time.perf_counter() - start
print(json.dumps({**outcome, "seconds": seconds, "cpu": cpu, "rss_before_kb": before,
                  "rss_peak_kb": peak, "thumbnail_seconds": thumbnail,
                  "rss_peak_with_thumbnail_kb": peak_kb()}))
"""


def cases() -> tuple[dict[str, Callable[[Path], None]], list[str]]:
    """Every hostile case by name, and notes on generators that are missing."""
    found: dict[str, Callable[[Path], None]] = {}
    notes = []
    for module in GENERATORS:
        try:
            found.update(importlib.import_module(module).CASES)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            notes.append(f"{module} is not on this branch yet: its cases are not measured")
    return found, notes


def clean_in_child(src: Path, out: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(src), str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return {"crashed": proc.stderr.strip().splitlines()[-1:] or ["?"]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def thumbnail_request_seconds(cleaned: Path, work: Path) -> float:
    """Seconds to answer one signed-in thumbnail request through the inbox, after
    filing made the thumbnail (decrypting the stored thumbnail)."""
    from datetime import UTC, datetime

    from portal import storage
    from portal.crypto.files import encrypt_file
    from portal.crypto.keyring import current_key
    from portal.inbox import thumbnails
    from portal.models import StoredFile, Submission, db, new_id
    from tests.apps import running_app
    from tests.inbox.helpers import Clock, add_editor, english_client, sign_in

    data_dir = work / f"app-{new_id()}"
    data_dir.mkdir(mode=0o700)
    with running_app(data_dir, database_url="sqlite://", inbox_key=False) as app:
        account = add_editor(app, "bench", Clock(datetime.now(UTC)))
        submission_id, file_id = new_id(), new_id()
        with app.app_context():
            key_id, recipient = current_key()
            folder = storage.submission_dir(data_dir, submission_id)
            folder.mkdir(mode=0o700)
            size = encrypt_file(cleaned, folder / f"{file_id}.age", recipient)
            name = thumbnails.write_thumbnail(cleaned, folder, recipient)
            if not name:
                return float("nan")
            submission = Submission(id=submission_id, locale="es", sealed=b"", key_id=key_id)
            submission.files.append(
                StoredFile(id=file_id, position=1, stored_name=f"{file_id}.age", kind="image",
                           format="PNG", mime="image/png", extension="png", size=size,
                           key_id=key_id, removed=[], thumbnail_name=name)
            )  # fmt: skip
            db.session.add(submission)
            db.session.commit()
        client = english_client(app)
        sign_in(client, account)
        url = f"/inbox/s/{submission_id}/f/{file_id}/thumbnail"
        client.get(url)  # warm: the first request loads what a running server has
        start = time.perf_counter()
        response = client.get(url)
        seconds = time.perf_counter() - start
        return seconds if response.status_code == 200 else float("nan")


def run(names: list[str] | None = None, keep: Path | None = None) -> None:
    found, notes = cases()
    if names:
        found = {name: build for name, build in found.items() if name in names}
    with tempfile.TemporaryDirectory(prefix="portal-hostile-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        header = (
            f"{'hostile file':<34} {'size':>9} {'outcome':<22} {'time s':>7} {'cpu s':>6} "
            f"{'budget':>6} {'peak MB':>9} {'MB/s wall/cpu':>13} {'thumb s':>7} {'req ms':>9}"
        )
        print(header)
        print("-" * len(header))
        for name, build in found.items():
            src = work / name
            if not src.exists():
                build(src)
            size = src.stat().st_size
            out = work / f"{name}.cleaned"
            result = clean_in_child(src, out)
            _print_row(name, size, result, out, work)
            out.unlink(missing_ok=True)
            if keep is None:
                src.unlink()
        for note in notes:
            print(f"note: {note}")
        print(
            f"budget: time max(10 s, 1 s per MB), peak memory {MEMORY_BUDGET_MB} MB (whole "
            f"process); text {TEXT_TARGET_MBPS:.0f} MB/s; thumbnail request "
            f"{THUMBNAIL_TARGET_MS:.0f} ms. 'over' marks a miss."
        )


def _print_row(name: str, size: int, result: dict[str, object], out: Path, work: Path) -> None:
    budget = max(10.0, size / 1e6)
    if "crashed" in result:
        print(f"{name[:34]:<34} {size:>9} CRASHED {result['crashed']}")
        return
    outcome = str(result.get("cleaned") or f"refused: {result.get('refused')}")
    if result.get("altered"):
        outcome += " (re-encoded)"
    seconds = float(result["seconds"])  # type: ignore[arg-type]
    cpu = float(result["cpu"])  # type: ignore[arg-type]
    peak_mb = int(result["rss_peak_kb"]) / 1024  # type: ignore[call-overload]
    with_thumbnail = int(result["rss_peak_with_thumbnail_kb"]) / 1024  # type: ignore[call-overload]
    time_mark = " over" if seconds > budget else ""
    memory_mark = " over" if max(peak_mb, with_thumbnail) > MEMORY_BUDGET_MB else ""
    rate = "-"
    if name.endswith(".txt"):
        mbps, cpu_mbps = size / 1e6 / seconds, size / 1e6 / max(cpu, 1e-9)
        rate = f"{mbps:.1f}/{cpu_mbps:.1f}" + ("!" if cpu_mbps < TEXT_TARGET_MBPS else "")
    made, request = "-", "-"
    peak = f"{peak_mb:.0f}"
    if result.get("thumbnail_seconds") is not None:
        made = f"{float(result['thumbnail_seconds']):.2f}"  # type: ignore[arg-type]
        peak += f"/{with_thumbnail:.0f}"
    if result.get("kind") == "image" and out.exists():
        request_s = thumbnail_request_seconds(out, work)
        request = f"{request_s * 1000:.1f}" + (
            " over" if request_s * 1000 > THUMBNAIL_TARGET_MS else ""
        )
    print(
        f"{name[:34]:<34} {size:>9} {outcome[:22]:<22} {seconds:>7.2f} {cpu:>6.2f} "
        f"{budget:>6.0f} {peak:>9} {rate:>13} {made:>7} {request:>9}"
        f"{time_mark}{memory_mark}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    parser.add_argument("--keep", type=Path, help="build and keep the files in this folder")
    args = parser.parse_args(argv)
    os.environ.setdefault("PORTAL_LOG_LEVEL", "ERROR")
    run(args.only, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
