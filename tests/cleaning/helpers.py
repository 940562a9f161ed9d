"""Small files tagged by exiftool with identifying values, and a check that cleaned
bytes carry none of them; shared by the registry, ``flask scrub`` and fuzz tests."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from tests.exiftool_oracle import write_tags

# Identifying values written into generated files; none may survive cleaning.
SECRETS = {
    "Make": "PortalTestMake",
    "Model": "Tipster-Phone-9000",
    "Artist": "Jane Q. Tipster",
    "Software": "SecretEditor 7.3",
    "SerialNumber": "SN-4815162342",
}


def exiftool_write(path: Path, *args: str) -> None:
    """Write tags with exiftool, which goes by the file name: work on a correctly
    named copy and move it back."""
    fmt = Image.open(path).format.lower()
    named = path.with_name(f".exiftool-{path.name}.{fmt}")
    os.replace(path, named)
    write_tags(named, *args)
    os.replace(named, path)


def make_jpeg(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    """A small JPEG carrying GPS, make, model, artist, software and a serial."""
    Image.new("RGB", size, (200, 40, 40)).save(path, "JPEG", quality=85)
    exiftool_write(
        path,
        "-GPSLatitude=25.6866",
        "-GPSLatitudeRef=N",
        "-GPSLongitude=100.3161",
        "-GPSLongitudeRef=W",
        "-DateTimeOriginal=2024:05:01 12:00:00",
        f"-Make={SECRETS['Make']}",
        f"-Model={SECRETS['Model']}",
        f"-Artist={SECRETS['Artist']}",
        f"-Software={SECRETS['Software']}",
        f"-SerialNumber={SECRETS['SerialNumber']}",
    )
    return path


def make_png(path: Path) -> Path:
    Image.new("RGB", (32, 32), (10, 120, 10)).save(path, "PNG")
    exiftool_write(path, f"-Artist={SECRETS['Artist']}", f"-Software={SECRETS['Software']}")
    return path


def make_gif(path: Path) -> Path:
    Image.new("P", (16, 16), 3).save(path, "GIF", comment=SECRETS["Artist"].encode())
    return path


def assert_no_secrets(data: bytes) -> None:
    for value in SECRETS.values():
        assert value.encode() not in data, value
