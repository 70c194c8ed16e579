"""The log commits to batches: an ingest batch's facts are not chained one by one; the batch
event after them carries their Merkle root, each fact is provable by its audit path, and a
changed, removed or reordered fact is caught by ``audit verify`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.errors import UnknownEntity
from socialcredit.events import batches, merkle
from socialcredit.services import audit, ingest
from tests.fixtures.rows import ORG, PERSON, judgment, numbered, penalty


def _unguard(conn: Any) -> None:
    """What someone with write access to the database can do: remove the log's guard."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER IF EXISTS events_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS events_no_delete"))
    else:
        conn.execute(text("DROP TRIGGER IF EXISTS events_append_only_row ON events"))


def _rows(reg: Registry) -> list[Any]:
    with reg.engine.connect() as conn:
        return conn.execute(text("SELECT * FROM events ORDER BY seq")).all()


def test_a_batch_is_one_chained_event_committing_to_its_facts(
    reg: Registry, clock: FixedClock
) -> None:
    clock.set(parse_moment("2026-02-01T10:00"))
    penalties = [penalty(f"P-{i}") for i in range(140)]
    ingest.ingest(reg, numbered(penalties), "samr", actor="samr", batch_size=1000)
    ingest.ingest(reg, numbered([judgment(), judgment("BJ-P", PERSON)]), "court", actor="court")
    rows = _rows(reg)
    batch_events = [r for r in rows if r.type == "batch-ingested"]
    assert len(batch_events) == 2
    for b in batch_events:
        assert b.batch_seq is None and b.prev_hash  # chained
        commit = json.loads(b.payload)["facts"]
        facts = [r for r in rows if r.batch_seq == b.seq]
        assert [r.seq for r in facts] == list(range(commit["first"], b.seq))
        assert commit["count"] == len(facts) > 0
        assert all(r.prev_hash == "" for r in facts)  # not chained one by one
        leaves = [bytes.fromhex(r.hash) for r in facts]
        assert commit["root"] == merkle.root_of_hashes(leaves).hex()
    big = json.loads(batch_events[0].payload)["facts"]
    assert big["count"] > batches.CHUNK  # the proof below crosses chunks
    assert audit.verify_chain(reg).ok
    sampled = audit.verify_chain(reg, sample=1)
    assert sampled.ok and sampled.head_seq == rows[-1].seq
    # the chain's events, plus the one chunk (at most 256 facts) of the fact drawn
    chained = sum(1 for r in rows if r.batch_seq is None)
    assert chained + 1 <= sampled.events_checked <= chained + batches.CHUNK < len(rows)

    # every fact of every kind is provable, and its path is its RFC 6962 audit path
    all_leaves = {
        b.seq: [bytes.fromhex(r.hash) for r in rows if r.batch_seq == b.seq] for b in batch_events
    }
    kinds = set()
    for r in rows:
        if r.batch_seq is None:
            continue
        p = audit.prove(reg, r.seq)
        assert p["hash_verified"], r.seq
        proof = p["fact"]["proof"]
        leaves = all_leaves[r.batch_seq]
        assert proof["path"] == [h.hex() for h in merkle.audit_path(leaves, proof["index"])]
        assert p["fact"]["batch"]["seq"] == r.batch_seq
        kinds.add(r.type)
    assert {"subject-registered", "record-accepted", "listing-proposed", "grade-assigned"} <= kinds
    assert audit.prove(reg, batch_events[0].seq)["hash_verified"]  # a chained event: its hash
    with pytest.raises(UnknownEntity):
        audit.prove(reg, 10**9)
    # the subject's trail carries each fact's proof
    trail = audit.export_subject(reg, ORG)
    assert trail and all(e["hash_verified"] for e in trail)
    assert any(e.get("fact", {}).get("proof") for e in trail)


def _fact_seqs(reg: Registry) -> list[int]:
    return [r.seq for r in _rows(reg) if r.batch_seq is not None and r.type == "record-accepted"]


def test_a_changed_fact_is_caught_even_with_its_digest_and_leaf_recomputed(
    reg: Registry, clock: FixedClock
) -> None:
    clock.set(parse_moment("2026-02-01T10:00"))
    ingest.ingest(reg, numbered([penalty(f"P-{i}") for i in range(20)]), "samr", actor="samr")
    target = _fact_seqs(reg)[3]
    r = next(x for x in _rows(reg) if x.seq == target)
    forged = r.payload.replace('"P-3"', '"P-X"')
    assert forged != r.payload
    from socialcredit.events.chain import payload_digest

    digest = payload_digest(forged)
    leaf = batches.fact_leaf(r.event_id, r.type, r.subject_id, digest).hex()
    with reg.engine.begin() as conn:
        _unguard(conn)
        conn.execute(
            text("UPDATE events SET payload = :p WHERE seq = :s"), {"p": forged, "s": target}
        )
    report = audit.verify_chain(reg)
    assert not report.ok and report.first_bad_seq == target and "altered" in (report.problem or "")
    assert not audit.prove(reg, target)["hash_verified"]
    # recompute what a forger can: the digest and the leaf; the batch's root still differs
    with reg.engine.begin() as conn:
        conn.execute(
            text("UPDATE events SET payload_digest = :d, hash = :h WHERE seq = :s"),
            {"d": digest, "h": leaf, "s": target},
        )
    report = audit.verify_chain(reg)
    assert not report.ok and "batch event" in (report.problem or "")
    assert report.first_bad_seq == next(x.batch_seq for x in _rows(reg) if x.seq == target)
    assert not audit.prove(reg, target)["hash_verified"]
    # the sampled check finds it when the sample draws its chunk (here: every fact is drawn)
    sampled = audit.verify_chain(reg, sample=10**6)
    assert not sampled.ok and "no longer match the root" in (sampled.problem or "")


def test_a_removed_fact_and_a_reordered_batch_are_caught(reg: Registry, clock: FixedClock) -> None:
    clock.set(parse_moment("2026-02-01T10:00"))
    ingest.ingest(reg, numbered([penalty(f"P-{i}") for i in range(20)]), "samr", actor="samr")
    a, b = _fact_seqs(reg)[2:4]
    # reordered: two facts exchange their places (every column but the number)
    cols = "event_id, type, subject_id, payload, payload_digest, hash"
    with reg.engine.begin() as conn:
        _unguard(conn)
        ra = conn.execute(text(f"SELECT {cols} FROM events WHERE seq = {a}")).first()
        rb = conn.execute(text(f"SELECT {cols} FROM events WHERE seq = {b}")).first()
        # event ids are unique: move one aside first
        conn.execute(text(f"UPDATE events SET event_id = 'tmp' WHERE seq = {a}"))
        for seq, src in ((b, ra), (a, rb)):
            conn.execute(
                text(
                    "UPDATE events SET event_id = :e, type = :t, subject_id = :su, payload = :p, "
                    "payload_digest = :d, hash = :h WHERE seq = :s"
                ),
                {
                    "e": src[0],
                    "t": src[1],
                    "su": src[2],
                    "p": src[3],
                    "d": src[4],
                    "h": src[5],
                    "s": seq,
                },
            )
    report = audit.verify_chain(reg)
    assert not report.ok and "reordered" in (report.problem or "")
    # removed: the fact is gone
    with reg.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM events WHERE seq = {a}"))
    report = audit.verify_chain(reg)
    assert not report.ok and report.first_bad_seq == a and "missing" in (report.problem or "")
    sampled = audit.verify_chain(reg, sample=1)
    assert not sampled.ok and sampled.first_bad_seq == a and "missing" in (sampled.problem or "")


def test_a_removed_batch_event_leaves_its_facts_uncommitted(
    reg: Registry, clock: FixedClock
) -> None:
    clock.set(parse_moment("2026-02-01T10:00"))
    ingest.ingest(reg, numbered([penalty("P-1")]), "samr", actor="samr")
    (batch,) = [r for r in _rows(reg) if r.type == "batch-ingested"]
    with reg.engine.begin() as conn:
        _unguard(conn)
        conn.execute(text(f"DELETE FROM events WHERE seq = {batch.seq}"))
        conn.execute(
            text("UPDATE chain_head SET seq = :s, hash = :h"),
            {"s": batch.seq - 1, "h": "0" * 64},
        )
    report = audit.verify_chain(reg)
    assert not report.ok and "committed by no batch event" in (report.problem or "")


def test_each_read_is_a_fact_the_subject_can_have_proved(reg: Registry, clock: FixedClock) -> None:
    from socialcredit.services import reads, subjects

    clock.set(parse_moment("2026-02-01T10:00"))
    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    sid = subjects.resolve_code(reg, ORG).subject_id
    at = parse_moment("2026-02-01T10:00")
    reads.record(
        reg,
        [
            reads.read_entry(sid, "agency:air", "check", at, {"measure": "restrict_air_travel"}),
            reads.read_entry("P-other", "agency:air", "check", at, {"measure": "x"}),
        ],
        "recorder",
    )
    subjects.subject_file(reg, ORG, reader="reviewer:li", purpose="review")
    file = subjects.subject_file(reg, ORG)
    assert len(file["reads"]) == 2
    for r in file["reads"]:
        p = audit.prove(reg, r["log_seq"])
        assert p["hash_verified"] and p["type"] == "read-recorded"
        assert p["payload"]["subject_id"] == sid  # the proof shows the subject's own read only
        assert audit.fact_subject(reg, r["log_seq"]) == sid
    # a read's row names no subject: it neither sends checks to the exact path nor fills the
    # replay of the subject's file
    assert all(r.subject_id is None for r in _rows(reg) if r.type == "read-recorded")
    assert audit.verify_chain(reg).ok
    before = audit.fingerprint(reg)
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before
