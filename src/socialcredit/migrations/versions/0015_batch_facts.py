"""the log commits to batches: a fact names the batch event that commits to it

From this revision an ingest batch's rows (its records, notices, listings, registrations and
grades) are facts: rows of ``events`` that are not chained one by one but committed by the
chained batch event after them, whose payload carries the Merkle root over their leaves
(``events/batches.py``). ``batch_seq`` is that event's sequence number; it is null on chained
events, and every event written before this revision is chained and stays valid history.

Identified reads are facts too (``read-recorded``, one per read, committed by a
``reads-recorded`` batch event), and each row of ``reads`` names the row of the log that holds
it (``log_seq``), so that a subject can have each read of its file proved. Reads recorded before
keep a null ``log_seq``: they sit together in the payload of their batch event.

The append-only guard now also keeps ``batch_seq`` as it was. A partial index over the chained
events lets ``audit verify --sample`` walk the chain without reading every fact.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

#: 0014's guard (a migration keeps its own copy: later code may change)
_SAME = (
    "NEW.seq = OLD.seq AND NEW.event_id = OLD.event_id AND NEW.type = OLD.type "
    "AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.prev_hash = OLD.prev_hash "
    "AND NEW.hash = OLD.hash AND NEW.payload_digest = OLD.payload_digest "
    "AND OLD.payload_digest IS NOT NULL AND NEW.payload LIKE '%\"_redacted\":%'"
    " AND EXISTS (SELECT 1 FROM redaction_grants g WHERE g.seq = OLD.seq "
    "AND g.payload = NEW.payload)"
)


def _guard(dialect: str, condition: str) -> None:
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        op.execute(
            "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
            f"WHEN NOT ({condition} AND NEW.subject_id IS OLD.subject_id) "
            "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END"
        )
    elif dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            f"IF TG_OP = 'UPDATE' AND {condition} "
            "AND NEW.subject_id IS NOT DISTINCT FROM OLD.subject_id THEN RETURN NEW; END IF; "
            "RAISE EXCEPTION 'the event log is append-only'; END $$"
        )


_SAME_BATCH = {
    "sqlite": " AND NEW.batch_seq IS OLD.batch_seq",
    "postgresql": " AND NEW.batch_seq IS NOT DISTINCT FROM OLD.batch_seq",
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("events", sa.Column("batch_seq", sa.BigInteger(), nullable=True))
    op.add_column("reads", sa.Column("log_seq", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_events_chained",
        "events",
        ["seq"],
        sqlite_where=sa.text("batch_seq IS NULL"),
        postgresql_where=sa.text("batch_seq IS NULL"),
    )
    _guard(dialect, _SAME + _SAME_BATCH.get(dialect, ""))


def downgrade() -> None:
    conn = op.get_bind()
    facts = conn.execute(
        sa.text("SELECT count(*) FROM events WHERE batch_seq IS NOT NULL")
    ).scalar_one()
    if facts:
        raise RuntimeError(
            f"the log holds {facts} facts committed by batch events: a registry before "
            "revision 0015 cannot verify them; restore a backup taken before the upgrade"
        )
    _guard(conn.dialect.name, _SAME)
    op.drop_index("ix_events_chained", table_name="events")
    op.execute("ALTER TABLE events DROP COLUMN batch_seq")
    op.execute("ALTER TABLE reads DROP COLUMN log_seq")
