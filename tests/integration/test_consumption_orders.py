"""A court's consumption-restriction order (限制消费令), read from the courts' publication format:
the unit is restricted, and so is the one natural person the order names for it (法释〔2015〕17号
Art. 3 para. 2), keyed by the ID number the file gives; nobody else is (not the person's spouse
or child, though they share the surname and the address); a check on the person says why; the
person's number is kept nowhere in clear; lifting the order ends both restrictions."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select, text

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.db import metadata, records, review_queue
from socialcredit.services import checks, ingest
from tests.fixtures.rows import PERSON

FILE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "spc_consumption_restriction.csv"
)
UNIT = "91110105MA02XYR11F"  # 北京某某建材有限公司, under order （2026）京0105执2001号
REP = "110105197503150030"  # 张伟, its legal representative, whom the order names
SPOUSE = "110105197706200042"  # 李某, same surname as nobody but same address as REP
CHILD = "110105201009010058"  # 张小明, REP's child
MEASURE = "restrict_air_travel"


def _load(reg: Registry) -> ingest.IngestSummary:
    summary, fmt = ingest.ingest_format(reg, FILE, "court", "auto", actor="court")
    assert fmt == "spc_consumption_restriction"
    return summary


def test_an_order_restricts_the_unit_and_the_one_person_it_names(
    reg: Registry, clock: FixedClock
) -> None:
    summary = _load(reg)
    # the unit's order and the person's own order filed; the order naming 陈某 without a
    # number waits for a reviewer; the row with a wrong number is refused, by its column
    assert (summary.accepted, summary.queued, summary.rejected) == (2, 1, 1), summary.as_dict()
    assert [(p.field, p.row) for p in summary.rejects] == [("限消令对象身份证号码", 6)]
    assert summary.listings_notified == 3  # the unit, the person it names, the person debtor
    at = parse_moment("2026-02-02T10:00")
    got = checks.answer_many(reg, [UNIT, REP, SPOUSE, CHILD, PERSON], MEASURE, at)["results"]
    assert [a["outcome"] for a in got] == [
        "restricted",
        "restricted",
        "allowed",
        "allowed",
        "restricted",
    ]
    unit, rep = got[0], got[1]
    assert [x["list"] for x in unit["listings"]] == ["high_consumption_restrictions"]
    (why,) = rep["listings"]
    assert why["list"] == "high_consumption_responsible_persons"
    assert why["decision_ref"] == "（2026）京0105执2001号"  # the order is the basis
    assert any("Art. 3 para. 2" in b and "法释〔2015〕17号" in b for b in why["legal_basis"])
    assert "names you" in rep["how_to_resolve"]["en"]
    # the bulk path (the check server's) gives the same outcomes
    bulk = checks.answer_bulk(reg, [UNIT, REP, SPOUSE, CHILD], MEASURE, at)
    assert bulk["outcomes"] == ["restricted", "restricted", "allowed", "allowed"]
    # a measure that does not target responsible persons would not load (tested in
    # test_policy.py); the order's record keeps the capacity, not the person's number or name
    with reg.engine.connect() as conn:
        rec = conn.execute(select(records).where(records.c.subject_id == UNIT)).one()
        fields = json.loads(rec.fields)
        assert fields["responsible_person_role"] == "legal_representative"
        assert "responsible_person_id" not in fields and "responsible_person_name" not in fields
        (queued,) = conn.execute(select(review_queue.c.reason)).scalars()
        assert "without their ID number" in queued
        # the person's number is nowhere in clear: not in any table, not in the log
        for table in metadata.sorted_tables:
            for row in conn.execute(text(f"SELECT * FROM {table.name}")):
                dumped = " ".join(str(v) for v in row)
                assert REP not in dumped and REP[:17] not in dumped, table.name
    # the court lifts the order: the unit and the person it named are free
    clock.set(parse_moment("2026-03-02T09:00"))
    ingest.amend(
        reg,
        "court",
        rec.source_record_id,
        {"status": "lifted", "lifted_on": "2026-03-01"},
        actor="court",
    )
    later = parse_moment("2026-03-20T10:00")
    got = checks.answer_many(reg, [UNIT, REP, PERSON], MEASURE, later)["results"]
    assert [a["outcome"] for a in got] == ["allowed", "allowed", "restricted"]


def test_a_status_amendment_keeps_the_person_the_order_named(
    reg: Registry, clock: FixedClock
) -> None:
    """A source's amendment of another field (the record keeps no number, so the row names
    nobody) leaves the named person restricted; a resubmitted file changes nothing."""
    _load(reg)
    with reg.engine.connect() as conn:
        rid = conn.execute(
            select(records.c.source_record_id).where(records.c.subject_id == UNIT)
        ).scalar_one()
    ingest.amend(reg, "court", rid, {"filed_on": "2026-01-04"}, actor="court")
    again = _load(reg)
    assert (again.accepted, again.amended, again.listings_proposed) == (0, 1, 0)
    at = parse_moment("2026-02-02T10:00")
    got = checks.answer_many(reg, [UNIT, REP], MEASURE, at)["results"]
    assert [a["outcome"] for a in got] == ["restricted", "restricted"]
