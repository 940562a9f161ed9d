"""Benchmark: our cleaner against ``exiftool -all=`` and mat2 on the same files.

    /work/venv/bin/python bench/clean.py [--corpus DIR] [--no-big] [--big-mb 1024]

Every corpus file is copied into a private folder per tool, so each tool sees the
same bytes and none touches the corpus. For each tool and format group it prints
files/s, MB/s (of input), failures (refused or errored), and the leaks left in what
the tool produced (files in which ``tests/exiftool_oracle.leaks`` still finds
something, and the number of such tags), with the peers' time as a multiple of ours.

How each tool runs, which favours the peers on small files:

* ours: ``portal.cleaning.clean_file`` in this process, one file after another, as an
  upload is cleaned (no start-up cost);
* exiftool: one ``exiftool -all= -overwrite_original`` process per group with all the
  group's files (Perl's start-up paid once per group); a file is a failure when
  exiftool reports an error for it;
* mat2: one ``mat2`` process per group with all the group's files; mat2 spreads files
  over all cores (ProcessPoolExecutor) while ours uses one; a file is a failure when
  no ``.cleaned`` copy appears.

With ``--hostile`` it ends with the hostile group (files built to cost the cleaner as
much as possible, against its time and memory budget): see bench/hostile.py.

Unless ``--no-big`` is given it then builds a ~1 GB H.264/AAC MP4 with ffmpeg (a 20 s
segment looped with ``-c copy``), cleans it with each tool in a child process, and
reports wall time and the peak resident memory of that process tree. Ours includes
Python's start-up and the fsync of its output; the peers do not fsync, so the time
until a ``sync`` after each tool has returned is shown too. Temporary
files live in one folder that is deleted at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import mimetypes
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from portal.cleaning import Refusal, clean_file  # noqa: E402
from portal.cleaning.registry import identify  # noqa: E402
from tests.exiftool_oracle import leaks  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
TOOLS = ("ours", "exiftool", "mat2")

GROUP_OF_FAMILY = {
    "jpeg": "lossless images (JPEG/PNG/GIF/WebP)",
    "png": "lossless images (JPEG/PNG/GIF/WebP)",
    "gif": "lossless images (JPEG/PNG/GIF/WebP)",
    "webp": "lossless images (JPEG/PNG/GIF/WebP)",
    "tiff": "re-encoded images (TIFF/HEIC/AVIF)",
    "heif": "re-encoded images (TIFF/HEIC/AVIF)",
    "video": "video",
    "audio": "audio",
    "pdf": "documents",
    "office": "documents",
    "text": "documents",
}


def group_of(path: Path) -> str:
    """The format group, by our sniffing; by the name only for files we refuse."""
    try:
        return GROUP_OF_FAMILY.get(identify(path).family, "other")
    except Refusal:
        mime = mimetypes.guess_type(path.name)[0] or ""
        top = mime.split("/")[0]
        return {"video": "video", "audio": "audio"}.get(top, "other")


@dataclass
class Tally:
    files: int = 0
    bytes_in: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    leaky: dict[str, list[str]] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        self.files += other.files
        self.bytes_in += other.bytes_in
        self.seconds += other.seconds
        self.failures += other.failures
        self.leaky.update(other.leaky)


def _stage(files: list[Path], folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    staged = []
    for src in files:
        dst = folder / src.name
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o600)
        staged.append(dst)
    return staged


def run_ours(files: list[Path], folder: Path) -> tuple[float, dict[str, Path | None]]:
    staged = _stage(files, folder / "in")
    out_dir = folder / "out"
    out_dir.mkdir()
    outputs: dict[str, Path | None] = {}
    start = time.perf_counter()
    for src in staged:
        dst = out_dir / src.name
        try:
            clean_file(src, dst)
            outputs[src.name] = dst
        except Refusal:
            outputs[src.name] = None
    return time.perf_counter() - start, outputs


def run_exiftool(files: list[Path], folder: Path) -> tuple[float, dict[str, Path | None]]:
    staged = _stage(files, folder)
    start = time.perf_counter()
    proc = subprocess.run(
        ["exiftool", "-q", "-q", "-all=", "-overwrite_original", "--", *map(str, staged)],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error")]
    outputs: dict[str, Path | None] = {}
    for path in staged:
        failed = any(line.endswith(f" - {path}") for line in errors)
        outputs[path.name] = None if failed else path
    return elapsed, outputs


def run_mat2(files: list[Path], folder: Path) -> tuple[float, dict[str, Path | None]]:
    staged = _stage(files, folder)
    start = time.perf_counter()
    subprocess.run(["mat2", *map(str, staged)], capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    outputs: dict[str, Path | None] = {}
    for path in staged:
        cleaned = path.with_name(f"{path.stem}.cleaned{path.suffix}")
        outputs[path.name] = cleaned if cleaned.is_file() else None
    return elapsed, outputs


RUNNERS = {"ours": run_ours, "exiftool": run_exiftool, "mat2": run_mat2}


def measure(groups: dict[str, list[Path]], work: Path) -> dict[str, dict[str, Tally]]:
    results: dict[str, dict[str, Tally]] = defaultdict(dict)
    for group, files in sorted(groups.items()):
        for tool in TOOLS:
            folder = work / tool / group.split()[0]
            elapsed, outputs = RUNNERS[tool](files, folder)
            tally = Tally(len(files), sum(f.stat().st_size for f in files), elapsed)
            for name, out in outputs.items():
                if out is None:
                    tally.failures.append(name)
                    continue
                found = leaks(out)
                if found:
                    tally.leaky[name] = found
            results[group][tool] = tally
            shutil.rmtree(folder)
    return results


def _row(label: str, tool: str, t: Tally, ours: Tally) -> str:
    rate = t.files / t.seconds if t.seconds else float("inf")
    mbps = t.bytes_in / 1e6 / t.seconds if t.seconds else float("inf")
    leaked = sum(len(v) for v in t.leaky.values())
    ratio = "1.00 (ref)" if tool == "ours" else f"{t.seconds / ours.seconds:.2f}x ours"
    return (
        f"{label:<38} {tool:<9} {t.files:>5} {len(t.failures):>5} {t.seconds:>8.2f} "
        f"{rate:>8.1f} {mbps:>7.2f} {len(t.leaky):>6} {leaked:>7}  {ratio}"
    )


def report(results: dict[str, dict[str, Tally]]) -> None:
    header = (
        f"{'group':<38} {'tool':<9} {'files':>5} {'fail':>5} {'time s':>8} "
        f"{'files/s':>8} {'MB/s':>7} {'leaky':>6} {'tags':>7}  time vs ours"
    )
    print(header)
    print("-" * len(header))
    totals = {tool: Tally() for tool in TOOLS}
    for group, by_tool in sorted(results.items()):
        for tool in TOOLS:
            print(_row(group, tool, by_tool[tool], by_tool["ours"]))
            totals[tool].add(by_tool[tool])
        print()
    for tool in TOOLS:
        print(_row("ALL", tool, totals[tool], totals["ours"]))

    print("\nfailures (refused or errored):")
    for tool in TOOLS:
        print(f"  {tool:<9} {', '.join(sorted(totals[tool].failures)) or '-'}")
    print("\nfiles where both peers leave identifying tags, and ours:")
    both = set(totals["exiftool"].leaky) & set(totals["mat2"].leaky)
    for name in sorted(both):
        if name in totals["ours"].leaky:
            ours = "LEAKS " + "; ".join(totals["ours"].leaky[name][:3])
        elif name in totals["ours"].failures:
            ours = "refused"
        else:
            ours = "clean"
        print(
            f"  {name}: exiftool {len(totals['exiftool'].leaky[name])} tags, "
            f"mat2 {len(totals['mat2'].leaky[name])} tags, ours {ours}"
        )
    if not both:
        print("  (none)")
    for tool in ("exiftool", "mat2"):
        print(f"\nexamples of what {tool} leaves:")
        for name, found in sorted(totals[tool].leaky.items())[:8]:
            print(f"  {name}: {'; '.join(found[:3])}")
    if totals["ours"].leaky:
        print("\nOUR LEAKS:")
        for name, found in sorted(totals["ours"].leaky.items()):
            print(f"  {name}: {'; '.join(found)}")


# --- one big video ---------------------------------------------------------------------


def make_big_video(folder: Path, megabytes: int) -> Path:
    segment = folder / "segment.mp4"
    big = folder / "big.mp4"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", "20", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "40M",
            "-c:a", "aac",
            "-metadata", "title=Big test video",
            "-metadata", "artist=Jane Q. Tipster",
            "-metadata", "location=+25.6866-100.3161/",
            "-metadata", "comment=recorded at the bridge",
            str(segment),
        ],
        check=True,
    )  # fmt: skip
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(segment),
            "-map", "0", "-c", "copy", "-map_metadata", "0",
            "-fs", str(megabytes * 1024 * 1024), str(big),
        ],
        check=True,
    )  # fmt: skip
    segment.unlink()
    return big


def _timed_child(cmd: list[str]) -> tuple[float, int, float]:
    """Wall seconds, exit code and peak resident memory (MB, summed over the process
    tree: mat2 runs ffmpeg) of a child, sampled every 10 ms. (``wait4``'s ru_maxrss
    would count the memory of this process, which the child starts as a fork of.)"""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        total = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.01)
    return time.perf_counter() - start, proc.returncode, peak / 1024 / 1024


# Cleans argv[1] into argv[2] and writes to argv[3] how long clean_file alone took,
# after importing every format module as a running server already has.
_OURS_CHILD = """
import sys, time
from portal.cleaning import clean_file, registry
registry.load_all()
start = time.perf_counter()
clean_file(sys.argv[1], sys.argv[2])
open(sys.argv[3], "w").write(str(time.perf_counter() - start))
"""


def _inner(copy: Path) -> Path:
    return copy.with_name("ours-inner-seconds.txt")


def _big_command(tool: str, copy: Path) -> tuple[list[str], Path]:
    """The command cleaning ``copy`` with ``tool``, and where its output lands."""
    if tool == "ours":
        out = copy.with_name("ours-clean.mp4")
        return [sys.executable, "-c", _OURS_CHILD, str(copy), str(out), str(_inner(copy))], out
    if tool == "exiftool":
        return ["exiftool", "-q", "-q", "-all=", "-overwrite_original", str(copy)], copy
    return ["mat2", str(copy)], copy.with_name(f"{copy.stem}.cleaned.mp4")


def big_video(work: Path, megabytes: int, repeat: int = 2) -> None:
    folder = work / "big"
    folder.mkdir()
    print(f"\nbuilding a {megabytes} MB video with ffmpeg ...", flush=True)
    source = make_big_video(folder, megabytes)
    size_mb = source.stat().st_size / 1e6
    print(
        f"big video: {size_mb:.0f} MB; leaks before: {len(leaks(source))} tags; "
        f"best of {repeat} runs"
    )
    timings: dict[str, float] = {}
    for tool in TOOLS:
        copy = folder / f"{tool}.mp4"
        cmd, out = _big_command(tool, copy)
        runs = []
        inner_times: list[float] = []
        left: object = "-"
        for attempt in range(repeat):
            shutil.copyfile(source, copy)
            # Flush the copy first, or its write-back would be charged to the tool.
            os.sync()
            seconds, code, rss = _timed_child(cmd)
            flush_start = time.perf_counter()
            os.sync()  # ours fsyncs its output; the peers leave theirs in the page cache
            inner = _inner(copy)
            if inner.is_file():
                inner_times.append(float(inner.read_text()))
                inner.unlink()
            runs.append((seconds, code, rss, seconds + time.perf_counter() - flush_start))
            if attempt == 0 and code == 0 and out.is_file():
                left = f"{len(leaks(out))}, output {out.stat().st_size / 1e6:.0f} MB"
            for path in (copy, out):
                path.unlink(missing_ok=True)
        seconds, code, rss, durable = min(runs)
        timings[tool] = seconds
        ratio = "" if tool == "ours" else f" ({seconds / timings['ours']:.2f}x ours)"
        if inner_times:
            ratio = f" (clean_file alone, imports done: {min(inner_times):.2f} s)"
        print(
            f"  {tool:<9} {seconds:7.2f} s{ratio}, {durable:.2f} s until on disk, "
            f"{size_mb / seconds:6.1f} MB/s, peak RSS {rss:4.0f} MB, exit {code}, "
            f"leaked tags {left}"
        )
    source.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--no-big", action="store_true", help="skip the 1 GB video")
    parser.add_argument("--big-mb", type=int, default=1024, help="size of the big video")
    parser.add_argument("--repeat", type=int, default=2, help="big video runs; best is shown")
    parser.add_argument(
        "--hostile", action="store_true", help="then the hostile group (bench/hostile.py)"
    )
    args = parser.parse_args(argv)

    files = sorted(p for p in args.corpus.iterdir() if p.is_file() and p.suffix.lower() != ".tsv")
    if not files:
        print(f"no files in {args.corpus}", file=sys.stderr)
        return 2
    groups: dict[str, list[Path]] = defaultdict(list)
    for path in files:
        groups[group_of(path)].append(path)

    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        work = Path(tmp)
        report(measure(groups, work))
        if not args.no_big:
            big_video(work, args.big_mb, args.repeat)
    if args.hostile:
        from bench import hostile

        print("\nhostile files, each cleaned in a process of its own:")
        hostile.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
