"""Serving tipsters' cleaned files to editors, treating them as hostile.

Every file response is an attachment, except the inline endpoint used by players and
for viewing a whole image, which serves only images, video and audio, and the small
JPEG previews of images made by :mod:`portal.inbox.thumbnails`. The type comes from the
cleaner's sniffing (``StoredFile.mime``), never from a name, and is never one a
browser would run (HTML, XML, SVG, scripts). Each response forbids sniffing and
carries a sandboxing Content-Security-Policy. Names are generated: ``file-1.jpg``.

A thumbnail is read from the small file made when the submission was filed; one filed
before thumbnails were stored gets its thumbnail made and recorded on first request,
one image at a time per worker, so a page of twenty old photos does not decode twenty
at once.
"""

from __future__ import annotations

import re
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

from flask import Blueprint, Response, abort, send_file

from portal import storage
from portal.cleaning import Kind
from portal.config import Settings
from portal.inbox import thumbnails
from portal.models import StoredFile, Submission, db, is_id

FILE_CSP = "default-src 'none'; sandbox"
FALLBACK_MIME = "application/octet-stream"
INLINE_PREFIXES = {Kind.IMAGE: "image/", Kind.VIDEO: "video/", Kind.AUDIO: "audio/"}
#: the date every member of a zip carries: the archive says nothing about when
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
CHUNK = 1024 * 1024

_MIME = re.compile(r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$")
_ACTIVE = ("html", "javascript", "ecmascript", "svg", "xsl")


def safe_mime(mime: str) -> str:
    """The sniffed type if no browser would execute or render it as a page."""
    value = (mime or "").split(";", 1)[0].strip().lower()
    if (
        not _MIME.match(value)
        or any(word in value for word in _ACTIVE)
        or value in {"text/xml", "application/xml", "text/css", "multipart/x-mixed-replace"}
        or value.endswith("+xml")
    ):
        return FALLBACK_MIME
    return value


def download_name(number: int, extension: str) -> str:
    ext = extension.lower() if storage.is_safe_extension(extension.lower()) else "bin"
    return f"file-{number}.{ext}"


def harden(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


class _Sink:
    """A write-only, unseekable stream that hands back what was written since the
    last call to :meth:`take`; zipfile writes data descriptors for such streams."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def stream_zip(entries: list[tuple[Path, str, int]]) -> Iterator[bytes]:
    """A zip of ``(path, name, size)`` entries, produced chunk by chunk. Members are
    stored (the media are compressed already) with a fixed date and mode."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[arg-type]
        for path, name, size in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = 0o600 << 16
            info.file_size = size
            with path.open("rb") as src, archive.open(info, "w") as dst:
                while chunk := src.read(CHUNK):
                    dst.write(chunk)
                    if data := sink.take():
                        yield data
            if data := sink.take():
                yield data
    yield sink.take()


def register(bp: Blueprint, settings: Settings) -> None:
    #: one lazily made thumbnail at a time in this worker (old filings only)
    making_thumbnail = threading.Lock()

    def thumbnail_of(stored: StoredFile, path: Path) -> Path | None:
        """The stored thumbnail of an image, made now if its filing predates them."""
        folder = path.parent
        if stored.thumbnail_name is None:
            with making_thumbnail:
                db.session.refresh(stored)  # another request may have made it meanwhile
                if stored.thumbnail_name is None:
                    stored.thumbnail_name = thumbnails.write_thumbnail(path, folder)
                    db.session.commit()
        if not stored.thumbnail_name:
            return None
        thumbnail = storage.stored_file_path(
            settings.data_dir, stored.submission_id, stored.thumbnail_name
        )
        return thumbnail if thumbnail.is_file() else None

    def find(submission_id: str, file_id: str) -> tuple[StoredFile, int, Path]:
        if not (is_id(submission_id) and is_id(file_id)):
            abort(404)
        stored = db.session.get(StoredFile, file_id)
        if stored is None or stored.submission_id != submission_id:
            abort(404)
        number = next(
            i for i, f in enumerate(stored.submission.files, start=1) if f.id == stored.id
        )
        path = storage.stored_file_path(settings.data_dir, submission_id, stored.stored_name)
        if not path.is_file():
            abort(404)
        return stored, number, path

    def serve(stored: StoredFile, number: int, path: Path, inline: bool) -> Response:
        response = send_file(
            path,
            mimetype=safe_mime(stored.mime),
            as_attachment=not inline,
            download_name=download_name(number, stored.extension),
            conditional=True,  # byte ranges, so players can seek
            max_age=0,
        )
        return harden(response)

    @bp.get("/s/<submission_id>/f/<file_id>")
    def download(submission_id: str, file_id: str):
        stored, number, path = find(submission_id, file_id)
        return serve(stored, number, path, inline=False)

    @bp.get("/s/<submission_id>/f/<file_id>/inline")
    def inline(submission_id: str, file_id: str):
        stored, number, path = find(submission_id, file_id)
        prefix = INLINE_PREFIXES.get(stored.kind)
        if prefix is None or not safe_mime(stored.mime).startswith(prefix):
            abort(404)
        return serve(stored, number, path, inline=True)

    @bp.get("/s/<submission_id>/f/<file_id>/thumbnail")
    def thumbnail(submission_id: str, file_id: str):
        stored, number, path = find(submission_id, file_id)
        if stored.kind != Kind.IMAGE:
            abort(404)
        thumbnail = thumbnail_of(stored, path)
        if thumbnail is None:
            abort(404)
        response = send_file(
            thumbnail,
            mimetype="image/jpeg",
            download_name=f"file-{number}-small.jpg",
            conditional=True,
            max_age=0,
        )
        return harden(response)

    @bp.get("/s/<submission_id>/files.zip")
    def download_all(submission_id: str):
        if not is_id(submission_id):
            abort(404)
        submission = db.session.get(Submission, submission_id)
        if submission is None or not submission.files:
            abort(404)
        entries = []
        for number, stored in enumerate(submission.files, start=1):
            path = storage.stored_file_path(settings.data_dir, submission.id, stored.stored_name)
            if not path.is_file():
                abort(404)
            entries.append((path, download_name(number, stored.extension), path.stat().st_size))
        response = Response(stream_zip(entries), mimetype="application/zip")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="submission-{submission.id[:8]}.zip"'
        )
        return harden(response)
