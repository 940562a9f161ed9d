"""Deleting submissions, the one way it is done: by an editor in the inbox (one or
in bulk, after confirmation) and by ``flask housekeeping`` once a submission is past
``PORTAL_RETENTION_DAYS`` (:mod:`portal.retention`).

A submission's files go from disk first (the folder removed, then its parent
fsynced), then its rows (with its files' and messages' rows, by cascade), with an
audit entry naming who deleted it, in one commit per submission. SQLite overwrites
the deleted rows (``secure_delete``, see :mod:`portal.database`). If a row's removal
fails after its files are gone, deleting again finishes the job; the other order
could leave a tipster's files on disk with nothing pointing at them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from portal import storage
from portal.inbox import audit
from portal.models import Submission, db


def delete_submissions(
    data_dir: Path, ids: Iterable[str], actor: str, action: str = audit.DELETE
) -> int:
    """Delete the submissions ``ids`` names (those that still exist), each audited as
    ``action`` by ``actor``. Returns how many were deleted."""
    deleted = 0
    for submission_id in ids:
        submission = db.session.get(Submission, submission_id)
        if submission is None:
            continue
        storage.delete_submission_files(data_dir, submission.id)
        db.session.delete(submission)
        audit.record(actor, action, submission.id)
        db.session.commit()
        deleted += 1
    return deleted
