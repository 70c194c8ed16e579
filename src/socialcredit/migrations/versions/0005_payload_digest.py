"""payload digests in the chain, so that a purge can redact personal data and the chain verifies

Events written from now on are chained over the SHA-256 of their payload (kept in
``payload_digest``); older events keep their original scheme (the chain covers the payload
itself) and cannot be redacted. The append-only guard now allows exactly one kind of UPDATE: a
payload rewritten as a redaction, with everything the hash covers unchanged.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SAME = (
    "NEW.seq = OLD.seq AND NEW.event_id = OLD.event_id AND NEW.type = OLD.type "
    "AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.prev_hash = OLD.prev_hash "
    "AND NEW.hash = OLD.hash AND NEW.payload_digest = OLD.payload_digest "
    "AND OLD.payload_digest IS NOT NULL AND NEW.payload LIKE '%\"_redacted\":%'"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        # ALTER TABLE ADD COLUMN in place: a table rebuild would be refused by the guard
        op.execute("ALTER TABLE events ADD COLUMN payload_digest VARCHAR(64)")
        op.execute(
            "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
            f"WHEN NOT ({_SAME} AND NEW.subject_id IS OLD.subject_id) "
            "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END"
        )
    else:
        op.add_column("events", sa.Column("payload_digest", sa.String(length=64), nullable=True))
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute(
            "CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            f"IF TG_OP = 'UPDATE' AND {_SAME} "
            "AND NEW.subject_id IS NOT DISTINCT FROM OLD.subject_id THEN RETURN NEW; END IF; "
            "RAISE EXCEPTION 'the event log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER events_append_only_row BEFORE UPDATE OR DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
            "FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()"
        )


def downgrade() -> None:
    raise NotImplementedError("digests in the chain cannot be removed without breaking it")
