"""Encrypting a cleaner's output while the cleaner is still writing it.

Filing stores only age files. Cleaning writes a plaintext file, which the registry
reads back as its safety net; encrypting that file afterwards reads and writes every
byte once more, which for a big video is most of what encryption costs. A family that
can write through a file object (the media family: FFmpeg's muxers write through
Python) is given an :class:`EncryptingOutput` instead: every write lands in the
plaintext file as before, and chunks far enough behind the furthest write are sealed
into the age file by a helper process (:mod:`portal.crypto.sealer`) while the muxer
goes on.

Muxers go back to patch what they wrote: a box size near the start, an index or a
user-data box near the end. So chunk 0 is sealed last, and any other chunk only once
``window`` bytes have been written after it. A write into a chunk already sealed, a
truncation, a change to the plaintext file that did not come through this object, or
a helper that fails for any reason but a full disk *spoils* the stream: a sealed
chunk is never sealed again (its nonce is its index),
:meth:`EncryptingOutput.finish` returns None, and the caller encrypts the finished
plaintext file the ordinary way. Either way the age file holds exactly the bytes of
the plaintext file the registry checked.

The public side holds no key that decrypts: this writes to the inbox's public key,
and the plaintext lives in the request's temporary folder as it did before.
"""

from __future__ import annotations

import os
from pathlib import Path

from portal.crypto import age
from portal.crypto.sealer import OUT_OF_SPACE, SealerProcess
from portal.crypto.sealing import BATCH, Batches, SealedFile, batch_ranges
from portal.storage import part_path

#: bytes written after a chunk before it is sealed: room for a muxer's patches
WINDOW = 16 * 1024 * 1024


class EncryptingOutput:
    """A readable, writable, seekable file for a cleaner's output at ``plain``,
    encrypted to ``recipient`` into ``target`` as it is written."""

    def __init__(
        self, plain: Path, target: Path, recipient: age.Recipient, *, window: int = WINDOW
    ) -> None:
        if window < age.CHUNK:
            raise ValueError("the window must hold a chunk")
        self._target = target
        self._part = part_path(target)
        self._window = window
        self._plain = os.open(plain, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self._sealer = age.ChunkSealer([recipient])
        try:
            self._out = SealedFile.create(self._part, self._sealer)
        except BaseException:
            os.close(self._plain)
            raise
        self._helper: SealerProcess | None = None  # started once a batch is ready
        self._position = 0
        self._high = 0  # the furthest byte written
        self._next = 1  # the next chunk to seal; chunk 0 waits for finish()
        self._stamp: tuple[int, int] | None = None  # size and mtime after our last write
        self.spoiled = False
        self._done = False
        self._closed = False

    # -- the file interface FFmpeg (through PyAV) and the cleaners use -------------

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._plain

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._high}
        position = base[whence] + offset
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = max(0, self._high - self._position)
        data = os.pread(self._plain, size, self._position)
        self._position += len(data)
        return data

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        start = self._position
        written = 0
        while written < len(view):
            written += os.pwrite(self._plain, view[written:], start + written)
        end = start + written
        if written and not self.spoiled:
            touched_first = max(1, start // age.CHUNK)
            if end > age.CHUNK and touched_first < self._next:
                self.spoiled = True  # a sealed chunk changed
        self._position = end
        self._high = max(self._high, end)
        self._stamp = self._file_stamp()
        if not self.spoiled:
            self._seal_behind()
        return written

    def truncate(self, size: int | None = None) -> int:
        size = self._position if size is None else size
        os.ftruncate(self._plain, size)
        if size < self._high and self._high > 0:
            self.spoiled = True
        self._high = size
        self._stamp = self._file_stamp()
        return size

    def flush(self) -> None:
        pass

    # -- sealing -------------------------------------------------------------------

    def _file_stamp(self) -> tuple[int, int]:
        stat = os.fstat(self._plain)
        return stat.st_size, stat.st_mtime_ns

    def _seal_behind(self) -> None:
        ready = max(0, self._high - self._window) // age.CHUNK
        try:
            while self._next + BATCH <= ready:
                if self._helper is None:
                    descriptors = self._out.descriptors
                    self._helper = SealerProcess(self._sealer, self._plain, *descriptors)
                self._helper.submit(self._next, self._next + BATCH, last=False)
                self._next += BATCH
        except OSError as exc:
            self._helper_failed(exc)

    def _helper_failed(self, exc: OSError) -> None:
        """A helper that could not start or went away: a full disk is the caller's to
        hear about; anything else only abandons the stream (the plaintext is whole,
        and the caller encrypts it the ordinary way)."""
        if exc.errno in OUT_OF_SPACE:
            raise exc
        self.spoiled = True
        if self._helper is not None:
            self._helper.kill()
            self._helper = None

    def finish(self) -> int | None:
        """Seal what is left, make the age file last and put it at ``target``: the
        plaintext size. None, with nothing at ``target``, if the stream was spoiled:
        the caller then encrypts the plaintext file itself."""
        try:
            if self.spoiled or self._file_stamp() != self._stamp:
                return None
            size = self._high
            chunks = age.chunk_count(size)
            rest = list(batch_ranges(self._next, chunks))
            if self._helper is not None:
                try:
                    for first, stop, last in rest:
                        self._helper.submit(first, stop, last=last)
                    self._helper.finish()
                except OSError as exc:
                    self._helper_failed(exc)
                    return None
                self._helper = None
            elif rest:  # a short file: the muxer is done, threads of ours are free
                batches = Batches(self._sealer, self._plain, self._out)
                try:
                    for first, stop, last in rest:
                        batches.submit(first, stop, last=last)
                    batches.wait()
                finally:
                    batches.close()
            self._put_chunk_zero(last=chunks == 1)
            self._out.finish(size)
            os.replace(self._part, self._target)
            self._done = True
            return size
        finally:
            self.discard()

    def _put_chunk_zero(self, last: bool) -> None:
        plain = os.pread(self._plain, age.CHUNK, 0)
        if not last and len(plain) != age.CHUNK:
            raise OSError("the plaintext file changed while it was sealed")
        self._out.seal_and_put(0, plain, last)

    def discard(self) -> None:
        """Stop, and remove the age file unless :meth:`finish` put it in place. The
        plaintext file is the caller's to remove."""
        if self._closed:
            return
        self._closed = True
        if self._helper is not None:
            self._helper.kill()
        self._out.close()
        os.close(self._plain)
        if not self._done:
            self._part.unlink(missing_ok=True)


class StreamedEncryption:
    """What filing hands :func:`portal.cleaning.clean_file` as ``through``: it makes
    the :class:`EncryptingOutput` when a family asks for one, and afterwards either
    puts the age file in place or says it could not."""

    def __init__(self, target: Path, recipient: age.Recipient) -> None:
        self._target = target
        self._recipient = recipient
        self.output: EncryptingOutput | None = None

    def __call__(self, plain: Path) -> EncryptingOutput:
        if self.output is not None:
            raise RuntimeError("one output per file")
        self.output = EncryptingOutput(plain, self._target, self._recipient, window=WINDOW)
        return self.output

    def finish(self) -> int | None:
        """The plaintext size if the age file is at ``target``; None if the family
        wrote no output through this, or the stream was spoiled."""
        return None if self.output is None else self.output.finish()

    def discard(self) -> None:
        if self.output is not None:
            self.output.discard()
