"""The age v1 file format (https://age-encryption.org/v1) with X25519 recipients.

Everything a tipster sends is stored as an age file, so an editor holding the inbox's
identity (``AGE-SECRET-KEY-1…``) can decrypt any stored file offline with the ``age``
command. The format is written here on top of the primitives of ``cryptography``
(OpenSSL's X25519, HKDF-SHA-256, HMAC-SHA-256, ChaCha20-Poly1305) rather than through
``pyrage``, for two reasons measured on this machine: pyrage cannot seek, so every
range request of a video player would decrypt from the start of the file, and it
decrypts at about 150 MB/s where OpenSSL's ChaCha20-Poly1305 runs at 1.6 GB/s. The
tests check interoperability both ways against pyrage and the ``age`` binary.

Invariants:

* a file's payload is the STREAM construction of the spec: 64 KiB plaintext chunks,
  each sealed with a counter nonce and a flag on the last one, so truncation,
  reordering and appended data are all detected;
* :class:`Reader` authenticates the header (HMAC) before anything else and every
  chunk it returns; it holds one chunk in memory at a time;
* only X25519 stanzas are written; a header with another kind alongside is read as
  long as one X25519 stanza opens with the identities given.
"""

from __future__ import annotations

import base64
import functools
import hmac
import io
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from hashlib import sha256
from typing import BinaryIO

import bech32
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

INTRO = b"age-encryption.org/v1\n"
X25519_LABEL = b"age-encryption.org/v1/X25519"
#: plaintext bytes per payload chunk, fixed by the format
CHUNK = 64 * 1024
TAG = 16
SEALED_CHUNK = CHUNK + TAG
NONCE = 16
#: the longest header accepted (ours is about 200 bytes; this bounds a hostile one)
MAX_HEADER = 64 * 1024
_SECRET_HRP = "age-secret-key-"  # noqa: S105 (a format label)
_PUBLIC_HRP = "age"
_ZERO_NONCE = bytes(12)


class AgeError(Exception):
    """Not an age file, not for these identities, or tampered with."""


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA-256 (RFC 5869) for one 32-byte key: one extract, one expand block.
    Written with the standard library's HMAC: cryptography's HKDF object costs more
    to build than the two HMACs, and a search opens three per note."""
    prk = hmac.digest(salt or bytes(32), ikm, "sha256")
    return hmac.digest(prk, info + b"\x01", "sha256")


def _b64encode(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _b64decode(text: bytes) -> bytes:
    if b"=" in text or b"\r" in text:
        raise AgeError("non-canonical base64")
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except ValueError:
        raise AgeError("bad base64") from None
    if _b64encode(data) != text:
        raise AgeError("non-canonical base64")
    return data


def _bech32_decode(text: str, hrp: str) -> bytes:
    if text != text.lower() and text != text.upper():
        raise AgeError("mixed-case key")
    found, data = bech32.bech32_decode(text.lower())
    if found != hrp or data is None:
        raise AgeError("not an age key")
    raw = bech32.convertbits(data, 5, 8, False)
    if raw is None or len(raw) != 32:
        raise AgeError("not an age key")
    return bytes(raw)


def _bech32_encode(raw: bytes, hrp: str) -> str:
    words = bech32.convertbits(raw, 8, 5, True)
    assert words is not None
    return bech32.bech32_encode(hrp, words)


@dataclass(frozen=True)
class Recipient:
    """An X25519 public key: what filing encrypts to (``age1…``)."""

    key: X25519PublicKey

    @classmethod
    def parse(cls, text: str) -> Recipient:
        return cls(X25519PublicKey.from_public_bytes(_bech32_decode(text.strip(), _PUBLIC_HRP)))

    @functools.cached_property
    def raw(self) -> bytes:
        return self.key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    def __str__(self) -> str:
        return _bech32_encode(self.raw, _PUBLIC_HRP)


@dataclass(frozen=True)
class Identity:
    """An X25519 private key (``AGE-SECRET-KEY-1…``), the one that decrypts."""

    key: X25519PrivateKey

    @classmethod
    def generate(cls) -> Identity:
        return cls(X25519PrivateKey.generate())

    @classmethod
    def parse(cls, text: str) -> Identity:
        raw = _bech32_decode(text.strip(), _SECRET_HRP)
        return cls(X25519PrivateKey.from_private_bytes(raw))

    @functools.cached_property
    def recipient(self) -> Recipient:
        return Recipient(self.key.public_key())

    def __str__(self) -> str:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        raw = self.key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return _bech32_encode(raw, _SECRET_HRP).upper()

    def __repr__(self) -> str:  # never print the key by accident
        return f"Identity({self.recipient})"


def derive_key(identity: Identity, label: bytes) -> bytes:
    """A 32-byte symmetric key bound to ``identity`` and ``label`` (HKDF-SHA-256)."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    raw = identity.key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return _hkdf(raw, b"", label)


def parse_identities(text: str) -> list[Identity]:
    """The identities of an age identity file: one per line, ``#`` comments allowed."""
    lines = [line.strip() for line in text.splitlines()]
    return [Identity.parse(line) for line in lines if line and not line.startswith("#")]


def format_identities(identities: Iterable[Identity]) -> str:
    return "".join(f"{identity}\n" for identity in identities)


# --- the header ---------------------------------------------------------------------


def _wrap_file_key(file_key: bytes, recipient: Recipient) -> bytes:
    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = ephemeral.exchange(recipient.key)
    wrap_key = _hkdf(shared, share + recipient.raw, X25519_LABEL)
    body = ChaCha20Poly1305(wrap_key).encrypt(_ZERO_NONCE, file_key, None)
    return b"-> X25519 " + _b64encode(share) + b"\n" + _b64encode(body) + b"\n"


def _header(file_key: bytes, recipients: Iterable[Recipient]) -> bytes:
    head = INTRO + b"".join(_wrap_file_key(file_key, r) for r in recipients) + b"---"
    mac = hmac.new(_hkdf(file_key, b"", b"header"), head, sha256).digest()
    return head + b" " + _b64encode(mac) + b"\n"


@dataclass(frozen=True)
class _Stanza:
    kind: bytes
    args: list[bytes]
    body: bytes


def _read_header(source: BinaryIO) -> tuple[list[_Stanza], bytes, bytes]:
    """The stanzas, the bytes the MAC covers, and the MAC; the source is left at the
    payload's first byte."""
    read = 0

    def line() -> bytes:
        nonlocal read
        text = source.readline(MAX_HEADER - read + 1)
        read += len(text)
        if not text.endswith(b"\n") or read > MAX_HEADER:
            raise AgeError("not an age file")
        return text[:-1]

    if line() + b"\n" != INTRO:
        raise AgeError("not an age file")
    covered = bytearray(INTRO)
    stanzas: list[_Stanza] = []
    while True:
        text = line()
        if text.startswith(b"--- "):
            covered += b"---"
            return stanzas, bytes(covered), _b64decode(text[4:])
        covered += text + b"\n"
        parts = text.split(b" ")
        if parts[0] != b"->" or len(parts) < 2 or not all(parts[1:]):
            raise AgeError("malformed stanza")
        body = bytearray()
        while True:
            chunk = line()
            covered += chunk + b"\n"
            if len(chunk) > 64:
                raise AgeError("malformed stanza body")
            body += _b64decode(chunk)
            if len(chunk) < 64:
                break
        stanzas.append(_Stanza(parts[1], parts[2:], bytes(body)))


def _unwrap_file_key(stanzas: list[_Stanza], identities: Iterable[Identity]) -> bytes | None:
    for identity in identities:
        ours = identity.recipient.raw
        for stanza in stanzas:
            if stanza.kind != b"X25519":
                continue
            if len(stanza.args) != 1 or len(stanza.body) != 32:
                raise AgeError("malformed X25519 stanza")
            share = _b64decode(stanza.args[0])
            if len(share) != 32:
                raise AgeError("malformed X25519 stanza")
            try:
                shared = identity.key.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:  # the all-zero shared secret of a low-order point
                raise AgeError("malformed X25519 stanza") from None
            wrap_key = _hkdf(shared, share + ours, X25519_LABEL)
            try:
                return ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, stanza.body, None)
            except InvalidTag:
                continue
    return None


# --- the payload --------------------------------------------------------------------


def _chunk_nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class Writer:
    """Encrypts what is written to it into ``sink`` as one age file; :meth:`close`
    seals the last chunk (the sink itself stays open)."""

    def __init__(self, sink: BinaryIO, recipients: Iterable[Recipient]) -> None:
        file_key = os.urandom(16)
        nonce = os.urandom(NONCE)
        sink.write(_header(file_key, recipients))
        sink.write(nonce)
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._sink = sink
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False

    def write(self, data: bytes) -> int:
        if self._closed:
            raise ValueError("write to a closed age writer")
        view = memoryview(data)
        # A chunk is sealed only once a byte after it is known: close() seals the last.
        if self._buffer and len(self._buffer) + len(view) > CHUNK:
            take = CHUNK - len(self._buffer)
            self._buffer += view[:take]
            view = view[take:]
            self._seal(self._buffer, last=False)
            self._buffer = bytearray()
        if not self._buffer:
            while len(view) > CHUNK:  # whole chunks straight from the caller's bytes
                self._seal(view[:CHUNK], last=False)
                view = view[CHUNK:]
        self._buffer += view
        return len(data)

    def _seal(self, chunk: bytes | bytearray | memoryview, last: bool) -> None:
        self._sink.write(self._aead.encrypt(_chunk_nonce(self._counter, last), chunk, None))
        self._counter += 1

    def close(self) -> None:
        if not self._closed:
            self._seal(self._buffer, last=True)
            self._buffer = bytearray()
            self._closed = True

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()


class ChunkSealer:
    """Seals one age file's payload chunk by chunk, in any order and from several
    threads at once (OpenSSL runs without the GIL): what lets filing encrypt on two
    cores, and encrypt a cleaner's output while it is still being written. It does no
    I/O: :attr:`head` goes at offset 0 and chunk ``i`` at :meth:`offset` ``(i)``
    (see :mod:`portal.crypto.files`).

    It refuses to seal an index twice: a chunk's nonce is its index, and two
    plaintexts under one nonce would undo ChaCha20-Poly1305.
    """

    def __init__(self, recipients: Iterable[Recipient]) -> None:
        file_key = os.urandom(16)
        nonce = os.urandom(NONCE)
        self.head = _header(file_key, recipients) + nonce
        #: the key the payload is sealed with, for :meth:`resume` in a helper process
        self.payload_key = _hkdf(file_key, nonce, b"payload")
        self._start = len(self.head)
        self._aead = ChaCha20Poly1305(self.payload_key)
        self._sealed: set[int] = set()
        self._lock = threading.Lock()

    @classmethod
    def resume(cls, payload_key: bytes, head_length: int) -> ChunkSealer:
        """A sealer for more chunks of the file another sealer started (it wrote the
        head): the two must be given different chunks."""
        sealer = cls.__new__(cls)
        sealer.head = b""
        sealer.payload_key = payload_key
        sealer._start = head_length
        sealer._aead = ChaCha20Poly1305(payload_key)
        sealer._sealed = set()
        sealer._lock = threading.Lock()
        return sealer

    def offset(self, index: int) -> int:
        """Where chunk ``index`` starts in the file."""
        return self._start + index * SEALED_CHUNK

    def end(self, size: int) -> int:
        """The length of the age file of ``size`` plaintext bytes."""
        return self._start + size + chunk_count(size) * TAG

    def mark_sealed(self, first: int, stop: int) -> None:
        """Count chunks ``[first, stop)`` as sealed (by this sealer, or by a resumed
        one in a helper process); refuse any counted already."""
        with self._lock:
            if self._sealed.intersection(range(first, stop)):
                raise ValueError("chunks sealed twice")
            self._sealed.update(range(first, stop))

    def __repr__(self) -> str:  # never print the key by accident
        return f"ChunkSealer(head={self._start} bytes)"

    def seal_into(self, first: int, plain: memoryview, into: memoryview, last: bool) -> int:
        """Seal ``plain``, whole chunks from index ``first`` (the final one may be
        short if ``last``: it is then the file's last chunk), into ``into``; the
        number of bytes sealed."""
        chunks = chunk_count(len(plain))
        if not last and len(plain) != chunks * CHUNK:
            raise ValueError("a chunk but the last is exactly CHUNK bytes")
        self.mark_sealed(first, first + chunks)  # a nonce is never used twice
        end = 0
        for number in range(chunks):
            piece = plain[number * CHUNK : (number + 1) * CHUNK]
            nonce = _chunk_nonce(first + number, last and number == chunks - 1)
            self._aead.encrypt_into(nonce, piece, None, into[end : end + len(piece) + TAG])
            end += len(piece) + TAG
        return end

    def check_complete(self, size: int) -> None:
        """Raise unless every chunk of a ``size``-byte plaintext was sealed."""
        if self._sealed != set(range(chunk_count(size))):
            raise ValueError("not every chunk was sealed")


def chunk_count(size: int) -> int:
    """How many payload chunks the age file of ``size`` plaintext bytes has."""
    return max(1, -(-size // CHUNK))


def encrypt(data: bytes, recipients: Iterable[Recipient]) -> bytes:
    out = io.BytesIO()
    with Writer(out, recipients) as writer:
        writer.write(data)
    return out.getvalue()


def encrypt_stream(source: BinaryIO, sink: BinaryIO, recipients: Iterable[Recipient]) -> int:
    """Encrypt everything ``source`` holds into ``sink``; returns the plaintext size."""
    size = 0
    with Writer(sink, recipients) as writer:
        while block := source.read(16 * CHUNK):
            size += len(block)
            writer.write(block)
    return size


class Reader:
    """Random access to an age file's plaintext, one authenticated chunk at a time.

    ``source`` must be seekable (a file opened ``rb``, or a BytesIO). The header is
    checked when the reader is made; :attr:`size` is the plaintext size, from the
    payload's length (a cut at a chunk boundary is caught when the new last chunk
    fails to open as the last one).
    """

    def __init__(self, source: BinaryIO, identities: Iterable[Identity]) -> None:
        stanzas, covered, mac = _read_header(source)
        file_key = _unwrap_file_key(stanzas, identities)
        if file_key is None:
            raise AgeError("no identity matches")
        expected = hmac.new(_hkdf(file_key, b"", b"header"), covered, sha256).digest()
        if not hmac.compare_digest(mac, expected):
            raise AgeError("header MAC mismatch")
        nonce = source.read(NONCE)
        if len(nonce) != NONCE:
            raise AgeError("truncated payload")
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._source = source
        self._start = source.tell()
        sealed = source.seek(0, os.SEEK_END) - self._start
        full, rest = divmod(sealed, SEALED_CHUNK)
        if rest == 0 and full > 0:
            self._chunks, self.size = full, full * CHUNK
        elif rest >= TAG:
            self._chunks, self.size = full + 1, full * CHUNK + rest - TAG
        else:
            raise AgeError("truncated payload")

    def chunk(self, index: int) -> bytes:
        """The plaintext of chunk ``index`` (0-based), authenticated."""
        last = index == self._chunks - 1
        self._source.seek(self._start + index * SEALED_CHUNK)
        sealed = self._source.read(SEALED_CHUNK)
        try:
            plain = self._aead.decrypt(_chunk_nonce(index, last), sealed, None)
        except InvalidTag:
            raise AgeError("payload chunk does not authenticate") from None
        if last and not plain and index > 0:
            raise AgeError("empty last chunk")
        return plain

    def read_range(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The plaintext bytes ``[start, end)``, decrypting from the chunk that holds
        ``start``; pieces are at most one chunk long."""
        end = self.size if end is None else min(end, self.size)
        position = max(0, start)
        while position < end:
            index, offset = divmod(position, CHUNK)
            plain = self.chunk(index)
            piece = plain[offset : offset + end - position]
            if not piece:
                raise AgeError("payload shorter than its length says")
            yield piece
            position += len(piece)

    def read_all(self) -> bytes:
        return b"".join(self.read_range())

    def close(self) -> None:
        self._source.close()


class PlainFile(io.RawIOBase):
    """A read-only, seekable file of a :class:`Reader`'s plaintext (for libraries that
    want a file: Pillow, zipfile). It keeps the last chunk it decrypted."""

    def __init__(self, reader: Reader) -> None:
        super().__init__()
        self._reader = reader
        self._position = 0
        self._cached: tuple[int, bytes] | None = None

    @property
    def size(self) -> int:
        return self._reader.size

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
            self._cached = None
        super().close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._reader.size}
        position = base[whence] + offset
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._position >= self._reader.size:
            return 0
        index, offset = divmod(self._position, CHUNK)
        if self._cached is None or self._cached[0] != index:
            self._cached = (index, self._reader.chunk(index))
        piece = self._cached[1][offset : offset + len(buffer)]
        buffer[: len(piece)] = piece
        self._position += len(piece)
        return len(piece)


def decrypt(data: bytes, identities: Iterable[Identity]) -> bytes:
    return Reader(io.BytesIO(data), identities).read_all()
