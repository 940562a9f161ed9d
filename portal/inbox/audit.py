"""The audit log of editors' actions: who signed in or failed to, who deleted what,
who replied to or closed which conversation.

Entries hold an editor's name, an action code and at most a submission id (or, for
account commands, an editor's name): never anything a tipster wrote or sent. The
caller commits, so an entry lands in the same transaction as the change it records.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.models import AuditEvent, db

SIGN_IN = "sign_in"
SIGN_OUT = "sign_out"
SIGN_IN_FAILED = "sign_in_failed"
SIGN_IN_WHILE_LOCKED = "sign_in_locked"
SIGN_IN_UNKNOWN_NAME = "sign_in_unknown"
ACCOUNT_LOCKED = "account_locked"
SESSION_EXPIRED = "session_expired"
DELETE = "delete"
RETENTION_DELETE = "retention_delete"
EDITOR_ADDED = "editor_added"
EDITOR_REMOVED = "editor_removed"
EDITOR_RESET = "editor_reset"
EDITOR_UNLOCKED = "editor_unlocked"
INBOX_CREATED = "inbox_created"
KEY_ROTATED = "key_rotated"
INBOX_ENCRYPTED = "inbox_encrypted"
REPLY = "reply"
THREAD_CLOSED = "thread_closed"
THREAD_REOPENED = "thread_reopened"

#: the words an editor reads in the log for each action code: every one names an
#: event with a noun ("Sign-in", «Inicio de sesión»), never a verb, so the column
#: reads the same way from top to bottom in every language
ACTION_LABELS = {
    SIGN_IN: _l("Sign-in"),
    SIGN_OUT: _l("Sign-out"),
    SIGN_IN_FAILED: _l("Failed sign-in"),
    SIGN_IN_WHILE_LOCKED: _l("Refused sign-in (account locked)"),
    SIGN_IN_UNKNOWN_NAME: _l("Failed sign-in (unknown user name)"),
    ACCOUNT_LOCKED: _l("Account lock after repeated failures"),
    SESSION_EXPIRED: _l("Automatic sign-out after inactivity"),
    DELETE: _l("Deletion of a submission"),
    RETENTION_DELETE: _l("Deletion of a submission after the retention period"),
    EDITOR_ADDED: _l("Creation of an editor account"),
    EDITOR_REMOVED: _l("Removal of an editor account"),
    EDITOR_RESET: _l("Reset of an editor's password and code"),
    EDITOR_UNLOCKED: _l("Unlocking of an editor account"),
    INBOX_CREATED: _l("Creation of the inbox key"),
    KEY_ROTATED: _l("Replacement of the inbox key and re-encryption of everything"),
    INBOX_ENCRYPTED: _l("Encryption of existing submissions"),
    REPLY: _l("Reply to a sender"),
    THREAD_CLOSED: _l("Closing of a conversation"),
    THREAD_REOPENED: _l("Reopening of a conversation"),
}

#: who appears in the log for actions run from the command line (stored as is,
#: shown in the reader's language)
COMMAND_LINE = "(command line)"
#: who appears in the log for deletions by PORTAL_RETENTION_DAYS (portal.retention)
RETENTION = "(retention)"
_AUTOMATIC_LABELS = {
    COMMAND_LINE: _l("(command line)"),
    RETENTION: _l("(automatic, retention period)"),
}


def record(editor: str, action: str, target: str = "") -> AuditEvent:
    """Add an entry to the current transaction (the caller commits)."""
    event = AuditEvent(editor=editor, action=action, target=target)
    db.session.add(event)
    return event


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def editor_label(editor: str) -> str:
    label = _AUTOMATIC_LABELS.get(editor)
    return str(label) if label is not None else editor
