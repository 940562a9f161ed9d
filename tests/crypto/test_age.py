"""The age format as portal.crypto.age writes and reads it, checked against two
independent implementations: pyrage (the Rust `age` crate) and Debian's `age` binary."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pyrage
import pytest

from portal.crypto import age

SIZES = [0, 1, age.CHUNK - 1, age.CHUNK, age.CHUNK + 1, 3 * age.CHUNK, 200_000]


@pytest.fixture(scope="module")
def pair() -> tuple[age.Identity, pyrage.x25519.Identity]:
    theirs = pyrage.x25519.Identity.generate()
    return age.Identity.parse(str(theirs)), theirs


def test_keys_have_the_standard_encoding(pair) -> None:
    ours, theirs = pair
    assert str(ours) == str(theirs) and str(ours).startswith("AGE-SECRET-KEY-1")
    assert str(ours.recipient) == str(theirs.to_public())
    generated = age.Identity.generate()
    assert str(pyrage.x25519.Identity.from_str(str(generated)).to_public()) == str(
        generated.recipient
    )
    assert "AGE-SECRET" not in repr(generated)  # never printed by accident


@pytest.mark.parametrize("size", SIZES)
def test_round_trips_with_pyrage_both_ways(pair, size: int) -> None:
    ours, theirs = pair
    data = os.urandom(size)
    assert pyrage.decrypt(age.encrypt(data, [ours.recipient]), [theirs]) == data
    assert age.decrypt(pyrage.encrypt(data, [theirs.to_public()]), [ours]) == data


@pytest.mark.parametrize("size", SIZES)
def test_ranges_decrypt_from_their_own_chunk(pair, size: int) -> None:
    ours, _ = pair
    data = os.urandom(size)
    reader = age.Reader(io.BytesIO(age.encrypt(data, [ours.recipient])), [ours])
    assert reader.size == size
    for start, end in [(0, size), (size // 3, size // 2 + 7), (size - 1, size), (5, 5)]:
        assert b"".join(reader.read_range(start, end)) == data[max(start, 0) : end]
    plain = age.PlainFile(reader)
    plain.seek(size // 2)
    assert plain.read() == data[size // 2 :]


def test_a_range_reads_only_the_chunks_it_needs(pair) -> None:
    ours, _ = pair
    data = os.urandom(10 * age.CHUNK)
    reader = age.Reader(io.BytesIO(age.encrypt(data, [ours.recipient])), [ours])
    opened: list[int] = []
    real = reader.chunk
    reader.chunk = lambda index: opened.append(index) or real(index)  # type: ignore[method-assign]
    start = 7 * age.CHUNK + 100
    assert b"".join(reader.read_range(start, start + 10)) == data[start : start + 10]
    assert opened == [7]


def test_tampering_is_detected(pair) -> None:
    ours, _ = pair
    data = os.urandom(3 * age.CHUNK + 5)
    sealed = age.encrypt(data, [ours.recipient])
    header_end = sealed.index(b"\n---") + 1
    mac_end = sealed.index(b"\n", header_end)
    cases = {
        "flipped payload byte": sealed[:-10] + bytes([sealed[-10] ^ 1]) + sealed[-9:],
        "cut at a chunk boundary": sealed[: len(sealed) - (5 + age.TAG)],
        "cut inside a chunk": sealed[:-3],
        "appended bytes": sealed + b"x",
        "changed MAC": sealed[:header_end] + b"--- " + b"A" * 43 + sealed[mac_end:],
        "not age": b"hello world\n" + sealed,
    }  # fmt: skip
    for name, blob in cases.items():
        with pytest.raises(age.AgeError):
            age.decrypt(blob, [ours])
            pytest.fail(name)
    with pytest.raises(age.AgeError):
        age.decrypt(sealed, [age.Identity.generate()])


@pytest.mark.skipif(shutil.which("age") is None, reason="Debian's age package is missing")
def test_the_age_binary_decrypts_our_files_and_we_decrypt_its(tmp_path: Path) -> None:
    identity = age.Identity.generate()
    keys = tmp_path / "key.txt"
    keys.write_text(f"# a comment, as age-keygen writes\n{identity}\n")
    data = os.urandom(2 * age.CHUNK + 123)
    ours = tmp_path / "ours.age"
    ours.write_bytes(age.encrypt(data, [identity.recipient]))
    out = subprocess.run(
        ["age", "--decrypt", "--identity", str(keys), str(ours)], capture_output=True, check=True
    )
    assert out.stdout == data
    theirs = subprocess.run(
        ["age", "--encrypt", "--recipient", str(identity.recipient)],
        input=data,
        capture_output=True,
        check=True,
    ).stdout
    assert age.decrypt(theirs, age.parse_identities(keys.read_text())) == data
