"""Conversations: later messages and replies, files that come with them, tipsters'
sessions, the phrase key derivation's salt and the notification clock; and, on each
submission, what finds it from a follow-up phrase, the key replies are encrypted to,
whether it is closed and when it last saw activity.

Existing tips have no follow-up phrase (their tipsters were never given one): they
keep everything they had and simply cannot be followed up.

Revision ID: 0005
Revises: 0004
Create Date: 2026-03-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "thread_message",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "submission_id",
            sa.String(32),
            sa.ForeignKey("submission.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(8), nullable=False),
        sa.Column("editor", sa.String(64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("link_count", sa.Integer(), nullable=False),
        sa.Column("refused", sa.JSON(), nullable=False),
        sa.Column("read_by_editors", sa.Boolean(), nullable=False),
        sa.Column("read_by_tipster", sa.Boolean(), nullable=False),
        sa.Column("deleted_by_tipster", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_thread_message_submission_id", "thread_message", ["submission_id"])
    op.create_index("ix_thread_message_key_id", "thread_message", ["key_id"])
    op.create_index("ix_thread_message_read_by_editors", "thread_message", ["read_by_editors"])
    op.create_table(
        "tipster_session",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_tipster_session_last_seen", "tipster_session", ["last_seen"])
    op.create_table(
        "phrase_kdf",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("time_cost", sa.Integer(), nullable=False),
        sa.Column("memory_cost", sa.Integer(), nullable=False),
        sa.Column("parallelism", sa.Integer(), nullable=False),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("submission") as batch:
        batch.add_column(sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lookup", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("tipster_key", sa.String(100), nullable=True))
        batch.add_column(
            sa.Column("is_closed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute("UPDATE submission SET last_activity_at = created_at")
    with op.batch_alter_table("submission") as batch:
        batch.alter_column(
            "last_activity_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch.create_index("ix_submission_last_activity_at", ["last_activity_at"])
        batch.create_index("ix_submission_lookup", ["lookup"], unique=True)
    with op.batch_alter_table("stored_file") as batch:
        batch.add_column(
            sa.Column(
                "message_id",
                sa.String(32),
                sa.ForeignKey(
                    "thread_message.id", ondelete="CASCADE", name="fk_stored_file_message_id"
                ),
                nullable=True,
            )
        )
        batch.create_index("ix_stored_file_message_id", ["message_id"])


def downgrade() -> None:
    raise NotImplementedError("Conversations are not undone by a migration.")
