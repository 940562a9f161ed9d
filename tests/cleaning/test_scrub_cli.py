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
