"""The schema as it was before migrations existed (submissions in clear).

An installation made before migrations already has these tables: this revision
then creates nothing, and ``flask db upgrade`` carries on from it.

Revision ID: 0001
Revises:
Create Date: 2026-03-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "submission" not in existing:
        op.create_table(
            "submission",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("locale", sa.String(16), nullable=False),
            sa.Column("note", sa.Text(), nullable=False),
            sa.Column("links", sa.Text(), nullable=False),
            sa.Column("contact", sa.Text(), nullable=False),
            sa.Column("refused", sa.JSON(), nullable=False),
            sa.Column("is_read", sa.Boolean(), nullable=False),
            sa.Column("is_starred", sa.Boolean(), nullable=False),
            sa.Column("is_archived", sa.Boolean(), nullable=False),
        )
        for column in ("created_at", "is_read", "is_starred", "is_archived"):
            op.create_index(f"ix_submission_{column}", "submission", [column])
    if "stored_file" not in existing:
        op.create_table(
            "stored_file",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column(
                "submission_id",
                sa.String(32),
                sa.ForeignKey("submission.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("stored_name", sa.String(64), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("format", sa.String(16), nullable=False),
            sa.Column("mime", sa.String(100), nullable=False),
            sa.Column("extension", sa.String(10), nullable=False),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("removed", sa.JSON(), nullable=False),
        )
        op.create_index("ix_stored_file_submission_id", "stored_file", ["submission_id"])
    if "editor" not in existing:
        op.create_table(
            "editor",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("name", sa.String(64), nullable=False, unique=True),
            sa.Column("password_hash", sa.String(255), nullable=False),
            sa.Column("totp_secret", sa.String(64), nullable=False),
            sa.Column("last_totp_step", sa.Integer(), nullable=False),
            sa.Column("failed_attempts", sa.Integer(), nullable=False),
            sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
            sa.Column("session_version", sa.Integer(), nullable=False),
            sa.Column("locale", sa.String(16), nullable=False),
            sa.Column("timezone", sa.String(64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        )
    if "audit_event" not in existing:
        op.create_table(
            "audit_event",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("editor", sa.String(64), nullable=False),
            sa.Column("action", sa.String(32), nullable=False),
            sa.Column("target", sa.String(64), nullable=False),
        )
        op.create_index("ix_audit_event_at", "audit_event", ["at"])


def downgrade() -> None:
    for table in ("audit_event", "editor", "stored_file", "submission"):
        op.drop_table(table)
