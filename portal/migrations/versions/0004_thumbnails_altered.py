"""Thumbnails stored at filing, and what of a file's content had to be changed.

Adds two nullable columns to ``stored_file``: ``thumbnail_name`` (the generated name of
the image's encrypted thumbnail beside it; "" when none can be made) and ``altered``
(a JSON list of what was re-encoded). Rows filed before keep NULL in both, read as
"no thumbnail made yet" (the inbox makes it on first request) and "nothing altered".
Nothing is rewritten: no tip is touched by the upgrade.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stored_file") as batch:
        batch.add_column(sa.Column("thumbnail_name", sa.String(64), nullable=True))
        batch.add_column(sa.Column("altered", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stored_file") as batch:
        batch.drop_column("altered")
        batch.drop_column("thumbnail_name")
