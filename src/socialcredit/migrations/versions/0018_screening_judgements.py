"""a screening principal's "not this one": results it marked as not a query's counterparty

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screening_judgements",
        sa.Column("principal_id", sa.String(length=32), nullable=False),
        sa.Column("query_key", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=120), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("judged_at", sa.DateTime(), nullable=False),
        sa.Column("lifted_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("principal_id", "query_key", "entity_id"),
    )


def downgrade() -> None:
    op.drop_table("screening_judgements")
