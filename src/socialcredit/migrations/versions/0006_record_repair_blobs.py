"""credit repair of a record's publicity; attachments stored by their SHA-256

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repairs") as batch_op:
        batch_op.alter_column("listing_id", existing_type=sa.String(length=32), nullable=True)
        batch_op.add_column(sa.Column("record_key", sa.String(length=32), nullable=True))
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )


def downgrade() -> None:
    op.drop_table("blobs")
    with op.batch_alter_table("repairs") as batch_op:
        batch_op.drop_column("record_key")
        batch_op.alter_column("listing_id", existing_type=sa.String(length=32), nullable=False)
