"""Deleting submissions kept longer than ``PORTAL_RETENTION_DAYS`` (run by ``flask
housekeeping``, every 15 minutes from the timer in deploy/).

* **Unset (0): never.** Nothing is deleted unless an editor deletes it.
* **Age is the thread's last activity**, ``Submission.last_activity_at``: the tip's
  arrival, or the tipster's latest message in its conversation. A source who is still
  writing keeps the thread alive; editors' replies and actions (reading, starring,
  archiving) do not count, so a thread nobody on the other side still uses goes.
* **Starred submissions are kept**, however old: a star is an editor's decision that
  this one matters (a story in progress, evidence to keep), and an automatic rule
  must not overrule it. Remove the star and the next run deletes it. Archived ones
  are deleted like any other.
* Deletion is the inbox's own (:func:`portal.inbox.deletion.delete_submissions`):
  the folder with every file, thumbnail and later message's file first, then the
  rows (messages and replies by cascade, overwritten by SQLite's ``secure_delete``),
  each in the audit log as :data:`portal.inbox.audit.RETENTION_DELETE` by
  :data:`portal.inbox.audit.RETENTION`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from portal.inbox import audit
from portal.inbox.deletion import delete_submissions
from portal.models import Submission, db, utcnow


def expired(days: int, now: datetime) -> list[str]:
    """Ids of the unstarred submissions with no activity for ``days`` days."""
    if days <= 0:
        return []
    cutoff = now - timedelta(days=days)
    return list(
        db.session.scalars(
            select(Submission.id)
            .where(Submission.last_activity_at < cutoff, Submission.is_starred.is_(False))
            .order_by(Submission.last_activity_at)
        )
    )


def apply_retention(data_dir: Path, days: int, now: datetime | None = None) -> int:
    """Delete what :func:`expired` finds (inside an app context); how many."""
    ids = expired(days, now or utcnow())
    return delete_submissions(data_dir, ids, audit.RETENTION, audit.RETENTION_DELETE)
