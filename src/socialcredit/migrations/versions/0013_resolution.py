"""probabilistic resolution: organisation details, the model's finding on a queued row, merge
proposals and merged subjects

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_details",
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("legal_representative", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("subject_id"),
    )
    op.create_index("ix_subject_details_legal_rep", "subject_details", ["legal_representative"])
    op.create_index("ix_subject_details_address", "subject_details", ["address"])
    op.add_column("review_queue", sa.Column("resolution", sa.Text(), nullable=True))
    op.add_column("subjects", sa.Column("merged_into", sa.String(length=64), nullable=True))
    op.create_table(
        "merge_proposals",
        sa.Column("proposal_id", sa.String(length=32), nullable=False),
        sa.Column("subject_a", sa.String(length=64), nullable=False),
        sa.Column("subject_b", sa.String(length=64), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("survivor", sa.String(length=64), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("proposal_id"),
    )
    op.create_index("ix_merge_proposals_status", "merge_proposals", ["status"])


def downgrade() -> None:
    op.drop_index("ix_merge_proposals_status", table_name="merge_proposals")
    op.drop_table("merge_proposals")
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("merged_into")
    with op.batch_alter_table("review_queue") as batch:
        batch.drop_column("resolution")
    op.drop_table("subject_details")
