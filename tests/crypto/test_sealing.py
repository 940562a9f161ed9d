"""Sealing files on several threads, written around the page cache: the age files
decrypt, with pyrage (an independent implementation), to exactly what was sealed,
whatever the size, with or without O_DIRECT, and no chunk is ever sealed twice."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pyrage
import pytest

from portal.crypto import age, sealing
from portal.crypto.files import encrypt_file

BATCH_BYTES = sealing.BATCH * age.CHUNK
SIZES = [
    0,
    1,
    age.CHUNK - 1,
    age.CHUNK,
    age.CHUNK + 1,
    BATCH_BYTES - 1,
    BATCH_BYTES,
    BATCH_BYTES + 1,
    3 * BATCH_BYTES + 4097,
    5 * BATCH_BYTES,
]


@pytest.fixture(scope="module")
def theirs() -> pyrage.x25519.Identity:
    return pyrage.x25519.Identity.generate()


def _ours(theirs: pyrage.x25519.Identity) -> age.Recipient:
    return age.Identity.parse(str(theirs)).recipient


def _encrypt(tmp_path: Path, data: bytes, recipient: age.Recipient) -> bytes:
    plain = tmp_path / "plain"
    plain.write_bytes(data)
    target = tmp_path / "sealed.age"
    assert encrypt_file(plain, target, recipient) == len(data)
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    return target.read_bytes()


@pytest.mark.parametrize("size", SIZES)
def test_sealed_files_decrypt_to_what_was_sealed(tmp_path: Path, theirs, size: int) -> None:
    data = os.urandom(size)
    sealed = _encrypt(tmp_path, data, _ours(theirs))
    assert pyrage.decrypt(sealed, [theirs]) == data
    assert len(sealed) == age.ChunkSealer([_ours(theirs)]).end(size) or size == 0


@pytest.mark.parametrize("size", [age.CHUNK + 1, 3 * BATCH_BYTES + 4097])
def test_without_o_direct_the_page_cache_is_used(
    tmp_path: Path, theirs, monkeypatch, size: int
) -> None:
    monkeypatch.delattr(os, "O_DIRECT", raising=False)
    data = os.urandom(size)
    assert pyrage.decrypt(_encrypt(tmp_path, data, _ours(theirs)), [theirs]) == data


def test_a_filesystem_that_refuses_direct_writes_gets_ordinary_ones(
    tmp_path: Path, theirs, monkeypatch
) -> None:
    direct: set[int] = set()
    real_open, real_pwrite = os.open, os.pwrite
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        pytest.skip("no O_DIRECT on this platform")

    def opening(path, flags, *args, **kwargs):
        fd = real_open(path, flags, *args, **kwargs)
        if flags & flag:
            direct.add(fd)
        return fd

    def writing(fd, data, offset):
        if fd in direct:
            raise OSError(errno.EINVAL, "direct I/O refused")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "open", opening)
    monkeypatch.setattr(os, "pwrite", writing)
    data = os.urandom(3 * BATCH_BYTES + 12345)
    assert pyrage.decrypt(_encrypt(tmp_path, data, _ours(theirs)), [theirs]) == data
    assert direct, "the direct descriptor was never opened"


def test_a_full_disk_is_raised_and_leaves_no_part_file(tmp_path: Path, theirs, monkeypatch) -> None:
    real_pwrite = os.pwrite
    calls = []

    def writing(fd, data, offset):
        calls.append(offset)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", writing)
    plain = tmp_path / "plain"
    plain.write_bytes(os.urandom(3 * BATCH_BYTES))
    with pytest.raises(OSError) as raised:
        encrypt_file(plain, tmp_path / "sealed.age", _ours(theirs))
    assert raised.value.errno == errno.ENOSPC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]


def test_a_chunk_is_never_sealed_twice(theirs) -> None:
    sealer = age.ChunkSealer([_ours(theirs)])
    out = memoryview(bytearray(2 * age.SEALED_CHUNK))
    chunk = memoryview(bytes(age.CHUNK))
    sealer.seal_into(1, chunk, out, last=False)
    with pytest.raises(ValueError, match="sealed twice"):
        sealer.seal_into(1, chunk, out, last=False)
    with pytest.raises(ValueError, match="sealed twice"):
        sealer.mark_sealed(0, 2)
    with pytest.raises(ValueError, match="exactly CHUNK"):
        sealer.seal_into(2, chunk[:10], out, last=False)
    with pytest.raises(ValueError, match="not every chunk"):
        sealer.check_complete(3 * age.CHUNK)
    assert sealer.payload_key.hex() not in repr(sealer)
