"""Rejected rows stay out of the permanent log: one upload of 1M bad rows put 192 MiB of rejects
into it. The log keeps the upload's counts and the digest of its rejects report; the report is
kept apart, for the retention the pack sets (intake.yaml), then deleted."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.db import events, reject_reports
from socialcredit.services import ingest, uploads
from tests.fixtures.rows import judgment, numbered


def _log_bytes(reg: Registry) -> int:
    with reg.engine.connect() as conn:
        return int(conn.execute(select(func.sum(func.length(events.c.payload)))).scalar() or 0)


def test_rejects_go_to_a_report_not_to_the_log(reg: Registry, clock: FixedClock) -> None:
    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    before = _log_bytes(reg)
    bad = [judgment(f"BAD-{i}", decided_on="2026-02-30") for i in range(3000)]
    s = ingest.ingest(reg, numbered(bad), "court", actor="court")
    assert s.rejected == 3000 and len(s.rejects) == 3000  # the uploader still sees every one
    grown = _log_bytes(reg) - before
    with reg.engine.connect() as conn:
        batches = [
            json.loads(p)
            for p in conn.execute(
                select(events.c.payload).where(events.c.type == "batch-ingested")
            ).scalars()
        ][1:]
        reports = {r.batch_id: r for r in conn.execute(select(reject_reports))}
    # a batch event per chunk of the upload, with counts and a digest, whatever the rejects
    assert batches and grown < 600 * len(batches), (grown, len(batches))
    assert sum(b["rejected"] for b in batches) == 3000
    for b in batches:
        assert "rejects" not in b
        report = reports[b["batch_id"]]
        assert b["rejects_digest"] == hashlib.sha256(report.body.encode()).hexdigest()
        assert report.rejected == b["rejected"] == len(json.loads(report.body))
        assert str(report.keep_until) == "2026-05-01"  # three months (intake.yaml)

    clock.set(parse_moment("2026-05-01T12:00"))
    assert uploads.expire_reports(reg) == 0  # the last day of its retention
    clock.set(parse_moment("2026-05-02T12:00"))
    assert uploads.expire_reports(reg) == len(reports)
    with reg.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(reject_reports)).scalar() == 0


def test_an_upload_cut_off_midway_shows_as_incomplete(reg: Registry, clock: FixedClock) -> None:
    """An HTTP upload killed mid-file left 2,000 of 20,000 rows in with no report to the
    uploader. Its committed batches now say which upload they belong to and none says it was
    the last: the source's console lists the upload as cut off, and sending it again completes
    it (rows already in count as unchanged)."""
    rows = [judgment(f"J-{i}", decided_on="2026-01-10") for i in range(3000)]

    def cut_off() -> Any:
        for i, row in enumerate(numbered(rows)):
            if i == 2500:
                raise ConnectionError("the client went away")
            yield row

    with pytest.raises(ConnectionError):
        ingest.ingest(reg, cut_off(), "court", actor="court", file_name="judgments.csv")
    (upload,) = uploads.recent(reg, "court")
    assert (upload["file_name"], upload["accepted"], upload["complete"]) == (
        "judgments.csv",
        2000,
        False,
    )
    clock.set(parse_moment("2026-02-01T10:00"))
    s = ingest.ingest(reg, numbered(rows), "court", actor="court", file_name="judgments.csv")
    assert (s.accepted, s.unchanged) == (1000, 2000)
    latest, first = uploads.recent(reg, "court")
    assert latest["complete"] and latest["batches"] == 3 and not first["complete"]
