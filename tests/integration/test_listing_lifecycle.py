"""The registry core end to end through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.errors import InvalidIdentifier, InvalidInput, UnknownEntity
from socialcredit.services import audit, checks, ingest, listings, subjects
from tests.fixtures.rows import MINOR, ORG, ORG2, PERSON, judgment, numbered, tax_rating


def run(reg: Registry, rows: list[dict], source: str = "court") -> ingest.IngestSummary:  # type: ignore[type-arg]
    return ingest.ingest(reg, numbered(rows), source, actor=f"test:{source}")


def at(text: str) -> datetime:
    return parse_moment(text)


def test_court_judgment_lists_after_notice_and_ends_on_performance(
    reg: Registry, clock: FixedClock
) -> None:
    s = run(reg, [judgment()])
    assert (s.accepted, s.listings_proposed, s.listings_notified) == (1, 1, 1)

    before = checks.answer(reg, ORG, "restrict_air_travel")
    assert before["restricted"] is False
    assert before["notified_not_yet_active"][0]["activates_at"] == "2026-03-01T09:00:00+08:00"

    # one month of notice runs from the notice (2026-02-01 09:00)
    assert (
        checks.answer(reg, ORG, "restrict_air_travel", at("2026-03-01T08:59"))["restricted"]
        is False
    )
    a = checks.answer(reg, ORG, "restrict_air_travel", at("2026-03-01T09:00"))
    assert a["restricted"] is True and a["outcome"] == "restricted"
    (lst,) = a["listings"]
    assert lst["list"] == "dishonest_judgment_debtors"
    assert lst["decision_ref"] == "（2026）京0105执1234号之一"
    assert lst["legal_basis"] and "法释〔2017〕7号" in lst["legal_basis"][0]
    assert lst["since"] == "2026-03-01T09:00:00+08:00"
    assert lst["until"] == "2031-03-01T09:00:00+08:00"  # Art. 1 (1): five-year review bound
    assert "履行" in a["how_to_resolve"]["zh"] and a["how_to_resolve"]["en"]
    # the measure is linked to the list, other lists' measures are not
    assert checks.answer(reg, ORG, "restrict_premium_rail", at("2026-04-01"))["restricted"]
    assert not checks.answer(reg, ORG, "no_honours", at("2026-04-01"))["restricted"]

    clock.set(at("2026-03-02T10:00"))
    assert listings.advance(reg, "test").activated == 1

    clock.set(at("2026-05-06T15:00"))
    s2 = run(reg, [judgment(status="performed", performed_on="2026-05-05")])
    assert (s2.amended, s2.listings_ended) == (1, 1)
    assert checks.answer(reg, ORG, "restrict_air_travel")["restricted"] is False
    # as of a moment before performance the answer is still what it was then
    assert checks.answer(reg, ORG, "restrict_air_travel", at("2026-05-06T14:59"))["restricted"]

    file = subjects.subject_file(reg, ORG)
    (listing,) = file["listings"]
    assert listing["status"] == "ended" and listing["end_reason"] == "performed"
    assert file["records"][0]["status"] == "performed"
    assert audit.verify_chain(reg).ok


def test_exit_deadline_counts_chinese_working_days(reg: Registry, clock: FixedClock) -> None:
    run(reg, [judgment()])
    # performance recorded on Wednesday 2026-09-30, the eve of the National Day holiday
    clock.set(at("2026-09-30T10:00"))
    run(reg, [judgment(status="performed", performed_on="2026-09-29")])
    from sqlalchemy import select

    from socialcredit.db import listings as lt

    with reg.engine.connect() as conn:
        row = conn.execute(select(lt.c.ended_at, lt.c.exit_due_by)).one()
    assert row.ended_at is not None and row.exit_due_by is not None
    # 1-7 Oct are holidays, 10 Oct (Saturday) a make-up working day: 3 working days -> 10 Oct
    assert row.exit_due_by.isoformat() == "2026-10-10T16:00:00"  # 2026-10-11 00:00 +08:00
    assert row.ended_at <= row.exit_due_by


def test_listing_without_court_decision_stays_proposed(reg: Registry, clock: FixedClock) -> None:
    s = run(reg, [judgment(listing_ref=None)])
    assert (s.listings_proposed, s.listings_notified) == (1, 0)
    clock.set(at("2026-06-01"))
    assert not checks.answer(reg, ORG, "restrict_air_travel")["restricted"]
    (lst,) = subjects.subject_file(reg, ORG)["listings"]
    assert lst["status"] == "proposed" and "listing_decision_ref" in lst["pending_reason"]
    # a malformed decision reference is no decision either
    s = run(reg, [judgment(listing_ref="see file 12")])
    assert (s.amended, s.listings_notified) == (1, 0)
    clock.set(at("2026-06-02"))
    s = run(reg, [judgment(listing_ref="（2026）京0105执1234号之一")])
    assert s.listings_notified == 1
    assert checks.answer(reg, ORG, "restrict_air_travel", at("2026-07-02T00:00"))["restricted"]


def test_minors_are_never_listed(reg: Registry) -> None:
    s = run(reg, [judgment("BJ-9", MINOR, conduct="evades_enforcement")])
    assert (s.accepted, s.barred, s.listings_proposed) == (1, 1, 0)


def test_person_is_keyed_by_hash_and_masked(reg: Registry, clock: FixedClock) -> None:
    run(reg, [judgment("BJ-7", PERSON, conduct="evades_enforcement", listing_term_years="2")])
    clock.set(at("2026-04-01"))
    a = checks.answer(reg, PERSON, "restrict_air_travel")
    assert a["restricted"] and a["subject"] == "**************002X"
    assert a["listings"][0]["until"] == "2028-03-01T09:00:00+08:00"  # the court's 2-year term
    from sqlalchemy import text

    with reg.engine.connect() as conn:
        dump = " ".join(str(r) for r in conn.execute(text("SELECT * FROM events")))
        dump += " ".join(str(r) for r in conn.execute(text("SELECT * FROM subjects")))
    assert PERSON not in dump and "张三" in dump  # the number never in clear; the name is held
    # the old 15-digit form of the same number finds the same person
    assert checks.answer(reg, "110105491231002", "restrict_air_travel")["restricted"]


def test_expiry_ends_the_listing_without_any_event(reg: Registry, clock: FixedClock) -> None:
    run(reg, [judgment("BJ-8", ORG2, conduct="obstructs_enforcement", listing_term_years="2")])
    assert checks.answer(reg, ORG2, "restrict_air_travel", at("2028-02-29T09:00"))["restricted"]
    assert not checks.answer(reg, ORG2, "restrict_air_travel", at("2028-03-01T09:00"))["restricted"]
    clock.set(at("2028-03-02"))
    result = listings.advance(reg, "test")
    assert (result.activated, result.expired) == (1, 1)
    (lst,) = subjects.subject_file(reg, ORG2)["listings"]
    assert lst["end_reason"] == "expired"


def test_red_list_incentive_and_supersession(reg: Registry, clock: FixedClock) -> None:
    s = run(reg, [tax_rating("TX-1")], "tax")
    assert s.listings_notified == 1
    a = checks.answer(reg, ORG, "tax_green_channel")
    assert a["applies"] and a["outcome"] == "eligible" and not a["restricted"]
    clock.set(at("2027-04-20"))
    run(reg, [tax_rating("TX-2", level="B", year=2026, decided_on="2027-04-15")], "tax")
    assert checks.answer(reg, ORG, "tax_green_channel")["outcome"] == "not_eligible"
    assert checks.answer(reg, ORG, "tax_green_channel", at("2026-12-01"))["applies"]


def test_only_the_ratings_the_law_publishes_are_public(reg: Registry, clock: FixedClock) -> None:
    """B-level tax ratings were published, against the pack's own note (only A and D are)."""
    from socialcredit.services import views

    clock.set(at("2026-05-01"))
    run(
        reg,
        [
            tax_rating("TX-A", year=2024, decided_on="2025-04-20"),
            tax_rating("TX-B", ORG2, level="B"),
        ],
        "tax",
    )
    public_a = views.public_profile(reg, ORG)["records"]
    assert [r["record_type"] for r in public_a] == ["tax_credit_rating"]
    assert views.public_profile(reg, ORG2)["records"] == []
    # the taxpayer sees its own rating in its file
    own = subjects.subject_file(reg, ORG2)["records"]
    assert [r["fields"]["level"] for r in own] == ["B"]


def test_a_black_listing_withholds_the_red_lists_incentives(
    reg: Registry, clock: FixedClock
) -> None:
    """A black-listed organisation stayed eligible for red-list incentives."""
    clock.set(at("2026-01-25"))
    run(reg, [tax_rating("TX-1")], "tax")
    run(reg, [judgment()])  # notified now, active after the one-month notice period
    before = checks.answer(reg, ORG, "tax_green_channel", at("2026-02-10"))
    assert before["outcome"] == "eligible" and "blocked_by" not in before
    clock.set(at("2026-03-01T09:00"))
    listings.advance(reg, "sweep")
    a = checks.answer(reg, ORG, "tax_green_channel")
    assert a["outcome"] == "not_eligible" and not a["applies"]
    assert [x["list"] for x in a["listings"]] == ["a_level_taxpayers"]
    assert [x["list"] for x in a["blocked_by"]] == ["dishonest_judgment_debtors"]
    assert "国发〔2016〕33号" in a["note"]
    bulk = checks.answer_bulk(reg, [ORG], "tax_green_channel")
    assert bulk["outcomes"] == ["not_eligible"] and bulk["answers"][0]["blocked_by"]
    assert checks.answer_many(reg, [ORG], "tax_green_channel")["results"][0] == a
    # performed: the black listing ends, the incentive is back
    clock.set(at("2026-03-05"))
    ingest.amend(
        reg,
        "court",
        "BJ-2026-0001",
        {"status": "performed", "performed_on": "2026-03-02"},
        actor="court",
    )
    clock.set(at("2026-03-10"))
    listings.advance(reg, "sweep")
    assert checks.answer(reg, ORG, "tax_green_channel")["outcome"] == "eligible"


def test_resubmitted_batch_creates_nothing_new(reg: Registry, clock: FixedClock) -> None:
    rows = [judgment(), judgment("BJ-2", ORG2, conduct=None, listing_ref=None), tax_rating("TX-1")]
    run(reg, rows[:2])
    run(reg, rows[2:], "tax")
    clock.set(at("2026-02-02"))
    listings.advance(reg, "test")  # what time alone changes is recorded first
    before = audit.fingerprint(reg)
    again = run(reg, rows[:2])
    assert (again.accepted, again.amended, again.unchanged) == (0, 0, 2)
    after = audit.fingerprint(reg)
    for table in ("subjects", "records", "listings", "notices", "review_queue"):
        assert before[table] == after[table], table
    assert after["ingest_batches"]["rows"] == before["ingest_batches"]["rows"] + 1


def test_bad_rows_are_reported_and_prohibited_values_never_stored(reg: Registry) -> None:
    rows = [
        judgment("R1", religion="佛教"),
        judgment("R2", decided_on="2026-13-45"),
        judgment("R3", subject="91110000600037342L"),
        tax_rating("R4"),
        {**judgment("R5"), "status": "pending"},
        {**judgment("R6"), "decision_ref": ""},
        {**judgment("R7"), "subject_id": ""},
        {**judgment("R8"), "favourite_colour": "red"},
        judgment("R9", subject="91110000600037341L"),
    ]
    s = run(reg, rows)
    assert (s.rows, s.accepted, s.rejected, s.queued) == (9, 1, 7, 1)
    by_row = {r.row: r for r in s.rejects}
    assert (
        by_row[1].field == "religion"
        and "prohibited category (religious opinion)" in by_row[1].reason
    )
    assert by_row[2].field == "decided_on" and "not a date" in by_row[2].reason
    assert by_row[3].field == "subject_id" and "organisation code" in by_row[3].reason
    assert by_row[4].field == "record_type" and "not competent" in by_row[4].reason
    assert by_row[5].field == "status" and "'pending' is not a status" in by_row[5].reason
    assert by_row[6].field == "decision_ref" and "missing" in by_row[6].reason
    assert by_row[8].field == "favourite_colour" and "not a field" in by_row[8].reason
    from sqlalchemy import text

    with reg.engine.connect() as conn:
        everything = " ".join(
            str(r)
            for t in ("events", "records", "review_queue", "ingest_batches")
            for r in conn.execute(text(f"SELECT * FROM {t}"))
        )
    assert "佛教" not in everything


def test_the_term_the_court_decision_sets_is_honoured(reg: Registry, clock: FixedClock) -> None:
    """A listing decision's own term (3 years) was replaced by the pack's five-year bound for
    its ground; a term outside the legal range (2-5 years, SPC Art. 2) is refused."""
    clock.set(at("2026-01-20"))
    s = run(
        reg,
        [
            judgment("T3", listing_term_years="3"),  # able_but_refuses: the pack says 5y
            judgment("T0", ORG2),  # no term in the decision: the pack's bound applies
            judgment("T9", listing_term_years="9"),
        ],
    )
    assert (s.accepted, s.rejected) == (2, 1)
    (bad,) = s.rejects
    assert bad.field == "listing_term_years" and "above the maximum 5" in bad.reason
    clock.set(at("2026-03-01T09:00"))
    listings.advance(reg, "sweep")
    until = {
        code: [x["until"] for x in subjects.subject_file(reg, code)["listings"]]
        for code in (ORG, ORG2)
    }
    assert until == {
        ORG: ["2029-02-20T00:00:00+08:00"],  # T3: the decision's three years
        ORG2: ["2031-02-20T00:00:00+08:00"],  # T0: the pack's bound for its ground
    }


def test_dates_before_the_law_or_after_the_act_are_refused(
    reg: Registry, clock: FixedClock
) -> None:
    """A decision dated 0001-01-01 (a placeholder), a performance dated after the day it is
    reported, and a resident ID whose birth date lies in the future were all accepted."""
    from stdnum.cn import ric

    clock.set(at("2026-03-01"))
    first17 = "110105" + "20990101" + "123"
    born_2099 = first17 + ric.calc_check_digit(first17 + "0")
    s = run(
        reg,
        [
            judgment("D1", decided_on="0001-01-01"),
            judgment("D2", status="performed", performed_on="2026-06-01"),
            judgment("D3", status="performed", performed_on="1900-01-01"),
            judgment("D4", born_2099),
            judgment("D5", status="performed", performed_on="2026-02-20"),
        ],
    )
    by_row = {r.row: r for r in s.rejects}
    assert by_row[1].field == "decided_on" and "before 1949-10-01" in by_row[1].reason
    assert by_row[2].field == "performed_on" and "in the future" in by_row[2].reason
    assert by_row[3].field == "performed_on" and "before 1949-10-01" in by_row[3].reason
    assert by_row[4].field == "subject_id" and "birth date is in the future" in by_row[4].reason
    assert born_2099 not in by_row[4].reason
    assert (s.accepted, s.rejected) == (1, 4)
    with pytest.raises(InvalidIdentifier, match="in the future"):
        checks.answer(reg, born_2099, "restrict_air_travel")


def test_tampered_or_deleted_event_is_found_and_named(reg: Registry, db_url: str) -> None:
    run(reg, [judgment(), judgment("BJ-2", ORG2)])
    from sqlalchemy import text

    assert audit.verify_chain(reg).ok
    with reg.engine.connect() as conn:
        seqs = [
            r.seq
            for r in conn.execute(
                text("SELECT seq FROM events WHERE type = 'record-accepted' ORDER BY seq")
            )
        ]
    target, later = seqs[0], seqs[1]
    # the log refuses changes at the database itself
    with pytest.raises(Exception, match="append-only"), reg.engine.begin() as conn:
        conn.execute(text("UPDATE events SET actor = 'x' WHERE seq = 2"))
    # someone with the rights to drop the guard can change a row; the chain names it
    with reg.engine.begin() as conn:
        _drop_guard(conn, db_url)
        conn.execute(
            text(
                f"UPDATE events SET payload = replace(payload, '250000', '25') WHERE seq = {target}"
            )
        )
    report = audit.verify_chain(reg)
    assert not report.ok and report.first_bad_seq == target
    assert "altered" in (report.problem or "")
    with reg.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE events SET payload = replace(payload, '\"25\"', '\"250000\"') "
                f"WHERE seq = {target}"
            )
        )
    assert audit.verify_chain(reg).ok
    with reg.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM events WHERE seq = {later}"))
    report = audit.verify_chain(reg)
    assert not report.ok and report.first_bad_seq == later and "missing" in (report.problem or "")
    with reg.engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)"))
    assert audit.verify_chain(reg).first_bad_seq == later


def _drop_guard(conn, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    if db_url.startswith("sqlite"):
        conn.execute(text("DROP TRIGGER events_no_update"))
        conn.execute(text("DROP TRIGGER events_no_delete"))
    else:
        conn.execute(text("DROP TRIGGER events_append_only_row ON events"))


def test_rebuild_reproduces_every_projection(reg: Registry, clock: FixedClock) -> None:
    run(
        reg,
        [
            judgment(),
            judgment("BJ-7", PERSON, conduct="evades_enforcement"),
            {**judgment("Q1"), "subject_id": ""},
        ],
    )
    run(reg, [tax_rating("TX-1")], "tax")
    clock.set(at("2026-03-05"))
    listings.advance(reg, "test")
    run(reg, [judgment(status="performed", performed_on="2026-03-04")])
    before = audit.fingerprint(reg)
    n = audit.rebuild(reg)
    assert n == audit.event_count(reg)
    assert audit.fingerprint(reg) == before
    assert sum(v["rows"] for v in before.values()) > 10


def test_time_never_runs_backwards(reg: Registry, clock: FixedClock) -> None:
    run(reg, [judgment()])
    clock.set(at("2026-01-31"))
    with pytest.raises(InvalidInput, match="backwards"):
        run(reg, [judgment("BJ-2", ORG2)])


def test_check_rejects_bad_input_clearly(reg: Registry) -> None:
    with pytest.raises(UnknownEntity, match="unknown measure 'fly'"):
        checks.answer(reg, ORG, "fly")
    with pytest.raises(InvalidIdentifier, match="check character"):
        checks.answer(reg, "91110000600037341M", "restrict_air_travel")
    with pytest.raises(InvalidInput) as exc:
        checks.answer_many(reg, [ORG, "nonsense", PERSON], "restrict_air_travel")
    assert exc.value.detail == {
        "invalid": [{"index": 1, "reason": "a USCC has 18 characters, this has 8"}]
    }
    batch = checks.answer_many(reg, [ORG, PERSON], "restrict_air_travel")
    assert [r["restricted"] for r in batch["results"]] == [False, False]


def test_unknown_valid_code_creates_a_subject_known_from_its_source(reg: Registry) -> None:
    run(reg, [judgment(conduct=None, listing_ref=None)])
    s = subjects.lookup(reg, ORG)
    assert s["known_from"] == "court" and s["kind"] == "organisation"
    assert s["organisation_code"] == "60003734-1"


def test_all_digit_uscc_is_an_organisation(reg: Registry) -> None:
    code = "526102047106168623"  # a valid USCC (social organisation) that is all digits
    assert subjects.resolve_code(reg, code).kind == "organisation"
    assert checks.answer(reg, code, "restrict_air_travel")["restricted"] is False


def test_a_source_ends_a_listing_by_amending_its_record_with_the_exit_decision(
    reg: Registry, clock: FixedClock
) -> None:
    """``ingest.amend`` keeps the record as it stands and changes what the source decided; the
    ended listing cites the decision that ended it. Another source cannot amend the record."""
    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    clock.set(parse_moment("2026-04-01T10:00"))
    with pytest.raises(UnknownEntity):
        ingest.amend(reg, "samr", "BJ-2026-0001", {"status": "performed"}, actor="samr")
    summary = ingest.amend(
        reg,
        "court",
        "BJ-2026-0001",
        {
            "status": "performed",
            "performed_on": "2026-03-30",
            "exit_decision_ref": "（2026）京0105执1234号之二",
        },
        actor="court",
    )
    assert (summary.amended, summary.listings_ended) == (1, 1)
    file = subjects.subject_file(reg, ORG)
    (record,) = file["records"]
    assert record["decision_ref"] == "（2026）京0105执1234号"  # the judgment's own, unchanged
    assert record["status"] == "performed" and record["fields"]["amount_yuan"] == "250000"
    (listing,) = file["listings"]
    assert listing["end_reason"] == "performed"
    assert listing["end_decision_ref"] == "（2026）京0105执1234号之二"


def test_a_stale_file_cannot_undo_a_later_decision(reg: Registry, clock: FixedClock) -> None:
    """A day-old file sent again set a performed judgment back to unperformed and listed the
    debtor again on a decision already used. Record versions never go backwards now."""
    from sqlalchemy import select

    from socialcredit.db import listings, records

    day_old = judgment("BJ-1")
    run(reg, [day_old])
    clock.set(at("2026-04-01"))
    performed = {**day_old, "status": "performed", "performed_on": "2026-03-30"}
    assert run(reg, [performed]).listings_ended == 1

    s = run(reg, [day_old])  # the day-old file, sent again
    assert (s.accepted, s.amended, s.rejected, s.listings_proposed) == (0, 0, 1, 0)
    assert s.rejects[0].field == "status" and "performed" in s.rejects[0].reason
    s = run(reg, [{**performed, "decided_on": "2026-01-10"}])  # decided before the one on file
    assert s.rejected == 1 and s.rejects[0].field == "decided_on"
    with reg.engine.connect() as conn:
        assert conn.execute(select(records.c.status)).scalar_one() == "performed"
        assert [r.status for r in conn.execute(select(listings.c.status))] == ["ended"]

    # the source's own versions decide where it sends them: a correction wins, an old one not
    fixed = {**performed, "decided_on": "2026-01-10", "record_version": "2"}
    assert run(reg, [fixed]).amended == 1
    assert run(reg, [{**fixed, "record_version": "1"}]).rejects[0].field == "record_version"
    assert run(reg, [{**fixed, "record_version": "x"}]).rejects[0].field == "record_version"


def test_a_read_as_of_a_future_moment_never_blocks_a_later_write(
    env: dict[str, str], reg: Registry, clock: FixedClock
) -> None:
    """A read with a future --as-of was recorded at that moment, and every later real-time
    write then failed (the log's clock had moved past the system's): the registry froze."""
    from socialcredit.clock import SystemClock
    from socialcredit.config import Settings

    clock.set(at("2026-02-01"))
    run(reg, [judgment()])
    clock.set(at("2099-01-01"))  # a demo's --as-of far ahead
    subjects.subject_file(reg, ORG, reader="cli:auditor", purpose="audit")
    checks.answer(reg, ORG, "restrict_air_travel", reader="agency:air")
    reads_flush = checks.index(reg).read_log.flush
    reads_flush()
    live = Registry(Settings.from_env(env), clock=SystemClock())
    try:
        s = ingest.ingest(live, numbered([judgment("BJ-LATER", ORG2)]), "court", actor="court")
        assert s.accepted == 1
    finally:
        live.close()
    with reg.engine.connect() as conn:
        from sqlalchemy import func, select

        from socialcredit.db import events

        last = conn.execute(select(func.max(events.c.at))).scalar_one()
    assert last.year < 2099
