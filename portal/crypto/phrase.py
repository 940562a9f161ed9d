"""Keys from a follow-up phrase.

The phrase itself is never stored. One slow derivation (Argon2id, with the
installation's salt and cost from the ``phrase_kdf`` row) turns its canonical form
(:attr:`portal.followup.words.Reading.canonical`) into a 32-byte secret, from which
two independent values are expanded (HMAC-SHA-256 with distinct labels):

* the **lookup**, stored on the submission (``Submission.lookup``) to find the thread
  when the phrase is typed again. The salt is the same for every thread, since the
  thread is what the lookup has to find; it is unique to the installation, so guesses
  computed for one portal are useless for another. Every guess costs one Argon2id,
  on top of the phrase's 80-odd bits.
* the **tipster identity**, an age X25519 key. Its public half is stored
  (``Submission.tipster_key``) so that editors can encrypt replies to it; its private
  half exists only while a request that was given the phrase, or a tipster session
  opened with it, needs it.

Knowing the lookup or the public key does not give the other, nor the phrase; either
lets someone check a guess of the whole phrase, at the price of one derivation per
guess.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.crypto import age
from portal.crypto.wrapping import KdfCost
from portal.models import PhraseKdf, db

#: Argon2id's cost for phrases: 32 MiB, 2 passes, one lane. Lighter than editors'
#: passwords (64 MiB, 3 passes): a phrase carries 80 bits or more where a password
#: may carry 40, and every tip and every check on the public side pays it.
DEFAULT_COST = KdfCost(time_cost=2, memory_cost=32 * 1024, parallelism=1)
#: app.extensions key: the cost a new installation records (tests make it cheap)
COST_EXTENSION = "portal_phrase_cost"
SALT_BYTES = 16
_LOOKUP_LABEL = b"portal follow-up phrase: lookup v1"
_IDENTITY_LABEL = b"portal follow-up phrase: tipster identity v1"


@dataclass(frozen=True)
class PhraseKeys:
    """What a phrase gives: the value that finds its thread and the tipster's key."""

    lookup: bytes
    identity: age.Identity

    @property
    def recipient(self) -> age.Recipient:
        return self.identity.recipient


@dataclass(frozen=True)
class Installation:
    salt: bytes
    cost: KdfCost


def installation() -> Installation:
    """This portal's salt and cost, made (once, whichever worker comes first) at the
    first phrase ever derived. Call inside an app context."""
    row = db.session.get(PhraseKdf, 1)
    if row is None:
        cost: KdfCost = current_app.extensions.get(COST_EXTENSION, DEFAULT_COST)
        db.session.add(
            PhraseKdf(
                id=1,
                salt=os.urandom(SALT_BYTES),
                time_cost=cost.time_cost,
                memory_cost=cost.memory_cost,
                parallelism=cost.parallelism,
            )
        )
        try:
            db.session.commit()
        except IntegrityError:  # another worker made it meanwhile: use theirs
            db.session.rollback()
        row = db.session.scalar(select(PhraseKdf).where(PhraseKdf.id == 1))
        assert row is not None
    return Installation(row.salt, KdfCost(row.time_cost, row.memory_cost, row.parallelism))


def derive(canonical: str, where: Installation) -> PhraseKeys:
    """The keys of the phrase whose canonical form is ``canonical`` (one Argon2id: run
    it inside a :mod:`portal.followup.slots` slot)."""
    secret = hash_secret_raw(
        canonical.encode("utf-8"),
        where.salt,
        time_cost=where.cost.time_cost,
        memory_cost=where.cost.memory_cost,
        parallelism=where.cost.parallelism,
        hash_len=32,
        type=Type.ID,
    )
    lookup = hmac.digest(secret, _LOOKUP_LABEL, "sha256")
    seed = hmac.digest(secret, _IDENTITY_LABEL, "sha256")
    return PhraseKeys(lookup, age.Identity(X25519PrivateKey.from_private_bytes(seed)))
