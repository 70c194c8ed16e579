"""Objections and credit repair through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.errors import InvalidInput, UnknownEntity
from socialcredit.services import (
    audit,
    checks,
    ingest,
    listings,
    objections,
    repairs,
    subjects,
    views,
    worklists,
)
from tests.fixtures.rows import ORG, ORG2, abnormal, judgment, numbered, penalty


def run(reg: Registry, rows: list[dict], source: str) -> ingest.IngestSummary:  # type: ignore[type-arg]
    return ingest.ingest(reg, numbered(rows), source, actor=f"test:{source}")


def at(text: str) -> datetime:
    return parse_moment(text)


def only_listing(reg: Registry, subject: str, list_id: str) -> dict:  # type: ignore[type-arg]
    (item,) = [x for x in subjects.subject_file(reg, subject)["listings"] if x["list"] == list_id]
    return item


def test_corrected_objection_ends_the_listing(reg: Registry, clock: FixedClock) -> None:
    run(reg, [judgment()], "court")
    clock.set(at("2026-03-02"))
    lid = only_listing(reg, ORG, "dishonest_judgment_debtors")["id"]
    assert checks.answer(reg, ORG, "restrict_air_travel")["restricted"]
    filed = objections.file_objection(
        reg, ORG, listing_id=lid, grounds="paid in full on 20 Feb", actor="subject"
    )
    assert filed["status"] == "open" and not filed["suspends_listing"]
    # SPC Art. 11-12: 15 days, and the listing stays while the court decides
    assert filed["deadline"] == "2026-03-17T00:00:00+08:00"
    assert checks.answer(reg, ORG, "restrict_air_travel")["restricted"]
    with pytest.raises(InvalidInput, match="still open"):
        objections.file_objection(reg, ORG, listing_id=lid, grounds="again", actor="subject")
    clock.set(at("2026-03-10"))
    decided = objections.decide_objection(
        reg, filed["id"], outcome="corrected", reason="payment receipt verified", actor="court"
    )
    assert decided["listings_ended"] == [lid]
    assert checks.answer(reg, ORG, "restrict_air_travel")["restricted"] is False
    assert checks.answer(reg, ORG, "restrict_air_travel", at("2026-03-09"))["restricted"]
    file = subjects.subject_file(reg, ORG)
    assert file["objections"][0]["outcome"] == "corrected"
    assert [n["kind"] for n in file["notices"]] == [
        "record-filed",
        "listing-proposed",
        "listing-notified",
        "objection-decided",
    ]
    assert only_listing(reg, ORG, "dishonest_judgment_debtors")["end_reason"] == "corrected"


def test_rejected_objection_leaves_the_listing_with_its_reasons(
    reg: Registry, clock: FixedClock
) -> None:
    run(reg, [judgment()], "court")
    clock.set(at("2026-03-02"))
    lid = only_listing(reg, ORG, "dishonest_judgment_debtors")["id"]
    filed = objections.file_objection(
        reg, ORG, listing_id=lid, grounds="not able to pay", actor="subject"
    )
    objections.decide_objection(
        reg,
        filed["id"],
        outcome="rejected",
        reason="assets found in the asset report",
        actor="court",
    )
    assert checks.answer(reg, ORG, "restrict_air_travel")["restricted"]
    (obj,) = subjects.subject_file(reg, ORG)["objections"]
    assert obj["status"] == "rejected" and obj["reason"] == "assets found in the asset report"
    with pytest.raises(InvalidInput, match="already decided"):
        objections.decide_objection(reg, filed["id"], outcome="corrected", reason="x", actor="c")


def test_overdue_objection_is_escalated(reg: Registry, clock: FixedClock) -> None:
    run(reg, [judgment()], "court")
    clock.set(at("2026-03-02"))
    lid = only_listing(reg, ORG, "dishonest_judgment_debtors")["id"]
    filed = objections.file_objection(reg, ORG, listing_id=lid, grounds="x", actor="subject")
    clock.set(at("2026-03-16T23:00"))
    assert listings.advance(reg, "sweep").escalated == 0
    clock.set(at("2026-03-17T00:00"))
    assert listings.advance(reg, "sweep").escalated == 1
    inbox = worklists.objection_inbox(reg)["objections"]
    assert (
        inbox[0]["id"] == filed["id"] and inbox[0]["status"] == "escalated" and inbox[0]["overdue"]
    )
    assert listings.advance(reg, "sweep").escalated == 0  # once only


def test_suspending_objection_answers_allowed_with_a_note(reg: Registry, clock: FixedClock) -> None:
    run(reg, [abnormal("AB-1")], "samr")
    clock.set(at("2026-02-02"))
    assert checks.answer(reg, ORG, "increased_inspection")["restricted"]
    lid = only_listing(reg, ORG, "abnormal_operations")["id"]
    filed = objections.file_objection(
        reg, ORG, listing_id=lid, grounds="we are at the address", actor="subject"
    )
    assert filed["suspends_listing"]
    a = checks.answer(reg, ORG, "increased_inspection")
    assert a["restricted"] is False and "objection" in a["note"] and a["suspended"]
    clock.set(at("2026-02-10"))
    objections.decide_objection(
        reg, filed["id"], outcome="rejected", reason="site visit failed", actor="samr"
    )
    assert checks.answer(reg, ORG, "increased_inspection")["restricted"]
    assert not checks.answer(reg, ORG, "increased_inspection", at("2026-02-05"))["restricted"]


def test_refiling_does_not_keep_a_listing_suspended(reg: Registry, clock: FixedClock) -> None:
    """Withdrawing and refiling (four cycles were tried) kept a suspended listing suspended for
    ever; now one objection suspends it, a later one only with evidence not attached before."""
    run(reg, [abnormal("AB-1")], "samr")
    clock.set(at("2026-02-02"))
    lid = only_listing(reg, ORG, "abnormal_operations")["id"]
    first = objections.file_objection(
        reg, ORG, listing_id=lid, grounds="we are at the address", actor="subject"
    )
    assert first["suspends_listing"]
    for day in ("2026-02-03", "2026-02-04", "2026-02-05", "2026-02-06"):
        clock.set(at(day))
        objections.decide_objection(
            reg, first["id"], outcome="withdrawn", reason="refiling", actor="subject"
        )
        first = objections.file_objection(
            reg, ORG, listing_id=lid, grounds="we are at the address", actor="subject"
        )
        assert not first["suspends_listing"] and first["suspension_refused"]
        assert checks.answer(reg, ORG, "increased_inspection")["restricted"], day
    # new evidence suspends it again
    clock.set(at("2026-02-09"))
    objections.decide_objection(
        reg, first["id"], outcome="withdrawn", reason="refiling", actor="subject"
    )
    again = objections.file_objection(
        reg,
        ORG,
        listing_id=lid,
        grounds="the lease, signed",
        actor="subject",
        files=[("lease.pdf", b"%PDF-1.4 lease")],
    )
    assert again["suspends_listing"] and again["suspension_refused"] is None
    assert not checks.answer(reg, ORG, "increased_inspection")["restricted"]


def test_corrected_objection_to_a_record_retracts_it(reg: Registry, clock: FixedClock) -> None:
    run(reg, [penalty("P-1")], "samr")
    clock.set(at("2026-03-01"))
    assert checks.answer(reg, ORG, "exclude_government_procurement")["restricted"]
    filed = objections.file_objection(
        reg, ORG, record="samr/P-1", grounds="wrong company", actor="subject"
    )
    objections.decide_objection(
        reg,
        filed["id"],
        outcome="corrected",
        reason="the penalty concerned another firm",
        actor="samr",
    )
    assert not checks.answer(reg, ORG, "exclude_government_procurement")["restricted"]
    assert views.public_profile(reg, ORG)["records"] == []
    (rec,) = subjects.subject_file(reg, ORG)["records"]
    assert rec["retracted"]["reason"] == "the penalty concerned another firm"
    # the source resubmitting the same row does not bring the listing back
    clock.set(at("2026-03-02"))
    again = run(reg, [penalty("P-1")], "samr")
    assert again.unchanged == 1 and again.listings_proposed == 0


def test_repair_eligibility_approval_and_rejection(reg: Registry, clock: FixedClock) -> None:
    run(reg, [penalty("P-1"), penalty("P-2", ORG2)], "samr")
    lid = only_listing(reg, ORG, "serious_illegal_dishonest")["id"]
    lid2 = only_listing(reg, ORG2, "serious_illegal_dishonest")["id"]
    clock.set(at("2026-08-01"))
    early = repairs.apply_for_repair(reg, ORG, listing_id=lid, evidence="fine paid", actor="s")
    assert early["eligible"] is False and early["status"] == "ineligible"
    assert any("minimum period" in r for r in early["reasons"])
    assert any("obligations not met" in r for r in early["reasons"])
    # the penalty is recorded as performed; a year on the list has passed
    clock.set(at("2027-03-01"))
    run(
        reg,
        [
            penalty("P-1", performed_on="2026-07-01"),
            penalty("P-2", ORG2, performed_on="2026-07-01"),
        ],
        "samr",
    )
    ok = repairs.apply_for_repair(
        reg, ORG, listing_id=lid, evidence="fine paid, harm remedied", actor="s"
    )
    assert ok["eligible"] and ok["status"] == "pending" and ok["decision_deadline"]
    with pytest.raises(InvalidInput, match="still pending"):
        repairs.apply_for_repair(reg, ORG, listing_id=lid, evidence="again", actor="s")
    decided = repairs.decide_repair(reg, ok["id"], approve=True, reason="conditions met", actor="r")
    assert decided["listing_ended"]
    assert not checks.answer(reg, ORG, "exclude_government_procurement")["restricted"]
    assert only_listing(reg, ORG, "serious_illegal_dishonest")["end_reason"] == "repaired"

    refused = repairs.apply_for_repair(reg, ORG2, listing_id=lid2, evidence="paid", actor="s")
    result = repairs.decide_repair(
        reg, refused["id"], approve=False, reason="harm to consumers not remedied", actor="r"
    )
    assert result["reapply_from"] == "2027-06-01T00:00:00+08:00"
    assert checks.answer(reg, ORG2, "exclude_government_procurement")["restricted"]
    again = repairs.apply_for_repair(reg, ORG2, listing_id=lid2, evidence="paid", actor="s")
    assert not again["eligible"] and "may be renewed from 2027-06-01" in again["reasons"][0]
    (rep, rep2) = subjects.subject_file(reg, ORG2)["repairs"]
    assert rep["status"] == "rejected" and rep["reason"] == "harm to consumers not remedied"
    assert rep2["status"] == "ineligible"
    # the decisions are told as sentences naming the listing, never the application's id
    (yes,) = [
        n for n in subjects.subject_file(reg, ORG)["notices"] if n["kind"] == "repair-decided"
    ]
    assert "严重违法失信名单列入" in yes["zh"] and "予以批准" in yes["zh"]
    assert "was approved: the listing ends now" in yes["en"] and ok["id"] not in yes["en"]
    (no,) = [
        n for n in subjects.subject_file(reg, ORG2)["notices"] if n["kind"] == "repair-decided"
    ]
    assert "you may apply again from June 1, 2027, 00:00 (UTC+08:00)" in no["en"]
    assert "2027年6月1日" in no["zh"] and refused["id"] not in no["zh"] + no["en"]


def test_lists_without_repair_say_how_to_resolve(reg: Registry, clock: FixedClock) -> None:
    run(reg, [judgment()], "court")
    clock.set(at("2026-04-01"))
    lid = only_listing(reg, ORG, "dishonest_judgment_debtors")["id"]
    with pytest.raises(InvalidInput, match=r"no credit repair.*Perform the obligation"):
        repairs.apply_for_repair(reg, ORG, listing_id=lid, evidence="x", actor="s")
    with pytest.raises(UnknownEntity):
        repairs.apply_for_repair(reg, ORG2, listing_id=lid, evidence="x", actor="s")


def test_due_process_events_rebuild_identically(reg: Registry, clock: FixedClock) -> None:
    run(reg, [penalty("P-1"), abnormal("AB-1", ORG2)], "samr")
    clock.set(at("2026-03-01"))
    lid = only_listing(reg, ORG2, "abnormal_operations")["id"]
    o = objections.file_objection(reg, ORG2, listing_id=lid, grounds="x", actor="s")
    objections.decide_objection(reg, o["id"], outcome="withdrawn", reason="moved back", actor="s")
    o2 = objections.file_objection(reg, ORG, record="samr/P-1", grounds="y", actor="s")
    objections.decide_objection(reg, o2["id"], outcome="corrected", reason="z", actor="samr")
    before = audit.fingerprint(reg)
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before
    assert before["objections"]["rows"] == 2


def test_record_leaves_the_public_profile_the_day_its_publicity_ends(
    reg: Registry, clock: FixedClock
) -> None:
    run(reg, [penalty("P-9", severity="minor", field="other", decided_on="2026-01-10")], "samr")
    # minor penalties are shown three months from the decision: until 10 April, not on it
    assert len(views.public_profile(reg, ORG, at("2026-04-09T23:59"))["records"]) == 1
    assert views.public_profile(reg, ORG, at("2026-04-10T00:00"))["records"] == []
    # the subject's own file keeps it
    assert len(subjects.subject_file(reg, ORG, at("2026-05-01"))["records"]) == 1


def test_repair_of_a_record_ends_its_publicity(reg: Registry, clock: FixedClock) -> None:
    run(reg, [penalty("P-5", severity="general", field="other", decided_on="2026-01-10")], "samr")
    clock.set(at("2026-03-01"))
    early = repairs.apply_for_repair(reg, ORG, record="samr/P-5", evidence="paid", actor="s")
    assert not early["eligible"]
    assert any("minimum period shown (3m) ends on 2026-04-10" in r for r in early["reasons"])
    clock.set(at("2026-05-01"))
    run(
        reg,
        [
            penalty(
                "P-5",
                severity="general",
                field="other",
                decided_on="2026-01-10",
                performed_on="2026-02-01",
            )
        ],
        "samr",
    )
    ok = repairs.apply_for_repair(reg, ORG, record="samr/P-5", evidence="paid", actor="s")
    assert ok["eligible"], ok
    assert len(views.public_profile(reg, ORG)["records"]) == 1
    result = repairs.decide_repair(reg, ok["id"], approve=True, reason="performed", actor="r")
    assert result["publicity_ended"]
    assert views.public_profile(reg, ORG)["records"] == []
    assert len(subjects.subject_file(reg, ORG)["records"]) == 1  # still in its own file
    # the regulator resubmitting the record with a correction does not put it back on show
    clock.set(at("2026-05-02"))
    s = run(
        reg,
        [
            penalty(
                "P-5",
                severity="general",
                field="other",
                decided_on="2026-01-10",
                performed_on="2026-02-01",
                fine_yuan="450000",
            )
        ],
        "samr",
    )
    assert s.amended == 1
    assert views.public_profile(reg, ORG)["records"] == []
    before = audit.fingerprint(reg)
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before


def test_an_open_objection_is_shown_as_a_dispute_wherever_the_item_is_shown(
    reg: Registry, clock: FixedClock
) -> None:
    """While an objection is open, the public profile, the credit report, open data (records,
    listings, FollowTheMoney) mark what it disputes, with the filing date and the deadline;
    once it is decided, and as of before it was filed, nothing is marked."""
    from socialcredit.services import opendata, reports

    run(reg, [judgment()], "court")
    run(reg, [penalty("P-1", ORG2, severity="general", field="food")], "samr")
    clock.set(at("2026-03-02"))
    lid = only_listing(reg, ORG, "dishonest_judgment_debtors")["id"]
    on_listing = objections.file_objection(
        reg, ORG, listing_id=lid, grounds="paid in full on 20 Feb", actor="subject"
    )
    on_record = objections.file_objection(
        reg, ORG2, record="samr/P-1", grounds="the fine was annulled on appeal", actor="subject"
    )
    clock.set(at("2026-03-03"))

    listing = views.public_profile(reg, ORG)["listings"][0]
    assert listing["dispute"] == {
        "objection_id": on_listing["id"],
        "filed_at": "2026-03-02T00:00:00+08:00",
        "deadline": on_listing["deadline"],
    }
    [record] = views.public_profile(reg, ORG2)["records"]
    assert record["dispute"]["objection_id"] == on_record["id"]
    assert reports.credit_report(reg, ORG2)["records"][0]["dispute"] == record["dispute"]
    rows = {r["subject"]: r for r in opendata.public_records(reg)}
    assert rows[ORG2]["disputed"] is True and rows[ORG]["disputed"] is False
    [listed] = [r for r in opendata.public_listings(reg) if r["listing_id"] == lid]
    assert listed["disputed"] is True and listed["dispute"]["deadline"] == on_listing["deadline"]
    sanctions = [e for e in opendata.ftm_entities(reg) if e["schema"] == "Sanction"]
    assert sanctions and all("disputed" in e["properties"]["status"] for e in sanctions)
    # not before it was filed
    assert views.public_profile(reg, ORG2, at("2026-03-01"))["records"][0]["dispute"] is None

    objections.decide_objection(
        reg, on_record["id"], outcome="rejected", reason="no annulment on file", actor="samr"
    )
    assert views.public_profile(reg, ORG2)["records"][0]["dispute"] is None
    assert {r["subject"]: r["disputed"] for r in opendata.public_records(reg)}[ORG2] is False


def test_a_check_says_the_listing_that_restricts_is_in_dispute(
    reg: Registry, clock: FixedClock
) -> None:
    """A point of service sees that the subject disputes the listing (which still applies where
    the list does not suspend it), with the filing date and the deadline; from the exact path
    and after the objection is decided, in the store's own answer and the check server's."""
    run(reg, [judgment()], "court")
    clock.set(at("2026-03-02"))
    lid = only_listing(reg, ORG, "dishonest_judgment_debtors")["id"]
    before = checks.answer(reg, ORG, "restrict_air_travel")
    assert before["restricted"] and before["listings"][0]["disputed"] is False
    filed = objections.file_objection(
        reg, ORG, listing_id=lid, grounds="paid in full on 20 Feb", actor="subject"
    )
    answer = checks.answer(reg, ORG, "restrict_air_travel")
    assert answer["restricted"] is True  # the SPC's list is not suspended by an objection
    [listing] = answer["listings"]
    assert listing["disputed"] is True
    bulk = checks.answer_bulk(reg, [ORG2, ORG], "restrict_air_travel")
    [explained] = bulk["answers"]
    assert explained["index"] == 1 and explained["listings"][0]["disputed"] is True
    assert listing["dispute"] == {
        "objection_id": filed["id"],
        "filed_at": "2026-03-02T00:00:00+08:00",
        "deadline": filed["deadline"],
    }
    clock.set(at("2026-03-05"))
    objections.decide_objection(
        reg, filed["id"], outcome="rejected", reason="no payment on file", actor="court"
    )
    after = checks.answer(reg, ORG, "restrict_air_travel")
    assert after["restricted"] and after["listings"][0]["disputed"] is False
    # as of a moment the objection was open, the answer says so again
    assert checks.answer(reg, ORG, "restrict_air_travel", at("2026-03-03"))["listings"][0][
        "disputed"
    ]


def test_an_objection_no_one_decides_resolves_as_the_pack_says(
    env: dict[str, str], tmp_path: Any
) -> None:
    """Under a pack that says so (with its basis), an objection the source let pass and a
    reviewer then left undecided past the review deadline resolves in the subject's favour at
    the sweep: the listing ends, the reason cites the rule. A pack that resolves without a
    review deadline does not load; the default pack resolves none this way."""
    import shutil

    import yaml

    from socialcredit.config import Settings
    from socialcredit.errors import PolicyError
    from socialcredit.policy.load import default_pack_path, load_pack

    assert all(ld.objection.if_undecided == "stays" for ld in load_pack().lists.values())
    pack_dir = tmp_path / "pack"
    shutil.copytree(default_pack_path(), pack_dir)
    f = pack_dir / "lists" / "dishonest_judgment_debtors.yaml"
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    data["objection"]["if_undecided"] = "corrected"
    f.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyError, match="without a review_deadline"):
        load_pack(pack_dir)
    data["objection"]["review_deadline"] = "10wd"
    data["objection"]["if_undecided_basis"] = [
        {"cite": "credit_reporting_regulations", "article": "Art. 25", "uncertain": True}
    ]
    f.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    clock = FixedClock(parse_moment("2026-02-01T09:00"))
    reg = Registry(Settings.from_env(env), clock=clock, pack=load_pack(pack_dir))
    try:
        run(reg, [judgment()], "court")
        clock.set(parse_moment("2026-03-02T09:00"))
        listings.advance(reg, "sweep")
        lid = only_listing(reg, ORG, "dishonest_judgment_debtors")["id"]
        o = objections.file_objection(reg, ORG, listing_id=lid, grounds="paid", actor="s")
        clock.set(parse_moment("2026-03-20T09:00"))  # the source's 15 days have passed
        assert listings.advance(reg, "sweep").escalated == 1
        clock.set(parse_moment("2026-04-01T09:00"))  # 8 working days later: not yet
        assert listings.advance(reg, "sweep").resolved == 0
        clock.set(parse_moment("2026-04-08T09:00"))  # 10 working days have passed
        assert listings.advance(reg, "sweep").resolved == 1
        assert listings.advance(reg, "sweep").resolved == 0  # once
        (obj,) = [x for x in subjects.subject_file(reg, ORG)["objections"] if x["id"] == o["id"]]
        assert obj["status"] == "corrected" and "subject's favour" in obj["reason"]
        assert "征信业管理条例" in obj["reason"]
        assert only_listing(reg, ORG, "dishonest_judgment_debtors")["status"] == "ended"
    finally:
        reg.close()


def test_decision_notices_read_as_sentences_naming_the_entry(
    reg: Registry, clock: FixedClock
) -> None:
    """A decided objection or repair application is told to the subject by the list or record
    type's name and its decision reference, at a moment written for a person, with what
    happens next; never by the registry's internal ids."""
    run(reg, [penalty("P-1"), abnormal("AB-1", ORG2)], "samr")
    clock.set(at("2026-03-01T10:30"))
    lid = only_listing(reg, ORG2, "abnormal_operations")["id"]
    o = objections.file_objection(reg, ORG2, listing_id=lid, grounds="x", actor="s")
    objections.decide_objection(reg, o["id"], outcome="corrected", reason="moved back", actor="r")
    o2 = objections.file_objection(reg, ORG, record="samr/P-1", grounds="y", actor="s")
    objections.decide_objection(reg, o2["id"], outcome="rejected", reason="fine unpaid", actor="r")

    def decided(code: str, kind: str) -> dict[str, str]:
        notes = [n for n in subjects.subject_file(reg, code)["notices"] if n["kind"] == kind]
        assert len(notes) == 1
        return {"zh": notes[0]["zh"], "en": notes[0]["en"]}

    listing_note = decided(ORG2, "objection-decided")
    assert "经营异常名录列入" in listing_note["zh"] and "2026年3月1日 10:30" in listing_note["zh"]
    assert "listing on the Abnormal operations list" in listing_note["en"]
    assert "The listing has ended" in listing_note["en"] and "12 months" in listing_note["en"]
    record_note = decided(ORG, "objection-decided")
    assert "京朝市监罚〔2026〕12号" in record_note["zh"] and "不成立" in record_note["zh"]
    assert "no longer marked as disputed" in record_note["en"]
    for note in (listing_note, record_note):
        for text in note.values():
            assert o["id"] not in text and o2["id"] not in text and lid not in text
            assert "listing L" not in text and "T10:30" not in text
