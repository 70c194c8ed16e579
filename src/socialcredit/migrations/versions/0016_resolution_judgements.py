"""a reviewer's judgement that a queued row is not about a subject, honoured by later runs

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resolution_judgements",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("lifted_at", sa.DateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(length=128), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("source", "source_record_id", "subject_id"),
    )
    # a store written before: each link a reviewer undid is the judgement it now makes
    bind = op.get_bind()
    events = sa.table(
        "events",
        sa.column("type", sa.String),
        sa.column("payload", sa.Text),
        sa.column("at", sa.DateTime),
        sa.column("seq", sa.BigInteger),
    )
    table = sa.table(
        "resolution_judgements",
        *(
            sa.column(c)
            for c in (
                "source",
                "source_record_id",
                "subject_id",
                "verdict",
                "reason",
                "decided_by",
                "decided_at",
            )
        ),
    )
    seen: dict[tuple[str, str, str], dict[str, object]] = {}
    for payload, at in bind.execute(
        sa.select(events.c.payload, events.c.at)
        .where(events.c.type == "link-undone")
        .order_by(events.c.seq)
    ):
        p = json.loads(payload)
        source, _, rid = str(p["record"]).partition("/")
        seen[(source, rid, p["subject_id"])] = {
            "source": source,
            "source_record_id": rid,
            "subject_id": p["subject_id"],
            "verdict": "different",
            "reason": p.get("reason") or "",
            "decided_by": p.get("decided_by") or "",
            "decided_at": at,
        }
    if seen:
        bind.execute(table.insert(), list(seen.values()))


def downgrade() -> None:
    op.drop_table("resolution_judgements")
