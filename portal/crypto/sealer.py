"""A helper process that seals chunks beside a muxer: encryption that does not share
the muxer's GIL.

:class:`portal.crypto.streaming.EncryptingOutput` seals a video's chunks while FFmpeg
is still writing it. Sealed on a thread of the same process, every one of the 16,384
calls into OpenSSL per gigabyte hands the GIL back and forth with the muxing loop,
and the two slow each other down (measured: +0.4 to +0.7 s per GB); a process of its
own runs on the other core untouched.

The helper is this module's :func:`main` run by the same interpreter (``python -P
-c ...``, see :data:`_BOOTSTRAP`), with only ``PATH`` (and ``LD_LIBRARY_PATH``) of
the server's environment. It inherits three descriptors: the plaintext file (read),
and the age file, ordinary and ``O_DIRECT`` (or -1). On its standard input it reads
one line with the payload key (hex) and the header's length, then one line per batch,
``FIRST STOP LAST``, in order, and it seals and writes those chunks as
:func:`portal.crypto.sealing.seal_file` does. At the end of its input it writes
what it held back and exits 0; on an error it exits with the error's ``errno`` (so
a full disk is told apart) or 1. Its standard output and error are discarded: what
it could print is of no use to the tipster and must not reach a log.

The payload key only crosses a pipe to a child of the same process, which already
holds it; nothing that decrypts older files is involved.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from pathlib import Path

from portal.crypto import age
from portal.crypto.sealing import Batches, SealedFile

#: the errors that say the disk is full, which the helper's exit code carries through
OUT_OF_SPACE = (errno.ENOSPC, errno.EDQUOT)
# How the helper starts: -P keeps the working directory off the import path, and the
# folder this package was imported from goes last on it, after the standard library
# and site-packages (where an installed portal is found first).
_BOOTSTRAP = (
    "import os, sys; sys.path.append(sys.argv[1]); "
    "from portal.crypto.sealer import main; os._exit(main(sys.argv[2:]))"
)
#: the only variables the helper is given (it needs none of the server's settings)
_ENVIRONMENT = ("PATH", "LD_LIBRARY_PATH")


class HelperFailed(OSError):
    """The helper process stopped before it had sealed and written everything."""


class SealerProcess:
    """The parent's side: start the helper, give it batches, wait for it."""

    def __init__(self, sealer: age.ChunkSealer, plain: int, fd: int, direct: int) -> None:
        self._sealer = sealer
        fds = (plain, fd) + ((direct,) if direct >= 0 else ())
        root = str(Path(__file__).resolve().parents[2])
        self._process = subprocess.Popen(
            [sys.executable, "-P", "-c", _BOOTSTRAP, root, str(plain), str(fd), str(direct)],
            env={name: os.environ[name] for name in _ENVIRONMENT if name in os.environ},
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=fds,
            close_fds=True,
        )
        assert self._process.stdin is not None
        self._input = self._process.stdin
        self._given: list[tuple[int, int]] = []
        self._send(f"{sealer.payload_key.hex()} {sealer.offset(0)}\n")

    def _send(self, line: str) -> None:
        try:
            self._input.write(line.encode())
            self._input.flush()
        except BrokenPipeError:
            self._failed()

    def submit(self, first: int, stop: int, last: bool) -> None:
        self._given.append((first, stop))
        self._send(f"{first} {stop} {int(last)}\n")

    def finish(self) -> None:
        """Wait until the helper has written everything given; count those chunks
        as sealed. Raises :class:`HelperFailed` if it could not."""
        with contextlib.suppress(BrokenPipeError):
            self._input.close()
        if self._process.wait() != 0:
            self._failed()
        for first, stop in self._given:
            self._sealer.mark_sealed(first, stop)

    def _failed(self) -> None:
        code = self._process.wait()
        raise HelperFailed(code if code in OUT_OF_SPACE else errno.EIO, "the sealing helper failed")

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        if not self._input.closed:
            with contextlib.suppress(BrokenPipeError):
                self._input.close()


def _run(plain: int, fd: int, direct: int) -> None:
    key, head = sys.stdin.buffer.readline().split()
    sealer = age.ChunkSealer.resume(bytes.fromhex(key.decode()), int(head))
    out = SealedFile(fd, direct, sealer)
    batches = Batches(sealer, plain, out)  # its own main thread only reads its input
    try:
        for line in sys.stdin.buffer:
            first, stop, last = (int(field) for field in line.split())
            batches.submit(first, stop, bool(last))
        batches.wait()
        out.flush()
    finally:
        batches.close()


def main(argv: list[str]) -> int:
    try:
        _run(*(int(arg) for arg in argv))
    except OSError as exc:
        return exc.errno or 1
    except Exception:
        return 1
    return 0


if __name__ == "__main__":
    os._exit(main(sys.argv[1:]))
