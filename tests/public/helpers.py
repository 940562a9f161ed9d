"""Helpers for the tipster-side tests: tokens, multipart bodies, generated files."""

from __future__ import annotations

import io
import re
import secrets
from pathlib import Path

from flask.testing import FlaskClient
from PIL import Image

from portal.config import Settings
from tests.exiftool_oracle import write_tags

#: each language's tag in <html lang>: Spanish pages are Mexican Spanish (portal.i18n)
HTML_LANG = {"en": "en", "es": "es-MX"}

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, lang: str = "en") -> str:
    page = client.get(f"/{lang}/").get_data(as_text=True)
    match = _TOKEN.search(page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def token_in(page: str) -> str:
    match = _TOKEN.search(page)
    assert match
    return match.group(1)


def post_tip(
    client: FlaskClient,
    lang: str = "en",
    *,
    note: str = "",
    links: str = "",
    contact: str = "",
    files: list[tuple[bytes, str]] = (),
    token: str | None = None,
    **extra: str,
):
    data: dict[str, object] = {
        "csrf_token": csrf_token(client, lang) if token is None else token,
        "note": note,
        "links": links,
        "contact": contact,
        "homepage": "",
        **extra,
    }
    data["files"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post(f"/{lang}/", data=data, content_type="multipart/form-data")


def multipart(
    fields: list[tuple[str, str]],
    files: list[tuple[str, bytes, str]] = (),
    after: list[tuple[str, str]] = (),
) -> tuple[bytes, str]:
    """A multipart/form-data body built by hand, as a browser sends it: ``fields``,
    then ``files``, then the ``after`` fields."""
    boundary = "----portaltest" + secrets.token_hex(8)
    out = io.BytesIO()

    def field(name: str, value: str) -> None:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")

    for name, value in fields:
        field(name, value)
    for name, content, filename in files:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        )
        out.write(content + b"\r\n")
    for name, value in after:
        field(name, value)
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def png_bytes(size: tuple[int, int] = (16, 16), colour: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def tagged_jpeg(folder: Path) -> bytes:
    """A JPEG carrying GPS, camera make/model, author, date taken and software,
    written by exiftool (an independent writer)."""
    path = folder / "tagged.jpg"
    Image.new("RGB", (64, 48), "navy").save(path, "JPEG", quality=85)
    write_tags(
        path,
        "-GPSLatitude=31.7619",
        "-GPSLatitudeRef=N",
        "-GPSLongitude=106.4850",
        "-GPSLongitudeRef=W",
        "-Make=MarkerPhoneMaker",
        "-Model=MarkerModel X",
        "-Artist=Tipster Real Name",
        "-DateTimeOriginal=2026:11:01 10:20:30",
        "-Software=MarkerEditor 9",
    )
    return path.read_bytes()


def host_temp_dir(data_dir: Path) -> Path:
    """The temporary folder of this host's processes serving ``data_dir`` (with no
    ``PORTAL_TMP_DIR``): tmp/<host>/."""
    return Settings(data_dir=data_dir).temp_dir


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def submission_state(data_dir: Path) -> tuple[list[str], list[Path]]:
    """(submission folders, entries in this host's temporary folder)."""
    subs = data_dir / "submissions"
    tmp = host_temp_dir(data_dir)
    folders = sorted(p.name for p in subs.iterdir()) if subs.exists() else []
    stray = files_under(tmp) + ([p for p in tmp.iterdir()] if tmp.exists() else [])
    return folders, sorted(set(stray))
