"""Encryption at rest (see docs/encryption.md).

:mod:`.age` reads and writes the age v1 file format (X25519 recipients), seekable by
64 KiB chunk; :mod:`.wrapping` wraps secrets under an editor's password (Argon2id)
or a per-session key; :mod:`.keyring` ties them to the database: the inbox's public
key that filing encrypts to, and the identities a signed-in editor holds.
"""
