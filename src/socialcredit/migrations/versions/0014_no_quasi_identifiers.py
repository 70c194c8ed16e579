"""no quasi-identifiers of natural persons in clear: birth date dropped, division cleared,
masks cut to the last four characters, the log's subject-registered events redacted; rejected
rows in per-upload reports with a retention instead of the log; the fingerprint of the ID keys;
the upload each ingest batch belongs to; the source's own record version

A person's division (characters 1-6 of the ID number) and birth date (7-14) beside the masked
number (the last four) rebuilt the whole number with no key. From this revision the store keeps
for a person only the keyed hash, the encrypted number, the province (for statistics) and, on
each record, whether the person was a minor at its decision date (what the birth date was
kept for: the bar on listing minors).

The log's ``subject-registered`` events of persons are redacted like a purge redacts (the
payload rewritten under ``_redacted``, the digest the chain covers unchanged), and one
``quasi-identifiers-redacted`` event names every event redacted and the records whose person
was a minor, so that ``audit verify`` accepts the redactions and a rebuild projects the same
tables. Events written before payload digests (revision 0005) cannot be redacted without
breaking the chain; they are counted in that event and left as they are.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ACTOR = "schema-0014"

#: 0005's guard: the one UPDATE allowed is a redaction with everything the hash covers unchanged
_SAME = (
    "NEW.seq = OLD.seq AND NEW.event_id = OLD.event_id AND NEW.type = OLD.type "
    "AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.prev_hash = OLD.prev_hash "
    "AND NEW.hash = OLD.hash AND NEW.payload_digest = OLD.payload_digest "
    "AND OLD.payload_digest IS NOT NULL AND NEW.payload LIKE '%\"_redacted\":%'"
)
#: and now only the redaction a purge granted, to exactly that payload: a hand-made rewrite
#: that merely looks like one (it keeps "_redacted") is refused
_GRANTED = (
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


CHUNK = 5000


def _remask(masked: str | None) -> str | None:
    """The old mask kept the first four and last four characters: keep the last four only."""
    if not masked:
        return masked
    return "*" * (len(masked) - 4) + masked[-4:]


def _minor(born: date, on: date) -> bool:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day)) < 18


def _as_date(v: object) -> date | None:
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


def upgrade() -> None:
    conn = op.get_bind()
    op.create_table(
        "reject_reports",
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("keep_until", sa.Date(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id"),
    )
    op.create_index("ix_reject_reports_keep_until", "reject_reports", ["keep_until"])
    op.create_table(
        "store_keys",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.add_column("ingest_batches", sa.Column("upload_id", sa.String(length=32), nullable=True))
    op.add_column("ingest_batches", sa.Column("last", sa.Boolean(), nullable=True))
    op.create_index("ix_ingest_batches_source_upload", "ingest_batches", ["source", "upload_id"])
    op.add_column("subjects", sa.Column("province", sa.String(length=2), nullable=True))
    op.add_column("records", sa.Column("minor_at_decision", sa.Boolean(), nullable=True))
    op.add_column("records", sa.Column("record_version", sa.BigInteger(), nullable=True))

    # what the birth date decided, kept on each of the person's records
    minors: list[str] = []
    rows = conn.execute(
        sa.text(
            "SELECT r.record_key, r.decided_on, s.birth_date FROM records r "
            "JOIN subjects s ON s.subject_id = r.subject_id "
            "WHERE s.kind = 'person' AND s.birth_date IS NOT NULL"
        )
    ).all()
    for key, decided_on, born in rows:
        b, d = _as_date(born), _as_date(decided_on)
        if b is not None and d is not None and _minor(b, d):
            minors.append(key)
    for i in range(0, len(minors), CHUNK):
        conn.execute(
            sa.text("UPDATE records SET minor_at_decision = :t WHERE record_key = :k"),
            [{"k": k, "t": True} for k in minors[i : i + CHUNK]],
        )

    conn.execute(
        sa.text("UPDATE subjects SET province = substr(division, 1, 2) WHERE division IS NOT NULL")
    )
    persons = conn.execute(
        sa.text("SELECT subject_id, id_masked FROM subjects WHERE kind = 'person'")
    ).all()
    updates = [{"k": sid, "m": _remask(m)} for sid, m in persons]
    for i in range(0, len(updates), CHUNK):
        conn.execute(
            sa.text("UPDATE subjects SET id_masked = :m, division = NULL WHERE subject_id = :k"),
            updates[i : i + CHUNK],
        )
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("birth_date")

    _redact_log(conn, minors)

    op.create_table(
        "redaction_grants",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    _guard(conn.dialect.name, _SAME + _GRANTED)


def _redact_log(conn: sa.Connection, minors: list[str]) -> None:
    from socialcredit.db import events
    from socialcredit.events.chain import REDACTED_KEY, canonical, payload_digest
    from socialcredit.events.store import append, lock_head
    from socialcredit.events.types import QUASI_IDENTIFIERS_REDACTED, NewEvent

    seqs: list[int] = []
    digests: dict[str, str] = {}
    legacy = 0
    fields: set[str] = set()
    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT seq, payload, payload_digest FROM events "
                "WHERE type = 'subject-registered' AND subject_id LIKE 'P-%' AND seq > :last "
                "ORDER BY seq LIMIT :n"
            ),
            {"last": last, "n": CHUNK},
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        updates = []
        for seq, payload, digest in rows:
            p = json.loads(payload)
            changed: dict[str, str | None] = {}
            if p.get("division"):
                changed["division"] = None
                changed["province"] = str(p["division"])[:2]
            if p.get("birth_date"):
                changed["birth_date"] = None
            if p.get("id_masked") and p["id_masked"] != _remask(p["id_masked"]):
                changed["id_masked"] = _remask(p["id_masked"])
            if not changed:
                continue
            if digest is None:
                legacy += 1  # chained over the payload itself: cannot be rewritten
                continue
            names = sorted(set(p.get(REDACTED_KEY, [])) | set(changed))
            fields.update(changed)
            text = canonical({**p, **changed, REDACTED_KEY: names})
            updates.append({"s": seq, "p": text})
            seqs.append(seq)
            digests[str(seq)] = payload_digest(text)
        if updates:
            conn.execute(sa.text("UPDATE events SET payload = :p WHERE seq = :s"), updates)
    if not seqs and not minors and not legacy:
        return
    at = conn.execute(sa.select(sa.func.max(events.c.at))).scalar()
    if at is None:
        return
    payload = {
        "seqs": seqs,
        "redacted_digests": digests,
        "fields": sorted(fields),
        "minor_records": sorted(minors),
        "legacy_events_kept": legacy,
        "reason": "no quasi-identifiers of natural persons in clear (schema 0014)",
    }
    append(
        conn,
        lock_head(conn),
        [(NewEvent(QUASI_IDENTIFIERS_REDACTED, payload), canonical(payload))],
        at,
        ACTOR,
    )


def downgrade() -> None:
    op.drop_index("ix_ingest_batches_source_upload", table_name="ingest_batches")
    with op.batch_alter_table("ingest_batches") as batch:
        batch.drop_column("last")
        batch.drop_column("upload_id")
    _guard(op.get_bind().dialect.name, _SAME)
    op.drop_table("redaction_grants")
    op.drop_table("store_keys")
    op.drop_index("ix_reject_reports_keep_until", table_name="reject_reports")
    op.drop_table("reject_reports")
    # the division and birth date are gone from the store and the log by design: a downgrade
    # brings back the column, empty
    op.add_column("subjects", sa.Column("birth_date", sa.Date(), nullable=True))
    with op.batch_alter_table("records") as batch:
        batch.drop_column("record_version")
        batch.drop_column("minor_at_decision")
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("province")
