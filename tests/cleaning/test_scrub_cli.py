"""``flask scrub``: through click's runner and as a real ``flask --app app`` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from portal.cli.scrub import scrub_command
from tests.cleaning.helpers import SECRETS, assert_no_secrets, make_jpeg
from tests.exiftool_oracle import leaks

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> object:
    return CliRunner().invoke(scrub_command, [str(a) for a in args], catch_exceptions=False)


def test_cleans_and_says_what_it_removed(tmp_path):
    src = make_jpeg(tmp_path / "photo.jpg")
    out = tmp_path / "clean.jpg"
    result = run(src, out)
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("cleaned: JPEG image, written as image/jpeg (.jpg); removed: ")
    for category in ("gps", "make_model", "author", "software"):
        assert category in first
    assert "warning" not in result.stderr
    assert leaks(out) == []
    assert_no_secrets(out.read_bytes())


def test_report_prints_one_json_line(tmp_path):
    src = make_jpeg(tmp_path / "photo.jpg")
    result = run("--report", src, tmp_path / "o.jpeg")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    report = json.loads(lines[1])
    assert report["format"] == "JPEG"
    assert report["mime"] == "image/jpeg"
    assert report["kind"] == "image"
    assert {"gps", "make_model", "author"} <= set(report["removed"])
    assert report["removed"] == sorted(report["removed"])


def test_extension_mismatch_keeps_the_name_and_warns(tmp_path):
    src = make_jpeg(tmp_path / "photo.jpg")
    out = tmp_path / "clean.png"
    result = run(src, out)
    assert result.exit_code == 0
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"
    assert "warning" in result.stderr
    assert ".jpg" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.png", "photo.jpg"]


def test_heic_becomes_jpeg_and_the_name_is_flagged(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    src = tmp_path / "IMG_0001.HEIC"
    Image.new("RGB", (64, 64), (0, 90, 200)).save(src, "HEIF")
    result = run("--report", src, tmp_path / "out.heic")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.splitlines()[-1])
    # format names what was read, mime and extension what was written
    assert (report["mime"], report["extension"]) == ("image/jpeg", "jpg")
    assert "written as image/jpeg (.jpg)" in result.stdout
    assert "warning" in result.stderr
    # The warning names the format written, not the one read.
    assert "was written as JPEG (image/jpeg)" in result.stderr
    assert "HEIC" not in result.stderr
    assert report["written_format"] == "JPEG"
    assert (tmp_path / "out.heic").read_bytes()[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"\x7fELF\x02\x01\x01" + bytes(100), "executable"),
        (b"<html><script>alert(1)</script></html>", "active_content"),
        (bytes(range(1, 200)), "unknown_type"),
    ],
)
def test_refusal_exits_1_with_one_line_and_no_output(tmp_path, data, code):
    src = tmp_path / "in.jpg"
    src.write_bytes(data)
    out = tmp_path / "out.jpg"
    result = run(src, out)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"refused ({code}): ")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg"]


def test_existing_output_is_not_overwritten_without_force(tmp_path):
    src = make_jpeg(tmp_path / "photo.jpg")
    out = tmp_path / "out.jpg"
    out.write_bytes(b"keep me")
    result = run(src, out)
    assert result.exit_code == 2
    assert "--force" in result.stderr
    assert out.read_bytes() == b"keep me"

    result = run("--force", src, out)
    assert result.exit_code == 0
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"
    assert_no_secrets(out.read_bytes())


def test_force_and_refusal_remove_the_old_output(tmp_path):
    """After a write was attempted, OUTPUT exists only if the exit code is 0."""
    src = tmp_path / "in.bin"
    src.write_bytes(b"MZ" + bytes(100))
    out = tmp_path / "out.jpg"
    out.write_bytes(b"an old file")
    result = run("--force", src, out)
    assert result.exit_code == 1
    assert not out.exists()


@pytest.mark.parametrize("problem", ["missing input", "output folder", "no parent", "same file"])
def test_misuse_exits_2_and_touches_nothing(tmp_path, problem):
    src = make_jpeg(tmp_path / "photo.jpg")
    before = src.read_bytes()
    args = {
        "missing input": (tmp_path / "nope.jpg", tmp_path / "o.jpg"),
        "output folder": (src, tmp_path),
        "no parent": (src, tmp_path / "missing" / "o.jpg"),
        "same file": ("--force", src, src),
    }[problem]
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.jpg"]


def test_real_flask_process_from_the_repository_root(tmp_path):
    src = make_jpeg(tmp_path / "photo.jpg")
    out = tmp_path / "clean.jpg"
    env = dict(os.environ, PORTAL_DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "scrub", "--report", str(src), str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("cleaned: JPEG image")
    assert json.loads(proc.stdout.splitlines()[-1])["format"] == "JPEG"
    assert leaks(out) == []
    assert_no_secrets(out.read_bytes())

    bad = tmp_path / "script.jpg"
    bad.write_text("#!/bin/sh\necho hi\n")
    refused = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "scrub", str(bad), str(tmp_path / "x")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1].startswith("refused (executable): ")
    assert not (tmp_path / "x").exists()
    assert SECRETS["Artist"] not in refused.stderr


def test_refusal_with_report_prints_a_json_line(tmp_path):
    src = tmp_path / "in.bin"
    src.write_bytes(b"MZ" + bytes(100))
    result = run("--report", src, tmp_path / "out.jpg")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["status"] == "refused" and report["code"] == "executable"
    assert report["output"] is None and report["input"] == str(src)


def _mixed_inputs(tmp_path: Path) -> list[Path]:
    """Two photos, a refused program, and a text, the last one in a folder."""
    inputs = tmp_path / "usb"
    inputs.mkdir()
    first = make_jpeg(inputs / "IMG_0001.JPG")
    second = make_jpeg(inputs / "IMG_0002.jpeg")
    program = inputs / "setup.exe"
    program.write_bytes(b"MZ" + bytes(100))
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "nota.txt").write_text("el camión pasa el martes\u200b\n")
    (notes / ".hidden").write_text("not listed")
    return [first, second, program, notes]


def test_many_inputs_into_a_folder_with_one_start_up(tmp_path):
    out = tmp_path / "clean"
    out.mkdir()
    result = run(*_mixed_inputs(tmp_path), "--out", out, "--report")
    assert result.exit_code == 1, result.output  # one file was refused
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["status"] for r in reports] == ["cleaned", "cleaned", "refused", "cleaned"]
    assert [Path(r["input"]).name for r in reports] == [
        "IMG_0001.JPG", "IMG_0002.jpeg", "setup.exe", "nota.txt",
    ]  # fmt: skip
    assert reports[2]["code"] == "executable" and reports[2]["output"] is None
    assert reports[3]["removed"] == ["invisible_characters"]
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0001.jpg", "IMG_0002.jpg", "nota.txt"]
    for report in reports:
        if report["output"]:
            assert Path(report["output"]).parent == out
            assert leaks(Path(report["output"])) == []
    assert_no_secrets((out / "IMG_0001.jpg").read_bytes())
    assert "setup.exe: refused (executable)" in result.stderr


def test_many_inputs_never_replace_without_force_and_never_the_input(tmp_path):
    out = tmp_path / "clean"
    out.mkdir()
    a = make_jpeg(tmp_path / "a.jpg")
    (tmp_path / "sub").mkdir()
    b = make_jpeg(tmp_path / "sub" / "a.jpeg")
    (out / "a.jpg").write_bytes(b"keep me")
    result = run(a, b, "--out", out)
    assert result.exit_code == 1
    assert (out / "a.jpg").read_bytes() == b"keep me"
    # The second "a" of this run got a name of its own.
    assert sorted(p.name for p in out.iterdir()) == ["a-2.jpg", "a.jpg"]
    assert "exists (use --force" in result.stderr

    result = run(a, "--out", tmp_path, "--force")  # would write over the input itself
    assert result.exit_code == 1
    assert leaks(a) != []  # still the original, untouched

    result = run(a, "--out", out, "--force")
    assert result.exit_code == 0
    assert (out / "a.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "args", [(), ("one",), ("a", "b", "c"), ("missing.jpg", "--out", "."), ("x", "--out", "nodir")]
)
def test_many_inputs_misuse_exits_2(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    make_jpeg(tmp_path / "x")
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]
