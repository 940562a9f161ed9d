"""Mutated files through the cleaner: it cleans or refuses for a reason it knows.

Hypothesis flips, inserts and deletes bytes in, and truncates, small real files (from
the shared corpus when present) and generated ones. For every mutant the cleaner
either returns a file in which exiftool finds nothing identifying, or raises
:class:`Refusal` naming a cause it recognised. A refusal that only wraps an exception
the cleaner did not expect (the registry turns any such crash into
``cleaning_failed``, so that a tipster gets a clear message) fails the test with that
exception's traceback: the registry's safety net must not hide a crash from the
tests. The cleaner also never runs longer than ``CASE_TIMEOUT`` (checked from a
watchdog thread, which also catches loops inside C libraries that a signal could not
interrupt), and never writes anywhere but its output: each case runs in empty folders
with the temp folder redirected, and all of them are checked afterwards.

Hypothesis runs derandomized: every run tries the same ``EXAMPLES`` mutants per seed
file (50 unless ``FUZZ_EXAMPLES`` says more), so a failure here fails again on
any machine. A long run, e.g. ``FUZZ_EXAMPLES=5000 pytest tests/cleaning/test_fuzz.py``,
tries more mutants of the same seeds.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import threading
import traceback
import wave
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from portal.cleaning import Refusal, RefusalCode, clean_file
from tests.cleaning.helpers import make_gif, make_jpeg, make_png
from tests.corpus import corpus_available, corpus_file
from tests.exiftool_oracle import leaks_of_many

#: seconds of wall time; generous because the suite may share 2 loaded cores (the
#: long run once saw a 0.1 s case take over 20 s while the whole suite ran beside it)
CASE_TIMEOUT = 60.0
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))

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
    pdf.save(path, deterministic_id=True)  # the same seed on every run
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


def unexpected_exception(refusal: Refusal) -> BaseException | None:
    """The exception ``refusal`` merely wraps, if the cleaner did not recognise it.

    A module that understands a problem raises a Refusal with its own code, possibly
    ``from`` the library error it caught. Only the registry's catch-all makes a
    ``cleaning_failed`` Refusal directly ``from`` an exception that is not a Refusal.
    Refusals re-raised by an outer file for a file inside it are followed down.
    """
    current: BaseException | None = refusal
    while isinstance(current, Refusal):
        cause = current.__cause__
        if current.code == RefusalCode.CLEANING_FAILED and not isinstance(cause, Refusal | None):
            return cause
        current = cause
    return None


def describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)).rstrip()


@pytest.mark.parametrize("seed", SEED_NAMES)
# Pillow warns about the damage it reads past (truncated tags, corrupt EXIF): expected
# of mutants, and not what this test judges.
@pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")
def test_mutants_are_cleaned_or_refused(seed, seeds, tmp_path, monkeypatch):
    if seed not in seeds:
        pytest.skip("shared corpus not found: generated seeds still run")
    original = seeds[seed]
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    monkeypatch.setenv("TMPDIR", str(system_tmp))
    kept = tmp_path / "kept"
    kept.mkdir()
    #: cleaned outputs, judged by exiftool together at the end (one run, not hundreds)
    cleaned: dict[Path, list[tuple]] = {}
    counter = iter(range(1_000_000))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,  # the watchdog above bounds each case instead
        database=None,  # write nothing into the checkout
        derandomize=True,  # the same mutants on every run: a failure here repeats
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(mutations=st.lists(mutation, min_size=1, max_size=4))
    def check(mutations):
        number = next(counter)
        case = tmp_path / f"case-{number}"
        in_dir, out_dir = case / "in", case / "out"
        in_dir.mkdir(parents=True)
        out_dir.mkdir()
        src = in_dir / "upload"
        data = mutate(original, mutations)
        src.write_bytes(data)
        dst = out_dir / "cleaned"

        status, value = run_with_watchdog(src, dst)

        assert status != "error", f"the cleaner raised, mutations {mutations}:\n{describe(value)}"
        if status == "refused":
            crash = unexpected_exception(value)
            assert crash is None, (
                f"refused as {value.code.value} only because the cleaner crashed, "
                f"mutations {mutations}:\n{describe(crash)}"
            )
        assert os.listdir(in_dir) == ["upload"]
        assert src.read_bytes() == data
        assert os.listdir(system_tmp) == [], "the cleaner left files in the temp folder"
        if status == "ok":
            assert os.listdir(out_dir) == ["cleaned"]
            # Same suffix: exiftool reads by content, and names nothing after it.
            judged = dst.rename(kept / f"{number}")
            cleaned[judged] = mutations
        else:
            assert os.listdir(out_dir) == []
        shutil.rmtree(case)

    check()
    leaking = {
        repr(cleaned[path]): found
        for path, found in leaks_of_many(sorted(cleaned)).items()
        if found
    }
    assert leaking == {}, "cleaned mutants (by their mutations) still carry metadata"
    shutil.rmtree(kept)
    assert sorted(os.listdir(tmp_path)) == ["system-tmp"]


def test_a_refusal_that_wraps_a_crash_is_told_apart(tmp_path, monkeypatch):
    """The check above sees a crash behind the registry's refusal, and only then."""
    from portal.cleaning import jpeg

    src = make_jpeg(tmp_path / "a.jpg")

    def crash(*args, **kwargs):
        raise IndexError("planted")

    monkeypatch.setattr(jpeg.CLEANER, "clean", crash)
    with pytest.raises(Refusal) as info:
        clean_file(src, tmp_path / "out.jpg")
    assert isinstance(unexpected_exception(info.value), IndexError)
    assert "IndexError: planted" in describe(unexpected_exception(info.value))

    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(src.read_bytes()[:200])
    monkeypatch.undo()
    with pytest.raises(Refusal) as info:
        clean_file(truncated, tmp_path / "out.jpg")
    assert info.value.code == RefusalCode.MALFORMED
    assert unexpected_exception(info.value) is None


def test_mutate_changes_the_bytes():
    """The mutations do what they say, so the fuzzing above really varies its input."""
    data = bytes(range(100))
    assert mutate(data, [("flip", 0.0, 1)])[0] == 1
    assert mutate(data, [("insert", 0.5, b"\xff\xfe")]).count(b"\xff\xfe") == 1
    assert len(mutate(data, [("delete", 0.5, 10)])) == 90
    assert len(mutate(data, [("truncate", 0.1)])) == 9
    assert io.BytesIO(mutate(data, [("flip-head", 5, 255)])).read()[5] == 5 ^ 255
