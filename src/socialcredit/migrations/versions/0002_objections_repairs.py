"""objections, credit repair, and retraction of records

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records") as batch_op:
        batch_op.add_column(sa.Column("retracted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("retraction_reason", sa.Text(), nullable=True))
    op.create_table(
        "objections",
        sa.Column("objection_id", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("listing_id", sa.String(length=32), nullable=True),
        sa.Column("record_key", sa.String(length=32), nullable=True),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("attachments", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.String(length=128), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("deadline", sa.DateTime(), nullable=False),
        sa.Column("calendar_announced", sa.Boolean(), nullable=False),
        sa.Column("suspends", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("objection_id"),
    )
    op.create_index("ix_objections_subject", "objections", ["subject_id"])
    op.create_index("ix_objections_listing", "objections", ["listing_id"])
    op.create_index("ix_objections_status", "objections", ["status"])
    op.create_table(
        "repairs",
        sa.Column("repair_id", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("listing_id", sa.String(length=32), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("applied_by", sa.String(length=128), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision_deadline", sa.DateTime(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("reapply_from", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("repair_id"),
    )
    op.create_index("ix_repairs_subject", "repairs", ["subject_id"])
    op.create_index("ix_repairs_listing", "repairs", ["listing_id"])


def downgrade() -> None:
    op.drop_table("repairs")
    op.drop_table("objections")
    with op.batch_alter_table("records") as batch_op:
        batch_op.drop_column("retraction_reason")
        batch_op.drop_column("retracted_at")
