"""The check service's two paths give one answer: the bulk endpoint's vectorised reading equals
``answer_many`` code by code; a listing written after the file was compiled is answered at once
(the overlay); past ``recompile_at`` touched subjects the file is compiled again; a file from
another database is never used."""

from __future__ import annotations

import pytest

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.errors import InvalidInput
from socialcredit.identifiers.uscc import build_uscc
from socialcredit.projections.check_file import CheckFile
from socialcredit.services import checks, ingest, listings
from tests.fixtures.rows import ORG, ORG2, PERSON, abnormal, judgment, numbered, penalty

STRANGER = build_uscc("9", "1", "110105", "MA01ABCD")  # valid, never seen by the register
NOBODY = "110105197005050037"


def build(reg: Registry) -> None:
    ingest.ingest(
        reg,
        numbered(
            [
                judgment(),
                judgment("BJ-7", PERSON, conduct="evades_enforcement", listing_term_years="2"),
            ]
        ),
        "court",
        actor="court",
    )
    ingest.ingest(reg, numbered([abnormal("AB-1", ORG2), penalty("P-1", ORG2)]), "samr", actor="s")


CODES = [ORG, ORG2, PERSON, NOBODY, STRANGER, ORG.lower(), f" {ORG2} ", PERSON.lower()]


def test_bulk_answers_equal_the_batch_answers(reg: Registry, clock: FixedClock) -> None:
    build(reg)
    clock.set(parse_moment("2026-03-02T12:00"))
    listings.advance(reg, "sweep")
    seen: set[str] = set()
    for measure in reg.pack.measures:
        for at in ("2026-02-01T09:00", "2026-02-15T12:00", "2026-03-02T12:00", "2028-06-01"):
            moment = parse_moment(at)
            many = checks.answer_many(reg, CODES, measure, moment)["results"]
            bulk = checks.answer_bulk(reg, CODES, measure, moment)
            assert bulk["count"] == len(CODES)
            assert bulk["outcomes"] == [a["outcome"] for a in many], (measure, at)
            detailed = {a.pop("index"): a for a in bulk["answers"]}
            for i, a in enumerate(many):
                plain = not (
                    a["listings"] or a.get("suspended") or a.get("notified_not_yet_active")
                )
                assert (i not in detailed) == plain, (measure, at, i)
                if i in detailed:
                    assert detailed[i] == a
            seen.update(bulk["outcomes"])
    assert {"restricted", "allowed", "unknown_subject"} <= seen


def test_an_organisation_the_register_does_not_hold_is_unknown_not_allowed(
    reg: Registry, clock: FixedClock
) -> None:
    """A well-formed code of no registered organisation was answered "allowed", as if checked
    and found clean. A person the register does not hold stays "allowed": answering otherwise
    would tell any agency whether a person is registered at all."""
    build(reg)
    idx = checks.index(reg)
    idx.compile()  # the file knows ORG and ORG2, not STRANGER
    m = "restrict_air_travel"
    one = checks.answer(reg, STRANGER, m)
    assert one["outcome"] == "unknown_subject" and not one["restricted"]
    assert "not a clearance" in one["note"]
    assert checks.answer(reg, NOBODY, m)["outcome"] == "allowed"
    assert checks.answer(reg, ORG2, m)["outcome"] == "allowed"
    assert checks.answer_bulk(reg, [STRANGER, ORG2, NOBODY], m)["outcomes"] == [
        "unknown_subject",
        "allowed",
        "allowed",
    ]
    # registered after the file was compiled: known at once (through the overlay)
    ingest.ingest(reg, numbered([penalty("P-9", STRANGER)]), "samr", actor="s")
    assert checks.answer(reg, STRANGER, m)["outcome"] == "allowed"
    assert STRANGER in idx.overlay  # the store answered, not the file
    assert checks.answer_bulk(reg, [STRANGER], m)["outcomes"] == ["allowed"]
    assert checks.answer_many(reg, [STRANGER], m)["results"][0]["outcome"] == "allowed"
    idx.compile()  # and from the file once compiled again
    assert not idx.overlay
    assert checks.answer(reg, STRANGER, m)["outcome"] == "allowed"


def test_bulk_names_every_malformed_code(reg: Registry) -> None:
    with pytest.raises(InvalidInput) as exc:
        checks.answer_bulk(reg, [ORG, "91110000600037341X", "", "中文"], "restrict_air_travel")
    assert [b["index"] for b in exc.value.detail["invalid"]] == [1, 2, 3]


def test_a_listing_after_the_file_is_answered_at_once(reg: Registry, clock: FixedClock) -> None:
    idx = checks.index(reg)
    at = parse_moment("2026-03-03T12:00")
    # not in the register yet: unknown, not "allowed"
    assert checks.answer(reg, ORG, "restrict_air_travel", at)["outcome"] == "unknown_subject"
    compiled = idx.compiled
    build(reg)  # no sweep, no compile: the new listings reach checks through the overlay
    clock.set(parse_moment("2026-03-02T12:00"))
    listings.advance(reg, "sweep")
    assert checks.answer(reg, ORG, "restrict_air_travel", at)["outcome"] == "restricted"
    bulk = checks.answer_bulk(reg, [ORG, ORG2], "restrict_air_travel", at)
    assert bulk["outcomes"] == ["restricted", "allowed"]
    assert idx.compiled == compiled and ORG in idx.overlay
    # past the threshold the file is compiled again and the overlay empties
    idx.recompile_at = 0
    idx.invalidate()
    ingest.ingest(reg, numbered([penalty("P-2", ORG2)]), "samr", actor="s")
    assert checks.answer(reg, ORG, "restrict_air_travel", at)["outcome"] == "restricted"
    assert idx.compiled == compiled + 1 and idx.overlay == frozenset()
    f = CheckFile(idx.path)
    assert f.hits_for([ORG], "restrict_air_travel", at) == [True]


def test_a_file_of_another_database_is_not_used(
    reg: Registry, clock: FixedClock, tmp_path_factory: pytest.TempPathFactory
) -> None:
    build(reg)
    clock.set(parse_moment("2026-03-02T12:00"))
    listings.advance(reg, "sweep")
    idx = checks.index(reg)
    at = parse_moment("2026-03-03T12:00")
    assert checks.answer(reg, ORG, "restrict_air_travel", at)["outcome"] == "restricted"
    # the same path, overwritten by a file whose origin differs (another register's log)
    f = CheckFile(idx.path)
    import numpy as np

    from socialcredit.projections.check_file import write_file

    empty = {
        m: (np.zeros(0, np.uint64), np.zeros(0, np.uint32), np.zeros(0, np.uint32))
        for m in reg.pack.measures
    }
    write_file(idx.path, empty, version=f.version, origin="another-log")
    idx.version = -1
    idx.invalidate()
    compiled = idx.compiled
    assert checks.answer(reg, ORG, "restrict_air_travel", at)["outcome"] == "restricted"
    assert idx.compiled == compiled + 1
    assert CheckFile(idx.path).origin == f.origin


def test_the_exact_path_keeps_a_listing_only_until_an_event_about_its_subject(
    reg: Registry, env: dict[str, str], clock: FixedClock
) -> None:
    """A listed subject's listings are kept after the first check, so the next is answered
    without reading the store; a change written by another process (whose commits this one
    does not hear of) evicts them at the next look at the log's head."""
    from socialcredit.config import Settings

    build(reg)
    clock.set(parse_moment("2026-03-02T12:00"))
    listings.advance(reg, "sweep")
    idx = checks.index(reg)
    at = parse_moment("2026-03-03T12:00")
    assert checks.answer(reg, ORG, "restrict_air_travel", at)["outcome"] == "restricted"
    kept = idx.cached(ORG)
    assert kept and all(e.ended_at is None for e in kept)
    assert idx.cached(ORG2) is None  # not checked yet
    other = Registry(Settings.from_env(env), clock=clock)
    try:
        clock.set(parse_moment("2026-03-05"))
        ingest.amend(
            other,
            "court",
            "BJ-2026-0001",
            {"status": "performed", "performed_on": "2026-03-02"},
            actor="court",
        )
    finally:
        other.close()
    # within the staleness bound the kept answer may still be given; after it, never
    assert idx.cached(ORG) == kept
    idx.invalidate()
    after = parse_moment("2026-03-06T12:00")
    assert checks.answer(reg, ORG, "restrict_air_travel", after)["outcome"] == "allowed"
    again = idx.cached(ORG)
    assert again is not None and all(e.ended_at is not None for e in again)
