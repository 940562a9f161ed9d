"""Conversations: a tipster comes back with a follow-up phrase, reads the editors'
replies and sends more, still anonymous (see docs/encryption.md, "Conversations").

:mod:`.words` makes and reads phrases; :mod:`portal.crypto.phrase` turns a phrase into
the keys that find a thread and open the replies; :mod:`.threads` stores messages and
replies; :mod:`.sessions` keeps a tipster's thread open between requests without
keeping the phrase.
"""
