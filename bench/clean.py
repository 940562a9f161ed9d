"""Benchmark: our cleaner against ``exiftool -all=`` and mat2 on the same files.

    .venv/bin/python bench/clean.py [--corpus DIR] [--rounds 3] [--no-big] [--big-mb 1024]

Every corpus file is copied into a private folder per tool, so each tool sees the
same bytes and none touches the corpus. For each tool and format group it prints
failures (refused or errored), the leaks left in what the tool produced (files in
which ``tests/exiftool_oracle.leaks`` still finds something, and the number of such
tags), CPU and wall seconds, and each tool's CPU time as a multiple of ours. Then the
targets of issue 15 with their ratios, and for each group a profile line saying
where our time went (one extra, untimed pass under cProfile, CPU clock). For the
re-encoded images, what re-encoding costs: each cleaned copy's PSNR against the
original as its own library decodes it (libheif, Pillow), beside its CPU time.

How time is measured: the machine this runs on is shared, so wall time mostly says
how busy the other processes were. The ratios therefore use CPU time (user + system):
``time.process_time()`` for ours (all threads of this process, so a multithreaded
decoder is charged in full), and ``getrusage(RUSAGE_CHILDREN)`` deltas for exiftool
and mat2 (every process they start and wait for is included, mat2's worker pool
too). The tools take turns group by group, ``--rounds`` times (the order rotated each
round), and the smallest CPU time of each tool is kept, so a burst of load on one
round does not decide a ratio. Wall time (also the smallest) is printed beside it;
fsync waits show only there.

How each tool runs, which favours the peers on small files:

* ours: ``portal.cleaning.clean_file`` in this process, one file after another, as an
  upload is filed (no start-up cost): each cleaned file fsynced, and the folder once
  for the group, as filing fsyncs its staging folder once per submission;
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
reports wall and CPU time and the peak resident memory of that process tree, beside
the physical limit: ``cp`` of the same file followed by one fsync of the copy
(``sync FILE``). The tools take turns, ``--repeat`` times, best run shown. Ours
includes Python's start-up and the fsync of its output; the peers do not fsync, so
the time until a ``sync`` after each tool has returned is shown too. Temporary files
live in one folder that is deleted at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import math
import mimetypes
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from PIL import Image, ImageChops, ImageOps, ImageStat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from portal.cleaning import Refusal, clean_file, registry  # noqa: E402
from portal.cleaning.registry import identify  # noqa: E402
from portal.storage import fsync_dir  # noqa: E402
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
    cpu: float = 0.0  # user + system seconds, the smallest over the rounds
    wall: float = 0.0  # wall seconds, the smallest over the rounds
    failures: list[str] = field(default_factory=list)
    leaky: dict[str, list[str]] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        self.files += other.files
        self.bytes_in += other.bytes_in
        self.cpu += other.cpu
        self.wall += other.wall
        self.failures += other.failures
        self.leaky.update(other.leaky)


@dataclass
class Timing:
    cpu: float
    wall: float


def _stage(files: list[Path], folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    staged = []
    for src in files:
        dst = folder / src.name
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o600)
        staged.append(dst)
    return staged


def _clean_as_filed(staged: list[Path], out_dir: Path) -> dict[str, Path | None]:
    """Clean every file as filing does: clean_file without its own durability, the
    cleaned file fsynced by the caller, the folder fsynced once at the end."""
    outputs: dict[str, Path | None] = {}
    for src in staged:
        dst = out_dir / src.name
        try:
            clean_file(src, dst, durable=False)
            fd = os.open(dst, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            outputs[src.name] = dst
        except Refusal:
            outputs[src.name] = None
    fsync_dir(out_dir)
    return outputs


def run_ours(files: list[Path], folder: Path) -> tuple[Timing, dict[str, Path | None]]:
    staged = _stage(files, folder / "in")
    out_dir = folder / "out"
    out_dir.mkdir()
    cpu, wall = time.process_time(), time.perf_counter()
    outputs = _clean_as_filed(staged, out_dir)
    return Timing(time.process_time() - cpu, time.perf_counter() - wall), outputs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_child(cmd: list[str]) -> tuple[Timing, subprocess.CompletedProcess[str]]:
    cpu, wall = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return Timing(_children_cpu() - cpu, time.perf_counter() - wall), proc


def run_exiftool(files: list[Path], folder: Path) -> tuple[Timing, dict[str, Path | None]]:
    staged = _stage(files, folder)
    timing, proc = _run_child(
        ["exiftool", "-q", "-q", "-all=", "-overwrite_original", "--", *map(str, staged)]
    )
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error")]
    outputs: dict[str, Path | None] = {}
    for path in staged:
        failed = any(line.endswith(f" - {path}") for line in errors)
        outputs[path.name] = None if failed else path
    return timing, outputs


def run_mat2(files: list[Path], folder: Path) -> tuple[Timing, dict[str, Path | None]]:
    staged = _stage(files, folder)
    timing, _proc = _run_child(["mat2", *map(str, staged)])
    outputs: dict[str, Path | None] = {}
    for path in staged:
        cleaned = path.with_name(f"{path.stem}.cleaned{path.suffix}")
        outputs[path.name] = cleaned if cleaned.is_file() else None
    return timing, outputs


RUNNERS = {"ours": run_ours, "exiftool": run_exiftool, "mat2": run_mat2}


def measure(
    groups: dict[str, list[Path]], work: Path, rounds: int, mat2_rounds: int
) -> dict[str, dict[str, Tally]]:
    """Every tool over every group, ``rounds`` times with the tools taking turns;
    failures and leaks are judged on the first round's outputs."""
    results: dict[str, dict[str, Tally]] = defaultdict(dict)
    for group, files in sorted(groups.items()):
        size = sum(f.stat().st_size for f in files)
        for number in range(rounds):
            order = TOOLS[number % len(TOOLS) :] + TOOLS[: number % len(TOOLS)]
            for tool in order:
                if tool == "mat2" and number >= mat2_rounds:
                    continue
                folder = work / tool / group.split()[0]
                timing, outputs = RUNNERS[tool](files, folder)
                tally = results[group].get(tool)
                if tally is None:
                    tally = results[group][tool] = Tally(len(files), size, timing.cpu, timing.wall)
                    for name, out in outputs.items():
                        if out is None:
                            tally.failures.append(name)
                            continue
                        found = leaks(out)
                        if found:
                            tally.leaky[name] = found
                tally.cpu = min(tally.cpu, timing.cpu)
                tally.wall = min(tally.wall, timing.wall)
                shutil.rmtree(folder)
    return results


# --- where our time goes ---------------------------------------------------------------

#: Profile buckets, tried in order: a function belongs to the first whose test matches
#: its cProfile key (file name, function name).
_BUCKETS: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    ("fsync", lambda _f, name: "fsync" in name),
    ("colour", lambda f, name: "ImageCms" in f or "imagingcms" in name or "CmsTransform" in name),
    ("decode", lambda f, name: "Decoder" in name or "pillow_heif" in f or "avif" in name.lower()),
    ("encode", lambda _f, name: "Encoder" in name),
    ("inflate", lambda _f, name: "zlib.Decompress" in name or "decompress" in name),
    ("pixel copies", lambda _f, name: "ImagingCore" in name or "PIL._imaging." in name),
    ("av (ffmpeg)", lambda f, name: f"{os.sep}av{os.sep}" in f or "av." in name),
    ("pikepdf", lambda f, name: "pikepdf" in f or "pikepdf" in name),
    ("our python", lambda f, _name: f"{os.sep}portal{os.sep}" in f),
    ("pillow python", lambda f, _name: f"{os.sep}PIL{os.sep}" in f),
    ("file i/o", lambda _f, name: any(w in name for w in ("read", "write", "open", "replace"))),
)


def profile_line(files: list[Path], work: Path) -> str:
    """Where our CPU time went for one group: one untimed pass under cProfile with a
    CPU clock, each function's own time put in a bucket (``_BUCKETS``)."""
    staged = _stage(files, work / "profile" / "in")
    out_dir = work / "profile" / "out"
    out_dir.mkdir()
    profiler = cProfile.Profile(time.process_time)
    fsyncs = 0
    real_fsync = os.fsync

    def counted_fsync(fd: int) -> None:
        nonlocal fsyncs
        fsyncs += 1
        real_fsync(fd)

    os.fsync = counted_fsync  # type: ignore[assignment]
    try:
        profiler.runcall(_clean_as_filed, staged, out_dir)
    finally:
        os.fsync = real_fsync
        shutil.rmtree(work / "profile")
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    spent: dict[str, float] = defaultdict(float)
    for (filename, _line, name), (_cc, _nc, own, _cum, _callers) in stats.items():
        bucket = next((label for label, test in _BUCKETS if test(filename, name)), "other")
        spent[bucket] += own
    total = sum(spent.values()) or 1.0
    parts = [
        f"{label} {100 * seconds / total:.0f}%"
        for label, seconds in sorted(spent.items(), key=lambda item: -item[1])
        if seconds / total >= 0.02
    ]
    return f"{total:.2f} s CPU under cProfile: {', '.join(parts)}; {fsyncs} fsyncs"


def _row(label: str, tool: str, t: Tally | None, ours: Tally) -> str:
    if t is None:
        return f"{label:<38} {tool:<9} (not run)"
    mbps = t.bytes_in / 1e6 / t.cpu if t.cpu else float("inf")
    leaked = sum(len(v) for v in t.leaky.values())
    ratio = "1.00 (ref)" if tool == "ours" else f"{t.cpu / ours.cpu:.2f}x ours"
    return (
        f"{label:<38} {tool:<9} {t.files:>5} {len(t.failures):>5} {t.cpu:>7.2f} {t.wall:>7.2f} "
        f"{mbps:>7.2f} {len(t.leaky):>6} {leaked:>5}  {ratio}"
    )


#: Issue 15's targets: (label, groups it covers, the most ours may take as a
#: multiple of exiftool's CPU time).
TARGETS = (
    ("lossless images", ("lossless images (JPEG/PNG/GIF/WebP)",), 1.0),
    ("whole corpus", None, 1.0),
    ("video", ("video",), 0.8),
    ("re-encoded images", ("re-encoded images (TIFF/HEIC/AVIF)",), 2.0),
)


def report(results: dict[str, dict[str, Tally]], profiles: dict[str, str], rounds: int) -> None:
    print(f"CPU and wall seconds, smallest of {rounds} interleaved rounds (mat2: fewer)")
    header = (
        f"{'group':<38} {'tool':<9} {'files':>5} {'fail':>5} {'cpu s':>7} {'wall s':>7} "
        f"{'MB/cpus':>7} {'leaky':>6} {'tags':>5}  cpu vs ours"
    )
    print(header)
    print("-" * len(header))
    totals = {tool: Tally() for tool in TOOLS}
    for group, by_tool in sorted(results.items()):
        for tool in TOOLS:
            print(_row(group, tool, by_tool.get(tool), by_tool["ours"]))
            if tool in by_tool:
                totals[tool].add(by_tool[tool])
        if group in profiles:
            print(f"{'':<38} profile   {profiles[group]}")
        print()
    for tool in TOOLS:
        print(_row("ALL", tool, totals[tool], totals["ours"]))

    print("\ntargets (ours / exiftool, CPU time):")
    for label, covered, most in TARGETS:
        chosen = covered or tuple(results)
        mine = sum(results[g]["ours"].cpu for g in chosen if g in results)
        peer = sum(results[g]["exiftool"].cpu for g in chosen if g in results)
        walls = (
            sum(results[g]["ours"].wall for g in chosen if g in results),
            sum(results[g]["exiftool"].wall for g in chosen if g in results),
        )
        if not peer:
            continue
        verdict = "met" if mine <= most * peer else "NOT met"
        print(
            f"  {label:<18} {mine / peer:5.2f}  (at most {most:.2f}: {verdict}; "
            f"wall {walls[0] / walls[1]:.2f})"
        )

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


# --- what re-encoding costs in quality -------------------------------------------------

REENCODED = GROUP_OF_FAMILY["heif"]


def _reference(path: Path) -> Image.Image:
    """The original's primary picture as its own library decodes it (libheif for HEVC,
    Pillow for AV1 and TIFF), upright and in the colours the cleaned copy is in: a
    device profile is converted to sRGB as the cleaner converts it."""
    import pillow_heif

    from portal.cleaning import icc

    try:
        heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=True)
        image = heif[heif.primary_index].to_pillow()  # libheif applies irot/imir/clap
    except (OSError, ValueError, RuntimeError):
        image = ImageOps.exif_transpose(Image.open(path))
    profile = image.info.get("icc_profile")
    converted, _ = icc.prepare_for_save(image, profile)
    return converted.convert("RGB")


def _psnr(reference: Image.Image, other: Image.Image) -> float:
    squares = sum(ImageStat.Stat(ImageChops.difference(reference, other)).sum2)
    if not squares:
        return math.inf
    return 10 * math.log10(255**2 * 3 * reference.width * reference.height / squares)


def quality_lines(files: list[Path], work: Path) -> list[str]:
    """PSNR of each cleaned copy against the original decoded by its reference library
    (what re-encoding as JPEG at quality 92 costs; PNG copies are lossless), beside
    the CPU time of that one clean."""
    folder = work / "quality"
    folder.mkdir()
    lines = []
    for path in files:
        out = folder / f"{path.name}.out"
        cpu = time.process_time()
        try:
            result = clean_file(path, out, durable=False)
        except Refusal:
            lines.append(f"  {path.name:<34} refused")
            continue
        cpu = time.process_time() - cpu
        reference = _reference(path)
        with Image.open(out) as cleaned:
            ours = cleaned.convert("RGB")
        if ours.size != reference.size:
            lines.append(f"  {path.name:<34} size {ours.size} against {reference.size}")
            continue
        psnr = _psnr(reference, ours)
        quality = "identical pixels" if math.isinf(psnr) else f"PSNR {psnr:5.1f} dB"
        lines.append(
            f"  {path.name:<34} {quality:<16} {result.format} to {result.mime}, "
            f"{reference.width}x{reference.height}, {cpu * 1000:5.0f} ms CPU"
        )
    shutil.rmtree(folder)
    return lines


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


def _timed_child(cmd: list[str]) -> tuple[Timing, int, float]:
    """Wall and CPU seconds, exit code and peak resident memory (MB, summed over the
    process tree: mat2 runs ffmpeg) of a child, sampled every 10 ms. (``wait4``'s
    ru_maxrss would count the memory of this process, which the child starts as a fork
    of.)"""
    cpu, start = _children_cpu(), time.perf_counter()
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
    timing = Timing(_children_cpu() - cpu, time.perf_counter() - start)
    return timing, proc.returncode, peak / 1024 / 1024


# Cleans argv[1] into argv[2] and writes to argv[3] how long clean_file alone took
# (wall and CPU), after importing every format module as a running server already has.
_OURS_CHILD = """
import sys, time
from portal.cleaning import clean_file, registry
registry.load_all()
start, cpu = time.perf_counter(), time.process_time()
clean_file(sys.argv[1], sys.argv[2])
open(sys.argv[3], "w").write(f"{time.perf_counter() - start} {time.process_time() - cpu}")
"""

#: The physical limit of a lossless clean: a copy of the bytes, made durable once.
_CP_AND_FSYNC = 'cp -- "$1" "$2" && sync -- "$2"'
BIG_TOOLS = ("cp+fsync", *TOOLS)


def _inner(copy: Path) -> Path:
    return copy.with_name("ours-inner-seconds.txt")


def _big_command(tool: str, copy: Path) -> tuple[list[str], Path]:
    """The command cleaning ``copy`` with ``tool``, and where its output lands."""
    if tool == "ours":
        out = copy.with_name("ours-clean.mp4")
        return [sys.executable, "-c", _OURS_CHILD, str(copy), str(out), str(_inner(copy))], out
    if tool == "cp+fsync":
        out = copy.with_name("cp-copy.mp4")
        return ["sh", "-c", _CP_AND_FSYNC, "sh", str(copy), str(out)], out
    if tool == "exiftool":
        return ["exiftool", "-q", "-q", "-all=", "-overwrite_original", str(copy)], copy
    return ["mat2", str(copy)], copy.with_name(f"{copy.stem}.cleaned.mp4")


@dataclass
class BigRun:
    timing: Timing
    code: int
    rss: float
    durable: float  # wall seconds until the output was on disk
    inner: Timing | None  # ours: clean_file alone, imports done


def big_video(work: Path, megabytes: int, repeat: int = 2) -> None:
    folder = work / "big"
    folder.mkdir()
    print(f"\nbuilding a {megabytes} MB video with ffmpeg ...", flush=True)
    source = make_big_video(folder, megabytes)
    size_mb = source.stat().st_size / 1e6
    print(
        f"big video: {size_mb:.0f} MB; leaks before: {len(leaks(source))} tags; "
        f"best of {repeat} interleaved runs"
    )
    runs: dict[str, list[BigRun]] = defaultdict(list)
    left: dict[str, str] = {}
    for attempt in range(repeat):
        for tool in BIG_TOOLS:
            copy = folder / f"{tool}.mp4"
            cmd, out = _big_command(tool, copy)
            shutil.copyfile(source, copy)
            # Flush the copy first, or its write-back would be charged to the tool.
            os.sync()
            timing, code, rss = _timed_child(cmd)
            flush_start = time.perf_counter()
            os.sync()  # ours fsyncs its output; the peers leave theirs in the page cache
            durable = timing.wall + time.perf_counter() - flush_start
            inner = None
            if _inner(copy).is_file():
                wall, cpu = map(float, _inner(copy).read_text().split())
                inner = Timing(cpu, wall)
                _inner(copy).unlink()
            runs[tool].append(BigRun(timing, code, rss, durable, inner))
            if attempt == 0:
                left[tool] = "-"
                if code == 0 and out.is_file():
                    left[tool] = f"{len(leaks(out))}, output {out.stat().st_size / 1e6:.0f} MB"
            for path in (copy, out):
                path.unlink(missing_ok=True)
    best = {tool: min(r, key=lambda run: run.timing.wall) for tool, r in runs.items()}
    limit = best["cp+fsync"]
    for tool in BIG_TOOLS:
        run = best[tool]
        wall = min(r.timing.wall for r in runs[tool])
        cpu = min(r.timing.cpu for r in runs[tool])
        note = "" if tool == "cp+fsync" else f" ({wall / limit.timing.wall:.2f}x cp+fsync)"
        inners = [r.inner for r in runs[tool] if r.inner is not None]
        if inners:
            inner_wall = min(i.wall for i in inners)
            note += (
                f" [clean_file alone, imports done: {inner_wall:.2f} s wall "
                f"({inner_wall / limit.timing.wall:.2f}x cp+fsync), "
                f"{min(i.cpu for i in inners):.2f} s CPU]"
            )
        print(
            f"  {tool:<9} {wall:7.2f} s wall{note}, CPU {cpu:5.2f} s, "
            f"{min(r.durable for r in runs[tool]):.2f} s until on disk, "
            f"{size_mb / wall:6.1f} MB/s, peak RSS {max(r.rss for r in runs[tool]):4.0f} MB, "
            f"exit {run.code}, leaked tags {left.get(tool, '-')}"
        )
    source.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per group")
    parser.add_argument("--mat2-rounds", type=int, default=1, help="rounds mat2 takes part in")
    parser.add_argument("--no-profile", action="store_true", help="skip the profile lines")
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

    registry.load_all()  # a running server has imported every family already
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        work = Path(tmp)
        results = measure(groups, work, max(args.rounds, 1), max(args.mat2_rounds, 1))
        profiles = {}
        if not args.no_profile:
            profiles = {group: profile_line(files, work) for group, files in groups.items()}
        report(results, profiles, max(args.rounds, 1))
        if groups.get(REENCODED):
            print(f"\n{REENCODED}: PSNR of our JPEG against the original decoded by its library")
            print("\n".join(quality_lines(groups[REENCODED], work)))
        if not args.no_big:
            big_video(work, args.big_mb, args.repeat)
    if args.hostile:
        from bench import hostile

        print("\nhostile files, each cleaned in a process of its own:")
        hostile.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
