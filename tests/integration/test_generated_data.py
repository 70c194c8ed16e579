"""Generated agency files go through ingest with every row accounted for."""

from __future__ import annotations

from pathlib import Path

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.db import SCHEMA_REVISION
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.services import audit, ingest


def test_every_generated_row_is_accepted_amended_rejected_or_queued(
    reg: Registry, clock: FixedClock, tmp_path: Path
) -> None:
    summary = generate(400, tmp_path / "data", seed=3)
    clock.set(parse_moment("2026-10-01"))
    totals = {"rows": 0, "rejected": 0, "queued": 0}
    for name, source in (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court")):
        s = ingest.ingest(
            reg, read_rows(tmp_path / "data" / name), source, actor="test", batch_size=97
        )
        assert s.rows == summary.files[name]
        assert s.rows == s.accepted + s.amended + s.unchanged + s.rejected + s.queued
        for k in totals:
            totals[k] += getattr(s, k)
    assert totals["rejected"] >= 1 and totals["queued"] >= 1
    # deliberate errors are rejected; a few more rows may be (e.g. a date after the as-of)
    assert totals["rejected"] >= summary.rows_with_errors * 0.8
    assert totals["queued"] == summary.rows_without_code
    before = audit.fingerprint(reg)
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before
    assert audit.verify_chain(reg).ok


def test_schema_revision_constant_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    from socialcredit.bootstrap import alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_REVISION


def test_migrations_produce_exactly_the_schema_in_code(reg: Registry) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from socialcredit.db import metadata

    # the pg_trgm index exists only where the extension could be created (migration 0012):
    # it is the one object of the schema that the code does not describe
    def include(name: str | None, type_: str, parent: object) -> bool:
        return name != "ix_subjects_name_key_trgm"

    with reg.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_name": include})
        assert compare_metadata(ctx, metadata) == []
