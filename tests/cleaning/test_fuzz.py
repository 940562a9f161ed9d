"""Mutated files through the cleaner: it cleans or refuses, and nothing else.

Hypothesis flips, inserts and deletes bytes in, and truncates, small real files (from
the shared corpus when present) and generated ones. For every mutant the cleaner
either returns a file in which exiftool finds nothing identifying, or raises
:class:`Refusal`. It never raises anything else, never runs longer than
``CASE_TIMEOUT`` (checked from a watchdog thread, which also catches loops inside C
libraries that a signal could not interrupt), and never writes anywhere but its
output: each case runs in empty folders with the temp folder redirected, and all of
them are checked afterwards.

``FUZZ_EXAMPLES=200 pytest tests/cleaning/test_fuzz.py`` fuzzes longer.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import threading
import wave
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from portal.cleaning import Refusal, clean_file
from tests.cleaning.test_registry import make_gif, make_jpeg, make_png
from tests.corpus import corpus_available, corpus_file
from tests.exiftool_oracle import leaks

CASE_TIMEOUT = 20.0  # seconds; generous because the suite may share 2 cores
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))

#: Small corpus files, one or two per family, used as seeds when the corpus is present.
CORPUS_SEEDS = [
    "exiftool_GPS.jpg",
    "exiftool_PNG.png",
    "mat2_dirty.gif",
    "pillow_flower.webp",
    "pillow_hopper.iccprofile.tif",
    "pillow_avif_exif.avif",
    "exiftool_PDF.pdf",
    "exiftool_OOXML.docx",
    "mat2_dirty.odt",
    "mat2_dirty.mp3",
    "mat2_dirty.ogg",
]


def _make_pdf(path: Path) -> Path:
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.docinfo["/Author"] = "Jane Q. Tipster"
    pdf.docinfo["/Producer"] = "SecretEditor 7.3"
    pdf.save(path)
    return path


def _make_webp(path: Path) -> Path:
    image = Image.new("RGB", (24, 24), (30, 60, 90))
    exif = Image.Exif()
    exif[0x010F] = "PortalTestMake"
    exif[0x013B] = "Jane Q. Tipster"
    image.save(path, "WEBP", exif=exif.tobytes())
    return path


def _make_mp4(path: Path) -> Path:
    import av

    with av.open(str(path), "w", format="mp4") as container:
        container.metadata["title"] = "Jane Q. Tipster's video"
        container.metadata["comment"] = "recorded at the bridge"
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(6):
            frame = av.VideoFrame.from_image(Image.new("RGB", (32, 32), (i * 40, 0, 0)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _make_wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(range(256)) * 32)
    return path


def _make_text(path: Path) -> Path:
    path.write_text("Hola. Vi camiones en el puente a las 3 de la mañana.\nNada más.\n")
    return path


GENERATED = {
    "jpeg": make_jpeg,
    "png": make_png,
    "gif": make_gif,
    "webp": _make_webp,
    "pdf": _make_pdf,
    "mp4": _make_mp4,
    "wav": _make_wav,
    "text": _make_text,
}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("seeds")
    found = {
        f"generated-{name}": make(folder / name).read_bytes() for name, make in GENERATED.items()
    }
    if corpus_available():
        found.update({name: corpus_file(name).read_bytes() for name in CORPUS_SEEDS})
    return found


SEED_NAMES = [f"generated-{name}" for name in GENERATED] + CORPUS_SEEDS

# A mutation is (kind, position as a fraction of the length, a byte or bytes, length).
mutation = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255)),
    st.tuples(st.just("flip-head"), st.integers(0, 600), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 256)),
    st.tuples(st.just("truncate"), st.floats(0, 1)),
)


def mutate(data: bytes, mutations: list[tuple]) -> bytes:
    buf = bytearray(data)
    for kind, where, *arg in mutations:
        if not buf:
            break
        pos = where if isinstance(where, int) else int(where * (len(buf) - 1))
        pos = min(pos, len(buf) - 1)
        if kind in ("flip", "flip-head"):
            buf[pos] ^= arg[0]
        elif kind == "insert":
            buf[pos:pos] = arg[0]
        elif kind == "delete":
            del buf[pos : pos + arg[0]]
        elif kind == "truncate":
            del buf[max(pos, 1) :]
    return bytes(buf)


def run_with_watchdog(src: Path, dst: Path) -> tuple[str, object]:
    """Clean in a thread; ("ok", Cleaned), ("refused", Refusal) or ("error", exc)."""
    outcome: list[tuple[str, object]] = []

    def work() -> None:
        try:
            outcome.append(("ok", clean_file(src, dst)))
        except Refusal as exc:
            outcome.append(("refused", exc))
        except BaseException as exc:  # anything else is what this test looks for
            outcome.append(("error", exc))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(CASE_TIMEOUT)
    if thread.is_alive():
        pytest.fail(f"cleaning a mutant took more than {CASE_TIMEOUT} s (hang?)")
    return outcome[0]


@pytest.mark.parametrize("seed", SEED_NAMES)
def test_mutants_are_cleaned_or_refused(seed, seeds, tmp_path, monkeypatch):
    if seed not in seeds:
        pytest.skip("shared corpus not found: generated seeds still run")
    original = seeds[seed]
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    monkeypatch.setenv("TMPDIR", str(system_tmp))
    counter = iter(range(1_000_000))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,  # the watchdog above bounds each case instead
        database=None,  # write nothing into the checkout
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        derandomize=False,
    )
    @given(mutations=st.lists(mutation, min_size=1, max_size=4))
    def check(mutations):
        case = tmp_path / f"case-{next(counter)}"
        in_dir, out_dir = case / "in", case / "out"
        in_dir.mkdir(parents=True)
        out_dir.mkdir()
        src = in_dir / "upload"
        data = mutate(original, mutations)
        src.write_bytes(data)
        dst = out_dir / "cleaned"

        status, value = run_with_watchdog(src, dst)

        assert status != "error", f"{type(value).__name__}: {value}"
        assert os.listdir(in_dir) == ["upload"]
        assert src.read_bytes() == data
        assert os.listdir(system_tmp) == [], "the cleaner left files in the temp folder"
        if status == "ok":
            assert os.listdir(out_dir) == ["cleaned"]
            assert leaks(dst) == []
        else:
            assert os.listdir(out_dir) == []
        shutil.rmtree(case)

    check()
    assert sorted(os.listdir(tmp_path)) == ["system-tmp"]


def test_mutate_changes_the_bytes():
    """The mutations do what they say, so the fuzzing above really varies its input."""
    data = bytes(range(100))
    assert mutate(data, [("flip", 0.0, 1)])[0] == 1
    assert mutate(data, [("insert", 0.5, b"\xff\xfe")]).count(b"\xff\xfe") == 1
    assert len(mutate(data, [("delete", 0.5, 10)])) == 90
    assert len(mutate(data, [("truncate", 0.1)])) == 9
    assert io.BytesIO(mutate(data, [("flip-head", 5, 255)])).read()[5] == 5 ^ 255
