"""The review queue decided by hand, end to end, on SQLite and PostgreSQL: a row sent without a
code is resolved to its subject (and then listed like any other), or rejected; every decision is
an event naming who made it, and the projection rebuilds byte for byte."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from socialcredit.bootstrap import Registry
from socialcredit.cli import app
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.db import events, ingest_batches, review_queue
from socialcredit.errors import Conflict, InvalidIdentifier, InvalidInput, UnknownEntity
from socialcredit.events import types as T
from socialcredit.services import (
    audit,
    checks,
    ingest,
    listings,
    review,
    subjects,
    views,
    worklists,
)
from tests.fixtures.rows import ORG, ORG2, PERSON, abnormal, judgment, numbered

REVIEWER = "test:reviewer"


def at(text: str) -> datetime:
    return parse_moment(text)


def send(reg: Registry, row: dict[str, Any], source: str = "court") -> ingest.IngestSummary:
    return ingest.ingest(reg, numbered([row]), source, actor=f"test:{source}")


def queue(reg: Registry, row: dict[str, Any], source: str = "court") -> str:
    """Send the row without its code; return the id of the review item it became."""
    assert send(reg, {**row, "subject_id": ""}, source).queued == 1
    (item,) = [
        i
        for i in worklists.review_items(reg)["items"]
        if i["source_record_id"] == row["source_record_id"]
    ]
    return str(item["item_id"])


def status(reg: Registry, item_id: str) -> str:
    with reg.engine.connect() as conn:
        return str(
            conn.execute(
                select(review_queue.c.status).where(review_queue.c.item_id == item_id)
            ).scalar_one()
        )


def decisions(reg: Registry, item_id: str) -> list[Any]:
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(events)
            .where(events.c.type.in_((T.REVIEW_ITEM_RESOLVED, T.REVIEW_ITEM_REJECTED)))
            .order_by(events.c.seq)
        ).all()
    return [r for r in rows if json.loads(r.payload)["item_id"] == item_id]


def test_a_resolved_row_is_recorded_for_its_subject_and_listed(
    reg: Registry, clock: FixedClock
) -> None:
    item_id = queue(reg, judgment())
    assert worklists.review_items(reg)["open"] == 1
    with pytest.raises(UnknownEntity):
        subjects.lookup(reg, ORG)  # nobody knows yet whom the judgment is about

    clock.set(at("2026-02-03T10:00"))
    out = review.resolve_item(reg, item_id, ORG, actor=REVIEWER)
    assert out["status"] == "resolved" and out["subject"] == ORG
    assert (out["outcome"], out["subject_registered"]) == ("accepted", True)
    assert (out["listings_proposed"], out["listings_notified"]) == (1, 1)

    assert worklists.review_items(reg)["open"] == 0
    assert status(reg, item_id) == "resolved"
    file = subjects.subject_file(reg, ORG)
    assert file["name"] == "北京某某科技有限公司"
    (record,) = file["records"]
    assert record["status"] == "unperformed"
    (listing,) = file["listings"]
    assert listing["list"] == "dishonest_judgment_debtors"

    # the list's rule applies to the right subject: one month of notice from the resolution
    assert not checks.answer(reg, ORG, "restrict_air_travel", at("2026-03-03T09:59"))["restricted"]
    answer = checks.answer(reg, ORG, "restrict_air_travel", at("2026-03-03T10:00"))
    assert answer["restricted"] is True
    assert answer["listings"][0]["decision_ref"] == "（2026）京0105执1234号之一"

    (decision,) = decisions(reg, item_id)
    assert decision.type == T.REVIEW_ITEM_RESOLVED and decision.actor == REVIEWER
    assert decision.subject_id == ORG
    payload = json.loads(decision.payload)
    assert payload["decided_by"] == REVIEWER and payload["subject_id"] == ORG
    with reg.engine.connect() as conn:
        batch = conn.execute(
            select(ingest_batches).where(ingest_batches.c.file_name == f"review:{item_id}")
        ).one()
    assert (batch.source, batch.accepted, batch.queued) == ("court", 1, 0)

    with pytest.raises(Conflict) as closed:
        review.resolve_item(reg, item_id, ORG, actor=REVIEWER)
    assert closed.value.status == 409 and "already resolved" in closed.value.message
    assert audit.verify_chain(reg).ok


def test_a_person_is_resolved_without_the_id_number_in_the_log(reg: Registry) -> None:
    item_id = queue(reg, judgment("BJ-P", PERSON, listing_ref=None))
    out = review.resolve_item(reg, item_id, PERSON, actor=REVIEWER)
    assert out["kind"] == "person" and out["subject"] != PERSON  # masked
    (decision,) = decisions(reg, item_id)
    assert PERSON not in decision.payload
    assert subjects.subject_file(reg, PERSON)["records"][0]["status"] == "unperformed"


def test_rejecting_closes_the_item_with_its_reasons(reg: Registry) -> None:
    item_id = queue(reg, judgment())
    with pytest.raises(InvalidInput):
        review.reject_item(reg, item_id, reason="  ", actor=REVIEWER)
    assert status(reg, item_id) == "open"
    assert views.stats(reg)["review_queue"] == 1

    out = review.reject_item(reg, item_id, reason="no such debtor on file", actor=REVIEWER)
    assert out == {"item_id": item_id, "status": "rejected", "reason": "no such debtor on file"}
    assert status(reg, item_id) == "rejected"
    assert worklists.review_items(reg)["open"] == 0
    # the home page's "rows awaiting review" counted decided items too
    assert views.stats(reg)["review_queue"] == 0
    (decision,) = decisions(reg, item_id)
    assert decision.type == T.REVIEW_ITEM_REJECTED and decision.actor == REVIEWER
    assert json.loads(decision.payload) == {
        "item_id": item_id,
        "reason": "no such debtor on file",
        "decided_by": REVIEWER,
    }
    with pytest.raises(Conflict, match="already rejected"):
        review.resolve_item(reg, item_id, ORG, actor=REVIEWER)
    with pytest.raises(Conflict, match="already rejected"):
        review.reject_item(reg, item_id, reason="again", actor=REVIEWER)
    with pytest.raises(UnknownEntity):
        subjects.lookup(reg, ORG)  # a rejected row makes no record


def test_unknown_items_and_malformed_codes_are_refused(reg: Registry) -> None:
    item_id = queue(reg, judgment())
    with pytest.raises(UnknownEntity) as unknown:
        review.resolve_item(reg, "Qnosuchitem", ORG, actor=REVIEWER)
    assert unknown.value.status == 404
    with pytest.raises(UnknownEntity):
        review.reject_item(reg, "Qnosuchitem", reason="x", actor=REVIEWER)
    with pytest.raises(InvalidIdentifier) as bad:
        review.resolve_item(reg, item_id, "91110000600037341M", actor=REVIEWER)
    assert bad.value.status == 422 and "check character" in bad.value.message
    assert status(reg, item_id) == "open"


def test_a_row_that_cannot_be_recorded_changes_nothing(reg: Registry, clock: FixedClock) -> None:
    send(reg, judgment("BJ-2", ORG2))  # notified, activates on 2026-03-01 09:00
    item_id = queue(reg, abnormal("AB-1"), "samr")
    clock.set(at("2026-03-05"))  # the sweep now has an activation to record
    listings.advance(reg, "test:sweep")  # what time alone brought is recorded either way
    before, n = audit.fingerprint(reg), audit.event_count(reg)

    with pytest.raises(InvalidInput) as exc:
        review.resolve_item(reg, item_id, PERSON, actor=REVIEWER)
    assert exc.value.status == 422
    assert "subject_id: a abnormal_operation record cannot be about a person" in exc.value.message
    # nothing about the row or the item is recorded
    assert (audit.fingerprint(reg), audit.event_count(reg)) == (before, n)
    assert status(reg, item_id) == "open"

    out = review.resolve_item(reg, item_id, ORG, actor=REVIEWER)
    assert (out["outcome"], out["listings_proposed"]) == ("accepted", 1)


def test_a_row_queued_before_its_source_filed_it_with_the_code_is_out_of_date(
    reg: Registry, clock: FixedClock
) -> None:
    item_id = queue(reg, judgment())
    clock.set(at("2026-02-02T10:00"))
    send(reg, judgment(subject=ORG2))  # the court resends the record, now with its code
    n = audit.event_count(reg)
    for code in (ORG, ORG2):
        with pytest.raises(Conflict, match="out of date"):
            review.resolve_item(reg, item_id, code, actor=REVIEWER)
    assert audit.event_count(reg) == n and status(reg, item_id) == "open"
    review.reject_item(reg, item_id, reason="filed by the court with its code", actor=REVIEWER)
    assert status(reg, item_id) == "rejected"


def test_a_resubmission_without_the_code_is_resolved_again_and_ends_the_listing(
    reg: Registry, clock: FixedClock
) -> None:
    item_id = queue(reg, judgment())
    review.resolve_item(reg, item_id, ORG, actor=REVIEWER)
    clock.set(at("2026-03-05T10:00"))
    assert checks.answer(reg, ORG, "restrict_air_travel")["restricted"] is True

    # the court reports performance, again without the code: the same item opens again
    assert queue(reg, judgment(status="performed", performed_on="2026-03-04")) == item_id
    with pytest.raises(InvalidInput, match="cannot move to another subject"):
        review.resolve_item(reg, item_id, ORG2, actor=REVIEWER)
    assert status(reg, item_id) == "open"

    clock.set(at("2026-03-05T11:00"))
    out = review.resolve_item(reg, item_id, ORG, actor=REVIEWER)
    assert (out["outcome"], out["listings_ended"]) == ("amended", 1)
    assert checks.answer(reg, ORG, "restrict_air_travel")["restricted"] is False
    (listing,) = subjects.subject_file(reg, ORG)["listings"]
    assert listing["end_reason"] == "performed"
    assert [d.type for d in decisions(reg, item_id)] == [T.REVIEW_ITEM_RESOLVED] * 2
    before = audit.fingerprint(reg)  # queued, resolved, queued again, resolved: in that order
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before and status(reg, item_id) == "resolved"


def test_decisions_rebuild_byte_for_byte(reg: Registry, clock: FixedClock) -> None:
    first = queue(reg, judgment())
    second = queue(reg, judgment("BJ-3", ORG2))
    third = queue(reg, abnormal("AB-1"), "samr")
    clock.set(at("2026-02-02T11:00"))
    review.resolve_item(reg, first, ORG, actor=REVIEWER)
    review.reject_item(reg, second, reason="duplicate of BJ-0001", actor=REVIEWER)
    clock.set(at("2026-03-10"))
    review.resolve_item(reg, third, ORG2, actor=REVIEWER)

    before = audit.fingerprint(reg)
    assert before["review_queue"]["rows"] == 3
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before
    assert [status(reg, i) for i in (first, second, third)] == ["resolved", "rejected", "resolved"]
    assert audit.verify_chain(reg).ok


def test_review_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    def sc(*args: str) -> Any:
        clean = {k: None for k in os.environ if k.startswith("SOCIALCREDIT_")}
        return CliRunner().invoke(app, list(args), env={**clean, **env}, catch_exceptions=False)

    court = tmp_path / "court.jsonl"
    rows = [{**judgment(), "subject_id": ""}, {**judgment("BJ-8"), "subject_id": ""}]
    court.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    r = sc("ingest", str(court), "--source", "court", "--as-of", "2026-02-01T09:00", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["queued_for_review"] == 2

    r = sc("review", "list", "--as-of", "2026-02-02", "--json")
    items = {i["source_record_id"]: i["item_id"] for i in json.loads(r.stdout)["items"]}
    r = sc("review", "list", "--as-of", "2026-02-02")
    assert r.exit_code == 0 and items["BJ-2026-0001"] in r.stdout

    r = sc("review", "resolve", items["BJ-2026-0001"], "--subject", ORG, "--as-of", "2026-02-02")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["status"], out["subject"], out["listings_notified"]) == ("resolved", ORG, 1)
    r = sc("review", "resolve", items["BJ-2026-0001"], "--subject", ORG, "--as-of", "2026-02-03")
    assert r.exit_code == 2 and "already resolved" in r.stderr and "Traceback" not in r.stderr
    r = sc("review", "reject", "Qnosuchitem", "--reason", "x", "--as-of", "2026-02-03")
    assert r.exit_code == 2 and "no review item" in r.stderr

    r = sc("review", "reject", items["BJ-8"], "--reason", "not ours", "--as-of", "2026-02-03")
    assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "rejected"
    r = sc("review", "list", "--as-of", "2026-02-04", "--json")
    assert json.loads(r.stdout)["open"] == 0
    r = sc("check", ORG, "restrict_air_travel", "--as-of", "2026-03-03")
    assert json.loads(r.stdout)["restricted"] is True
