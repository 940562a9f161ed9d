"""Thumbnails on a submission's page: small JPEGs of the cleaned image, turned upright,
with no metadata, the safe headers of every file response, only for signed-in editors
and only for images. Made once when a tip is filed and read from disk after that;
for submissions filed before, made once on first request and recorded."""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from werkzeug.http import parse_options_header

from portal.cleaning.base import Limits
from portal.crypto import age
from portal.inbox import thumbnails
from portal.models import StoredFile, Submission, db
from tests.exiftool_oracle import leaks, write_tags
from tests.headers import assert_file_headers
from tests.inbox.helpers import FileSpec, MakeSubmission, jpeg_file, pdf_file
from tests.inbox_keys import ensure_inbox

RED, BLUE = (220, 0, 0), (0, 0, 220)


def two_halves(size: tuple[int, int]) -> Image.Image:
    """Left half red, right half blue: which way it is turned shows in the colours."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image


def tagged_jpeg(tmp_path: Path, size: tuple[int, int], orientation: int) -> bytes:
    """A photo as a phone takes it: EXIF orientation plus what must never come out."""
    path = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    two_halves(size).save(path, "JPEG", quality=90, exif=exif, comment=b"shot by Juan")
    write_tags(
        path, "-GPSLatitude=31.7", "-GPSLatitudeRef=N", "-Artist=Juan Perez", "-Model=Pixel 7",
        "-SerialNumber=ABC123", "-DateTimeOriginal=2026:03:01 10:00:00", "-XMP:Creator=Juan",
    )  # fmt: skip
    assert leaks(path), "the test photo should carry metadata to begin with"
    return path.read_bytes()


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def claiming_size(png: bytes, width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (its data is a tiny picture's)."""
    ihdr = bytearray(png[12:29])  # type + 13 bytes of data
    ihdr[4:12] = struct.pack(">II", width, height)
    return png[:12] + bytes(ihdr) + struct.pack(">I", zlib.crc32(ihdr)) + png[33:]


def thumbnail_url(filed, index: int = 0) -> str:
    return f"/inbox/s/{filed.id}/f/{filed.file_ids[index]}/thumbnail"


@pytest.mark.parametrize(
    ("orientation", "size", "expected", "corners"),
    [
        # corners: top left, top right, bottom left, bottom right, as the photo is shown
        (1, (1600, 1200), (480, 360), (RED, BLUE, RED, BLUE)),
        (6, (1600, 1200), (360, 480), (RED, RED, BLUE, BLUE)),  # a quarter turn clockwise
        (8, (1600, 1200), (360, 480), (BLUE, BLUE, RED, RED)),  # a quarter turn anticlockwise
        (3, (1200, 1600), (360, 480), (BLUE, RED, BLUE, RED)),  # upside down
    ],
)  # fmt: skip
def test_thumbnail_is_a_small_upright_jpeg_without_metadata(
    signed_in: FlaskClient,
    make_submission: MakeSubmission,
    tmp_path: Path,
    orientation: int,
    size: tuple[int, int],
    expected: tuple[int, int],
    corners: tuple[tuple[int, int, int], ...],
) -> None:
    data = tagged_jpeg(tmp_path, size, orientation)
    filed = make_submission(files=[jpeg_file(data=data)])
    response = signed_in.get(thumbnail_url(filed))
    assert response.status_code == 200
    assert len(response.data) < len(data) / 4
    thumb = Image.open(io.BytesIO(response.data))
    assert thumb.format == "JPEG"
    assert thumb.size == expected and max(thumb.size) <= thumbnails.MAX_SIDE
    assert thumb.getexif() == {} and "icc_profile" not in thumb.info
    pixels = thumb.convert("RGB")
    w, h = thumb.size
    for (x, y), colour in zip(
        [(5, 5), (w - 6, 5), (5, h - 6), (w - 6, h - 6)], corners, strict=True
    ):
        assert all(abs(a - b) < 40 for a, b in zip(pixels.getpixel((x, y)), colour, strict=True))
    out = tmp_path / "thumbnail.jpg"
    out.write_bytes(response.data)
    assert leaks(out) == []
    # exiftool files a JPEG comment (COM) under its neutral "File" group, which the
    # oracle skips: check it here.
    assert "comment" not in thumb.info and b"Juan" not in response.data
    # The page's size comes from the header alone and matches what is served.
    assert thumbnails.thumbnail_size(io.BytesIO(filed.plain[filed.file_ids[0]])) == expected


def test_thumbnail_answers_carry_the_safe_headers(
    signed_in: FlaskClient, make_submission: MakeSubmission
) -> None:
    filed = make_submission(files=[jpeg_file()])
    for response in (signed_in.get(thumbnail_url(filed)), signed_in.head(thumbnail_url(filed))):
        assert response.status_code == 200
        assert_file_headers(response)  # sandboxed, never sniffed, never cached
        assert response.mimetype == "image/jpeg"
        kind, options = parse_options_header(response.headers["Content-Disposition"])
        assert (kind, options["filename"]) == ("inline", "file-1-small.jpg")


def test_thumbnail_needs_a_signed_in_editor(
    inbox_app: Flask, make_submission: MakeSubmission
) -> None:
    filed = make_submission(files=[jpeg_file()])
    response = inbox_app.test_client().get(thumbnail_url(filed))
    assert response.status_code == 302 and response.location.startswith("/inbox/login")
    assert response.mimetype != "image/jpeg"


def test_only_images_of_that_submission_have_thumbnails(
    signed_in: FlaskClient, make_submission: MakeSubmission
) -> None:
    filed = make_submission(files=[jpeg_file(), pdf_file()])
    other = make_submission(files=[jpeg_file()])
    assert signed_in.get(thumbnail_url(filed, 1)).status_code == 404  # a document
    assert signed_in.get(f"/inbox/s/{other.id}/f/{filed.file_ids[0]}/thumbnail").status_code == 404
    assert signed_in.get(f"/inbox/s/{filed.id}/f/{'0' * 32}/thumbnail").status_code == 404


def test_an_image_beyond_the_pixel_bound_or_unreadable_gets_no_thumbnail(
    signed_in: FlaskClient, make_submission: MakeSubmission
) -> None:
    small = png_bytes(Image.new("RGB", (8, 8), "green"))
    side = int(Limits().max_pixels ** 0.5) + 1
    huge = claiming_size(small, side, side)
    with pytest.warns(Image.DecompressionBombWarning):  # Pillow notices it too
        assert Image.open(io.BytesIO(huge)).size == (side, side)
    png = FileSpec(huge, "image", "PNG", "image/png", "png")
    broken = FileSpec(b"\xff\xd8\xff\xe0 not really a JPEG", "image", "JPEG", "image/jpeg", "jpg")
    filed = make_submission(files=[png, broken])
    for index in (0, 1):
        assert signed_in.get(thumbnail_url(filed, index)).status_code == 404
    # The page still opens, linking to the whole images instead of previewing them.
    page = signed_in.get(f"/inbox/s/{filed.id}").get_data(as_text=True)
    assert "<img" not in page
    for file_id in filed.file_ids:
        assert f'href="/inbox/s/{filed.id}/f/{file_id}/inline"' in page


def test_the_bound_is_the_cleaners_pixel_limit(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    path.write_bytes(png_bytes(Image.new("RGB", (40, 30), "green")))
    assert Image.open(
        io.BytesIO(thumbnails.make_thumbnail(path, Limits(max_pixels=1200)))
    ).size == (40, 30)
    with pytest.raises(thumbnails.NoThumbnail):
        thumbnails.make_thumbnail(path, Limits(max_pixels=1199))
    assert thumbnails.thumbnail_size(path, Limits(max_pixels=1199)) is None


def test_transparency_becomes_white(
    signed_in: FlaskClient, make_submission: MakeSubmission
) -> None:
    clear = png_bytes(Image.new("RGBA", (40, 30), (0, 0, 0, 0)))
    filed = make_submission(files=[FileSpec(clear, "image", "PNG", "image/png", "png")])
    thumb = Image.open(io.BytesIO(signed_in.get(thumbnail_url(filed)).data))
    assert thumb.size == (40, 30)  # never enlarged
    assert thumb.convert("RGB").getpixel((20, 15)) == (255, 255, 255)


def test_page_shows_thumbnails_sized_and_linked_and_made_once(
    signed_in: FlaskClient, make_submission: MakeSubmission, tmp_path: Path
) -> None:
    wide = jpeg_file(data=tagged_jpeg(tmp_path, (1600, 1200), 6))
    filed = make_submission(files=[wide, jpeg_file()])
    before = sorted(filed.folder.iterdir())
    signed_in.get("/inbox/language/es")
    page = signed_in.get(f"/inbox/s/{filed.id}").get_data(as_text=True)
    images = re.findall(r"<img [^>]*>", page)
    assert len(images) == 2
    # Shown within 384x288 CSS pixels, upright: the portrait photo is 216x288.
    for tag, (width, height), number in zip(images, [(216, 288), (16, 12)], (1, 2), strict=True):
        assert f'src="{thumbnail_url(filed, number - 1)}"' in tag
        assert f'width="{width}" height="{height}"' in tag
        assert f'alt="Imagen {number}"' in tag
        served = Image.open(io.BytesIO(signed_in.get(thumbnail_url(filed, number - 1)).data))
        assert served.width * height == pytest.approx(served.height * width, rel=0.01)
        # The whole image stays one tap away, and downloadable.
        inline = f"/inbox/s/{filed.id}/f/{filed.file_ids[number - 1]}/inline"
        assert f'<a href="{inline}"><img' in page
        assert f'href="/inbox/s/{filed.id}/f/{filed.file_ids[number - 1]}" download' in page
    # Filed before thumbnails were stored: each was made once, beside its image,
    # and recorded; asking again writes nothing more.
    made = sorted(set(filed.folder.iterdir()) - set(before))
    assert len(made) == 2 and all(p.suffix == ".age" for p in made)  # encrypted
    assert all(p.read_bytes().startswith(age.INTRO) for p in made)
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in made)
    signed_in.get(f"/inbox/s/{filed.id}")
    for number in (0, 1):
        signed_in.get(thumbnail_url(filed, number))
    assert sorted(filed.folder.iterdir()) == sorted([*before, *made])


def _filed_through_the_form(inbox_app: Flask, files: list[tuple[bytes, str]]):
    """File a tip as a tipster does (the public form), in the inbox's app."""
    from tests.public.helpers import post_tip

    client = inbox_app.test_client()
    assert post_tip(client, "en", note="n", files=files).status_code == 200
    with inbox_app.app_context():
        submission = db.session.scalars(select(Submission)).one()
        rows = [(f.id, f.stored_name, f.thumbnail_name) for f in submission.files]
        return submission.id, rows


def test_thumbnails_are_made_when_filed_and_then_only_read(
    inbox_app: Flask, signed_in: FlaskClient, tmp_path: Path
) -> None:
    """A 100-megapixel PNG of 389 KB cost 7 s and 1.6 GB on every request."""
    photo = tagged_jpeg(tmp_path, (1600, 1200), 6)
    submission_id, rows = _filed_through_the_form(inbox_app, [(photo, "IMG_1.jpg")])
    ((file_id, stored_name, thumbnail_name),) = rows
    folder = inbox_app.config["PORTAL_SETTINGS"].data_dir / "submissions" / submission_id
    assert thumbnail_name and thumbnail_name != stored_name
    assert sorted(p.name for p in folder.iterdir()) == sorted([stored_name, thumbnail_name])
    stored = folder / thumbnail_name
    assert stored.stat().st_mode & 0o777 == 0o600
    assert stored.read_bytes().startswith(age.INTRO)  # encrypted like the file itself
    with inbox_app.app_context():
        key_id = db.session.get(StoredFile, file_id).key_id
        plain = ensure_inbox(inbox_app).decrypt(stored.read_bytes(), key_id)
    clear = tmp_path / "thumbnail.jpg"
    clear.write_bytes(plain)
    assert leaks(clear) == []
    assert Image.open(clear).size == (360, 480)  # upright
    # The request reads that small file: the full image is not even opened.
    (folder / stored_name).write_bytes(b"not an image any more")
    response = signed_in.get(f"/inbox/s/{submission_id}/f/{file_id}/thumbnail")
    assert response.status_code == 200
    assert response.data == plain
    page = signed_in.get(f"/inbox/s/{submission_id}").get_data(as_text=True)
    assert 'width="216" height="288"' in page  # from the thumbnail's header


def test_an_image_without_a_possible_thumbnail_is_marked(
    tmp_path: Path, signed_in: FlaskClient, make_submission: MakeSubmission
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    path = folder / "small.png"
    path.write_bytes(png_bytes(Image.new("RGB", (40, 30), "green")))
    recipient = age.Identity.generate().recipient
    assert thumbnails.write_thumbnail(path, folder, recipient, Limits(max_pixels=1199)) == ""
    assert [p.name for p in folder.iterdir()] == ["small.png"]  # nothing written
    # Marked so: the page links to the image and never tries again.
    spec = FileSpec(path.read_bytes(), "image", "PNG", "image/png", "png", thumbnail_name="")
    filed = make_submission(files=[spec])
    assert signed_in.get(thumbnail_url(filed)).status_code == 404
    page = signed_in.get(f"/inbox/s/{filed.id}").get_data(as_text=True)
    assert "<img" not in page and "No preview of this image" in page
    assert len(list(filed.folder.iterdir())) == 1
