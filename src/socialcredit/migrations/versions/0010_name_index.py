"""the name index (organisation names by pairs of characters) and a key on legacy codes

Search by name or by the 9-character organisation code no longer reads the whole subjects
table. Existing organisations are indexed here with the projection's own function, so the
table holds what replaying the log would write.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from socialcredit.projections.name_index import grams, normalise

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_subjects_organisation_code", "subjects", ["organisation_code"])
    table = op.create_table(
        "name_grams",
        sa.Column("gram", sa.String(length=8), nullable=False),
        sa.Column("name_len", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("gram", "name_len", "subject_id"),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT subject_id, name FROM subjects WHERE kind = 'organisation'")
    ).all()
    batch: list[dict[str, object]] = []
    for subject_id, name in rows:
        n = len(normalise(name))
        batch.extend({"gram": g, "name_len": n, "subject_id": subject_id} for g in grams(name))
        if len(batch) >= 20_000:
            op.bulk_insert(table, batch)
            batch = []
    if batch:
        op.bulk_insert(table, batch)


def downgrade() -> None:
    op.drop_table("name_grams")
    op.drop_index("ix_subjects_organisation_code", table_name="subjects")
