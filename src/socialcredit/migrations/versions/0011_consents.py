"""consents to lenders and sources

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("consent_id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("grantee_kind", sa.String(length=16), nullable=False),
        sa.Column("grantee", sa.String(length=64), nullable=False),
        sa.Column("grantee_name", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("record_types", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("consent_id"),
    )
    op.create_index("ix_consents_grantee", "consents", ["grantee", "subject_id"])
    op.create_index("ix_consents_subject", "consents", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_consents_subject", table_name="consents")
    op.drop_index("ix_consents_grantee", table_name="consents")
    op.drop_table("consents")
