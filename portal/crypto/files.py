"""Writing age files to disk: encrypting a plaintext file, re-encrypting a stored one
to a new key, and getting rid of a plaintext copy.

Each writes a hidden ``.part`` file beside the target, fsyncs it and renames it into
place, so a crash leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from portal.crypto import age, sealing
from portal.crypto.keyring import Keyring
from portal.storage import part_path


def _write_atomically(target: Path, fill: Callable[[BinaryIO], int]) -> int:
    part = part_path(target)
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as sink:
            size = fill(sink)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return size


def encrypt_file(plain: Path, target: Path, recipient: age.Recipient) -> int:
    """``plain`` encrypted into ``target`` (mode 0600, fsynced); the plaintext size."""
    part = part_path(target)
    try:
        with plain.open("rb") as source:
            size = os.fstat(source.fileno()).st_size
            sealing.seal_file(source.fileno(), size, part, recipient)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return size


def encrypt_bytes(data: bytes, target: Path, recipient: age.Recipient) -> int:
    """``data`` encrypted into ``target`` (mode 0600, fsynced); its size. For small
    things made in memory (a thumbnail), so that no plaintext copy is written."""
    source = io.BytesIO(data)
    return _write_atomically(target, lambda sink: age.encrypt_stream(source, sink, [recipient]))


def reencrypt_file(
    stored: Path, target: Path, keyring: Keyring, key_id: int, recipient: age.Recipient
) -> int:
    """The age file ``stored`` decrypted chunk by chunk and encrypted to ``recipient``
    into ``target`` (which may be ``stored`` itself); the plaintext size."""

    def fill(sink: BinaryIO) -> int:
        with stored.open("rb") as source:
            reader = keyring.reader(source, key_id)
            with age.Writer(sink, [recipient]) as writer:
                for piece in reader.read_range():
                    writer.write(piece)
            return reader.size

    return _write_atomically(target, fill)


def shred(path: Path) -> None:
    """Overwrite a plaintext file with zeros, then delete it. On a plain disk with an
    in-place filesystem (ext4) this removes the bytes; on SSDs, copy-on-write
    filesystems and snapshots it may not (docs/encryption.md says so)."""
    try:
        size = path.stat().st_size
        with path.open("r+b") as fh:
            zeros = bytes(1024 * 1024)
            left = size
            while left > 0:
                left -= fh.write(zeros[: min(left, len(zeros))])
            fh.flush()
            os.fsync(fh.fileno())
    except FileNotFoundError:
        return
    path.unlink(missing_ok=True)
