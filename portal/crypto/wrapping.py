"""Secrets wrapped under something an editor knows or holds.

* :func:`wrap_with_password` / :func:`unwrap_with_password`: an editor's private key
  under their password. The key comes from Argon2id with a fresh random salt and the
  cost of the app's password hasher (64 MiB and 3 passes by default), recorded beside
  the ciphertext so that a later, stronger policy can still open older copies. A
  wrong password and a tampered copy look the same: :class:`WrongSecret`.
* :func:`seal` / :func:`unseal`: anything under a random 32-byte key (the per-session
  key that only the editor's cookie carries).

Both use ChaCha20-Poly1305 with a random nonce; the wrapped form is text (JSON with
base64 fields) so that it can be read and checked by hand.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

KEY_BYTES = 32
_NONCE = 12
_FORMAT = "portal-password-wrap-v1"


class WrongSecret(Exception):
    """The password or key does not open this secret (or the secret was altered)."""


@dataclass(frozen=True)
class KdfCost:
    """Argon2id's cost: passes, memory in KiB, lanes."""

    time_cost: int = 3
    memory_cost: int = 65536
    parallelism: int = 4


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise WrongSecret("malformed wrapped secret")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise WrongSecret("malformed wrapped secret") from None


def _derive(password: str, salt: bytes, cost: KdfCost) -> bytes:
    return hash_secret_raw(
        password.encode("utf-8"),
        salt,
        time_cost=cost.time_cost,
        memory_cost=cost.memory_cost,
        parallelism=cost.parallelism,
        hash_len=KEY_BYTES,
        type=Type.ID,
    )


def wrap_with_password(secret: bytes, password: str, cost: KdfCost) -> str:
    salt, nonce = os.urandom(16), os.urandom(_NONCE)
    key = _derive(password, salt, cost)
    sealed = ChaCha20Poly1305(key).encrypt(nonce, secret, _FORMAT.encode())
    return json.dumps(
        {
            "format": _FORMAT,
            "kdf": "argon2id",
            "t": cost.time_cost,
            "m": cost.memory_cost,
            "p": cost.parallelism,
            "salt": _b64(salt),
            "nonce": _b64(nonce),
            "sealed": _b64(sealed),
        },
        sort_keys=True,
    )


def wrapped_cost(wrapped: str) -> KdfCost:
    """The Argon2id cost a wrapped secret was made with."""
    try:
        fields = json.loads(wrapped)
        return KdfCost(int(fields["t"]), int(fields["m"]), int(fields["p"]))
    except (ValueError, KeyError, TypeError):
        raise WrongSecret("malformed wrapped secret") from None


def unwrap_with_password(wrapped: str, password: str) -> bytes:
    cost = wrapped_cost(wrapped)
    fields = json.loads(wrapped)
    if fields.get("format") != _FORMAT or fields.get("kdf") != "argon2id":
        raise WrongSecret("unknown wrapping")
    key = _derive(password, _unb64(fields.get("salt")), cost)
    try:
        return ChaCha20Poly1305(key).decrypt(
            _unb64(fields.get("nonce")), _unb64(fields.get("sealed")), _FORMAT.encode()
        )
    except (InvalidTag, ValueError):
        raise WrongSecret("wrong password") from None


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def seal(secret: bytes, key: bytes, context: bytes) -> bytes:
    """``secret`` under ``key``; ``context`` (a session id, say) is bound to it, so a
    sealed value moved to another row does not open."""
    nonce = os.urandom(_NONCE)
    return nonce + ChaCha20Poly1305(key).encrypt(nonce, secret, context)


def unseal(sealed: bytes, key: bytes, context: bytes) -> bytes:
    if len(key) != KEY_BYTES or len(sealed) < _NONCE:
        raise WrongSecret("malformed sealed secret")
    try:
        return ChaCha20Poly1305(key).decrypt(sealed[:_NONCE], sealed[_NONCE:], context)
    except InvalidTag:
        raise WrongSecret("wrong key") from None
