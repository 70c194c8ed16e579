"""organisations' names as searched, and on PostgreSQL a pg_trgm index on them

``subjects.name_key`` holds an organisation's normalised name (the projection's own
``normalise``; NULL for persons). On PostgreSQL, the ``pg_trgm`` extension (trusted since
PostgreSQL 13: a database owner may create it) indexes it with GIN, so that searches of three
characters or more use the database's trigram index. Where the extension cannot be created,
the migration goes on without it and searches use the character-pair index, as on SQLite.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from socialcredit.projections.name_index import normalise

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
log = logging.getLogger(__name__)


def upgrade() -> None:
    op.add_column("subjects", sa.Column("name_key", sa.Text(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT subject_id, name FROM subjects WHERE kind = 'organisation'")
    ).all()
    update = sa.text("UPDATE subjects SET name_key = :key WHERE subject_id = :id")
    for i in range(0, len(rows), 20_000):
        conn.execute(
            update, [{"key": normalise(name), "id": sid} for sid, name in rows[i : i + 20_000]]
        )
    if conn.dialect.name == "postgresql":
        try:
            with conn.begin_nested():
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except sa.exc.DBAPIError as exc:
            log.warning("pg_trgm not available (%s); name search uses the pair index", exc.orig)
            return
        schema = conn.execute(
            sa.text(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            )
        ).scalar_one()
        conn.execute(
            sa.text(
                "CREATE INDEX ix_subjects_name_key_trgm ON subjects "
                f'USING gin (name_key "{schema}".gin_trgm_ops)'
            )
        )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("DROP INDEX IF EXISTS ix_subjects_name_key_trgm"))
    op.drop_column("subjects", "name_key")
