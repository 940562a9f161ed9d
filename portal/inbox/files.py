"""Serving tipsters' cleaned files to editors, treating them as hostile.

Every file response is an attachment, except the inline endpoint used by players and
for viewing a whole image, which serves only images, video and audio, and the small
JPEG previews of images made by :mod:`portal.inbox.thumbnails`. The type comes from the
cleaner's sniffing (``StoredFile.mime``), never from a name, and is never one a
browser would run (HTML, XML, SVG, scripts). Each response forbids sniffing and
carries a sandboxing Content-Security-Policy. Names are generated: ``file-1.jpg``.

Stored files are age files (:mod:`portal.crypto.age`); each response decrypts with the
signed-in editor's keyring as it streams, one 64 KiB chunk at a time, so memory stays
flat whatever the size. A range request (players seeking) starts decrypting at the
chunk that holds its first byte. Plaintext never touches the disk here.

A thumbnail is decrypted from the small age file made when the submission was filed.
One filed before thumbnails were stored gets its thumbnail made (from the image
decrypted as it is read), encrypted, stored and recorded on first request, one image
at a time per worker, so a page of twenty old photos does not decode twenty at once.
"""

from __future__ import annotations

import functools
import io
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from flask import Blueprint, Response, abort, request
from werkzeug.wsgi import FileWrapper

from portal import storage
from portal.cleaning import Kind
from portal.config import Settings
from portal.crypto import age
from portal.crypto.keyring import Keyring, NoInboxKey, current_key
from portal.inbox import thumbnails
from portal.inbox.auth import current_keyring
from portal.models import StoredFile, Submission, db, is_id

FILE_CSP = "default-src 'none'; sandbox"
FALLBACK_MIME = "application/octet-stream"
INLINE_PREFIXES: dict[str, str] = {Kind.IMAGE: "image/", Kind.VIDEO: "video/", Kind.AUDIO: "audio/"}
#: the date every member of a zip carries: the archive says nothing about when
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
CHUNK = age.CHUNK

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

    def close(self) -> None:
        pass  # ZipFile never closes a stream it was given; typeshed wants the method

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def open_plain(stored: StoredFile, path: Path, keyring: Keyring | None = None) -> BinaryIO:
    """The plaintext of a stored file, a seekable file decrypted as it is read (with
    the signed-in editor's keyring unless another is given)."""
    keyring = keyring or current_keyring()
    source = path.open("rb")
    try:
        plain = age.PlainFile(keyring.reader(source, stored.key_id))
        return io.BufferedReader(plain, buffer_size=CHUNK)
    except BaseException:
        source.close()
        raise


def stream_zip(entries: list[tuple[Callable[[], BinaryIO], str, int]]) -> Iterator[bytes]:
    """A zip of ``(open, name, size)`` entries, produced chunk by chunk; ``open``
    gives a member's plaintext. Members are stored (the media are compressed
    already) with a fixed date and mode."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for opener, name, size in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = 0o600 << 16
            info.file_size = size
            with opener() as src, archive.open(info, "w") as dst:
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

    def make_missing_thumbnail(stored: StoredFile, path: Path) -> bytes | None:
        """For an image filed before thumbnails were stored: make its thumbnail,
        store it encrypted to the file's own key (when that is the current one, so
        that a key rotation finds the two together) and record it; the JPEG."""
        with making_thumbnail:
            db.session.refresh(stored)  # another request may have made it meanwhile
            if stored.thumbnail_name is not None:
                return None
            with open_plain(stored, path) as plain:
                data = thumbnails.make_thumbnail(plain)
            try:
                key_id, recipient = current_key()
            except NoInboxKey:
                return data
            if key_id == stored.key_id:
                with io.BytesIO(data) as image:
                    name = thumbnails.write_thumbnail(image, path.parent, recipient)
                storage.fsync_dir(path.parent)  # before the row names it
                stored.thumbnail_name = name
                db.session.commit()
            return data

    def thumbnail_of(stored: StoredFile, path: Path) -> bytes:
        """The JPEG thumbnail of a stored image. Raises NoThumbnail or AgeError."""
        if stored.thumbnail_name is None:
            made = make_missing_thumbnail(stored, path)
            if made is not None:
                return made
        if not stored.thumbnail_name:
            raise thumbnails.NoThumbnail("none can be made")
        name = stored.thumbnail_name
        thumbnail = storage.stored_file_path(settings.data_dir, stored.submission_id, name)
        if not thumbnail.is_file():
            raise thumbnails.NoThumbnail("its file is missing")
        with open_plain(stored, thumbnail) as plain:
            return plain.read()

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
        try:
            plain = open_plain(stored, path)
        except age.AgeError:
            abort(404)
        response = Response(
            FileWrapper(plain, CHUNK),  # seekable: a range starts at its own chunk
            mimetype=safe_mime(stored.mime),
            direct_passthrough=True,
        )
        response.content_length = stored.size
        disposition = "inline" if inline else "attachment"
        name = download_name(number, stored.extension)
        response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
        response.set_etag(f"{stored.id}-{stored.key_id}")
        response.last_modified = stored.submission.created_at
        response.cache_control.no_cache = True
        # Byte ranges, so players can seek; 304 for a repeated request.
        response.make_conditional(request, accept_ranges=True, complete_length=stored.size)
        return harden(response)

    @bp.get("/s/<submission_id>/f/<file_id>")
    def download(submission_id: str, file_id: str) -> Response:
        stored, number, path = find(submission_id, file_id)
        return serve(stored, number, path, inline=False)

    @bp.get("/s/<submission_id>/f/<file_id>/inline")
    def inline(submission_id: str, file_id: str) -> Response:
        stored, number, path = find(submission_id, file_id)
        prefix = INLINE_PREFIXES.get(stored.kind)
        if prefix is None or not safe_mime(stored.mime).startswith(prefix):
            abort(404)
        return serve(stored, number, path, inline=True)

    @bp.get("/s/<submission_id>/f/<file_id>/thumbnail")
    def thumbnail(submission_id: str, file_id: str) -> Response:
        stored, number, path = find(submission_id, file_id)
        if stored.kind != Kind.IMAGE:
            abort(404)
        try:
            data = thumbnail_of(stored, path)
        except (thumbnails.NoThumbnail, age.AgeError):
            abort(404)
        response = Response(data, mimetype="image/jpeg")
        response.headers["Content-Disposition"] = f'inline; filename="file-{number}-small.jpg"'
        return harden(response)

    @bp.get("/s/<submission_id>/files.zip")
    def download_all(submission_id: str) -> Response:
        if not is_id(submission_id):
            abort(404)
        submission = db.session.get(Submission, submission_id)
        if submission is None or not submission.files:
            abort(404)
        # Taken now: the zip is produced after the view returns, outside the request.
        keyring = current_keyring()
        entries: list[tuple[Callable[[], BinaryIO], str, int]] = []
        for number, stored in enumerate(submission.files, start=1):
            path = storage.stored_file_path(settings.data_dir, submission.id, stored.stored_name)
            if not path.is_file():
                abort(404)
            opener = functools.partial(open_plain, stored, path, keyring)
            entries.append((opener, download_name(number, stored.extension), stored.size))
        response = Response(stream_zip(entries), mimetype="application/zip")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="submission-{submission.id[:8]}.zip"'
        )
        return harden(response)
