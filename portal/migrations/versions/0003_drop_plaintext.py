"""Encryption at rest, step two: the plaintext columns go.

Refuses to run while anything is still in clear (a submission or file without a
key id, an editor's TOTP secret): run ``flask inbox encrypt`` first. After this,
no column can hold a note, link, contact, password hash or TOTP secret in clear.

Revision ID: 0003
Revises: 0002
Create Date: 2026-03-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NOT_ENCRYPTED = (
    "This installation holds submissions or editors' secrets in clear. "
    "Encrypt them first: flask --app app inbox encrypt --editor NAME "
    "(see docs/encryption.md); it finishes the upgrade."
)


def upgrade() -> None:
    bind = op.get_bind()
    left = bind.execute(
        sa.text(
            "SELECT (SELECT count(*) FROM submission WHERE key_id IS NULL)"
            " + (SELECT count(*) FROM stored_file WHERE key_id IS NULL)"
            " + (SELECT count(*) FROM editor WHERE totp_secret != '')"
        )
    ).scalar_one()
    if left:
        raise RuntimeError(NOT_ENCRYPTED)
    with op.batch_alter_table("submission") as batch:
        batch.drop_column("note")
        batch.drop_column("links")
        batch.drop_column("contact")
        batch.alter_column("sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("key_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("stored_file") as batch:
        batch.alter_column("key_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("editor") as batch:
        batch.drop_column("password_hash")
        batch.drop_column("totp_secret")
        batch.drop_column("session_version")


def downgrade() -> None:
    raise NotImplementedError("Encryption at rest is not undone by a migration.")
