"""The judge itself: leaks() must see what a careless cleaner would leave behind."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.exiftool_oracle import leaks


def test_a_plain_image_has_no_leak(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "plain.jpg")
    Image.new("RGB", (8, 8)).save(tmp_path / "plain.png")
    assert leaks(tmp_path / "plain.jpg") == []
    assert leaks(tmp_path / "plain.png") == []


def test_a_jpeg_comment_is_a_leak(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "c.jpg", comment=b"Juan Perez phone")
    assert leaks(tmp_path / "c.jpg") == ["File:Comment=Juan Perez phone"]


def test_exif_make_gps_and_dates_are_leaks(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0132] = "2024:05:07 09:33:04"  # DateTime
    exif.get_ifd(0x8825)[1] = "N"  # GPSLatitudeRef
    Image.new("RGB", (8, 8)).save(tmp_path / "e.jpg", exif=exif)
    found = " ".join(leaks(tmp_path / "e.jpg"))
    assert "IFD0:Make=Canon" in found
    assert "IFD0:ModifyDate=2024:05:07" in found
    assert "GPS:GPSLatitudeRef" in found
