"""What an editor can do to submissions, one table for the forms, views and templates:
each action's name (the value a form posts), the words on its button and in the bulk
select, and the flag it sets on a submission. Deletion sets no flag: it asks for
confirmation first, then removes the files and the row (``deletion.delete_submissions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

if TYPE_CHECKING:
    from portal.models import Submission


@dataclass(frozen=True)
class Action:
    label: LazyString
    #: the :class:`~portal.models.Submission` column this action sets, and to what;
    #: ``None`` for deletion
    field: str | None = None
    value: bool = False

    def apply(self, submission: Submission) -> None:
        """Set this action's flag on ``submission`` (deletion has none)."""
        if self.field is None:
            raise ValueError("deletion sets no flag; see deletion.delete_submissions")
        setattr(submission, self.field, self.value)


ACTIONS: dict[str, Action] = {
    "read": Action(_l("Mark as read"), "is_read", True),
    "unread": Action(_l("Mark as unread"), "is_read", False),
    "star": Action(_l("Star"), "is_starred", True),
    "unstar": Action(_l("Remove star"), "is_starred", False),
    "archive": Action(_l("Archive"), "is_archived", True),
    "unarchive": Action(_l("Move back to the inbox"), "is_archived", False),
    "delete": Action(_l("Delete…")),
}

#: the actions that only set a flag, posted straight from a submission's page
FLAG_ACTIONS = tuple(name for name, action in ACTIONS.items() if action.field)
