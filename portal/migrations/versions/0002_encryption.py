"""Encryption at rest, step one: the new tables and columns, beside the old ones.

Adds the inbox's public keys, server-side editor sessions, the sealed content and
key id of each submission and file, and each editor's keys. The plaintext columns
stay until ``flask inbox encrypt`` has encrypted what they hold; revision 0003
removes them and refuses to run before that.

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_key",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("public_key", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "editor_session",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "editor_id",
            sa.Integer(),
            sa.ForeignKey("editor.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_editor_session_editor_id", "editor_session", ["editor_id"])
    op.create_index("ix_editor_session_last_seen", "editor_session", ["last_seen"])
    with op.batch_alter_table("submission") as batch:
        batch.add_column(sa.Column("sealed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("key_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("link_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("note_index", sa.LargeBinary(), nullable=True))
        batch.create_index("ix_submission_key_id", ["key_id"])
    with op.batch_alter_table("stored_file") as batch:
        batch.add_column(sa.Column("key_id", sa.Integer(), nullable=True))
        batch.create_index("ix_stored_file_key_id", ["key_id"])
    with op.batch_alter_table("editor") as batch:
        batch.add_column(sa.Column("public_key", sa.String(100), nullable=True))
        batch.add_column(sa.Column("private_key", sa.Text(), nullable=True))
        batch.add_column(sa.Column("keyring", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("totp_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("Encryption at rest is not undone by a migration.")
