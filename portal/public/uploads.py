"""Receiving uploads without holding them in memory.

:class:`UploadRequest` replaces Flask's request class. Werkzeug's multipart parser
asks it for a stream for every file part; each file goes straight to its own 0600
file under ``tmp/`` with a generated name, and its bytes are counted as they arrive:

* one file larger than ``max_file_size`` stops the parse at once
  (:class:`FileTooLarge`, a 413);
* the whole body is capped by ``MAX_CONTENT_LENGTH`` (Werkzeug checks the declared
  length before reading and counts while streaming), and any body that is not
  ``multipart/form-data`` by ``MAX_FORM_MEMORY_SIZE``: Werkzeug reads a form-encoded
  body whole into memory, so only multipart bodies, parsed as they stream, may be
  large;
* files beyond ``max_files`` are not written anywhere and the form reports it.

The client's file name is looked at only to tell "a file was chosen" from "the
empty part a browser sends for an unused file input"; it is never stored.
The files of one request live in its own :class:`~portal.storage.WorkFolder`, which
is deleted when the request ends, whatever happened; if the process dies instead,
the folder's lock goes with it and :mod:`portal.housekeeping` removes the folder.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path
from typing import IO, Any

from flask import Request, current_app
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, ServiceUnavailable
from werkzeug.wsgi import LimitedStream

from portal.config import Settings
from portal.storage import WorkFolder, tmp_root

#: read unit when throwing away the rest of a refused body
_DRAIN_CHUNK = 1024 * 1024
#: a refused body is read to its end (so the client sees the reply rather than a reset
#: connection) only if it declares at most this many times the submission limit
DRAIN_FACTOR = 2


class FileTooLarge(RequestEntityTooLarge):
    """One file is larger than ``max_file_size``."""


class OutOfSpace(ServiceUnavailable):
    """The disk (or the portal's quota) is full: nothing of this tip could be kept."""


_OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_out_of_space(exc: BaseException | None) -> bool:
    """Whether ``exc``, or an exception it was raised from, says the disk is full."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError) and exc.errno in _OUT_OF_SPACE:
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


class TempUpload:
    """One uploaded file being written to a private temporary file.

    Werkzeug calls :meth:`write` with each piece and :meth:`seek` at the end of the
    part; nothing reads it back through this object (the cleaner opens ``path``).
    """

    def __init__(self, folder: Path, max_size: int) -> None:
        self.path = folder / f"upload-{secrets.token_hex(16)}"
        self.max_size = max_size
        self.size = 0
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._fh: IO[bytes] | None = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.max_size:
            self.discard()
            raise FileTooLarge()
        if self._fh is None:
            raise ValueError("upload already finished")
        return self._fh.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        # The end of the part: nothing more will be written.
        self._finish()
        return 0

    def read(self, size: int = -1) -> bytes:
        return b""

    def _finish(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def close(self) -> None:
        self._finish()

    def discard(self) -> None:
        """Close and delete the temporary file (safe to call more than once)."""
        self._finish()
        self.path.unlink(missing_ok=True)


class _Discard:
    """A sink for file parts that are not kept (no file chosen, or too many files)."""

    def write(self, data: bytes) -> int:
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def read(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


class UploadRequest(Request):
    """Flask's request, with file parts streamed to private temporary files."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: files received, in the order they arrived (position 1, 2, ...)
        self.uploads: list[TempUpload] = []
        #: more file parts arrived than ``max_files``; the extra ones were dropped
        self.too_many_files = False
        self._file_parts = 0
        self._work: WorkFolder | None = None

    def work_folder(self) -> Path:
        """This request's private folder under tmp/ (made on first use)."""
        if self._work is None:
            settings: Settings = current_app.config["PORTAL_SETTINGS"]
            self._work = WorkFolder(tmp_root(settings.data_dir, settings.temp_dir))
        return self._work.path

    @property
    def max_content_length(self) -> int | None:
        limit: int | None = Request.max_content_length.fget(self)  # type: ignore[attr-defined]
        if self.mimetype == "multipart/form-data":
            return limit
        small: int = current_app.config["MAX_FORM_MEMORY_SIZE"]
        return small if limit is None else min(limit, small)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        Request.max_content_length.fset(self, value)  # type: ignore[attr-defined]

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        settings: Settings = current_app.config["PORTAL_SETTINGS"]
        if not filename:
            return _Discard()  # type: ignore[return-value]
        self._file_parts += 1
        if self._file_parts > settings.max_files:
            self.too_many_files = True
            return _Discard()  # type: ignore[return-value]
        upload = TempUpload(self.work_folder(), settings.max_file_size)
        self.uploads.append(upload)
        return upload  # type: ignore[return-value]

    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
            if self.mimetype != "multipart/form-data":
                _refuse_if_cut(self.stream)
        except Exception as exc:
            # Never parse again from a half-read body: later readers see an empty form.
            self.__dict__.setdefault("form", self.parameter_storage_class())
            self.__dict__.setdefault("files", MultiDict())
            self.discard_uploads()
            if is_out_of_space(exc):
                raise OutOfSpace() from exc
            raise

    def discard_uploads(self) -> None:
        for upload in self.uploads:
            upload.discard()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.discard_uploads()
            if self._work is not None:
                self._work.remove()


def _refuse_if_cut(stream: IO[bytes]) -> None:
    """Werkzeug reads a chunked form-encoded body up to the limit and quietly parses
    what it got; one byte more means the body was longer than allowed (a 413)."""
    if isinstance(stream, LimitedStream) and stream.is_exhausted:
        stream.read(1)  # raises RequestEntityTooLarge when the limit is a maximum


def drain(request: Request, limit: int) -> bool:
    """Read and throw away what the client is still sending, so that it receives
    the reply instead of a reset connection. Gives up (returns False) on a body
    declared longer than ``limit``, or one without a declared length that runs past
    the submission limit."""
    declared = request.content_length
    if declared is not None and declared > limit:
        return False
    try:
        stream: IO[bytes] = request.stream
    except RequestEntityTooLarge:
        # Declared larger than MAX_CONTENT_LENGTH: Werkzeug refused before reading.
        if declared is None:
            return False
        stream = LimitedStream(request.environ["wsgi.input"], declared)  # type: ignore[assignment]
    try:
        while stream.read(_DRAIN_CHUNK):
            pass
    except (HTTPException, OSError, ValueError):
        return False
    return True
