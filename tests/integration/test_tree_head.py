"""The chain anchored outside the database: a signed tree head, and ``audit verify --against``.

Nothing outside the database anchored the chain, so truncating the tail (and moving the head
back), or rewriting history with recomputed hashes, verified. Here both are done the way someone
with write access to the database would (the log's guard removed first); the chain inside still
verifies, and the head published before catches both.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text

from socialcredit.bootstrap import Registry
from socialcredit.config import new_keys
from socialcredit.events.chain import event_hash
from socialcredit.events.treehead import check_signature
from socialcredit.services import audit, ingest, opendata
from tests.fixtures.rows import ORG, judgment, numbered, penalty


def _unguard(conn: Any) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER IF EXISTS events_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS events_no_delete"))
    else:
        conn.execute(text("DROP TRIGGER IF EXISTS events_append_only_row ON events"))
        conn.execute(text("DROP TRIGGER IF EXISTS events_append_only ON events"))


def _fill(reg: Registry) -> dict[str, Any]:
    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    head = audit.signed_head(reg)
    ingest.ingest(reg, numbered([penalty("P-1"), penalty("P-2", ORG)]), "samr", actor="samr")
    assert head["size"] >= 3 and audit.verify_chain(reg).ok
    assert audit.verify_against(reg, head).ok
    return head


def test_a_head_is_signed_and_checked(reg: Registry) -> None:
    head = _fill(reg)
    assert check_signature(head) is None
    forged = {**head, "size": head["size"] - 1}
    assert "signature" in (audit.verify_against(reg, forged).problem or "")
    other = new_keys()["log_signing_key"]
    from socialcredit.events.treehead import sign

    foreign = sign(other, log=head["log"], size=head["size"], head=head["head"], at=head["at"])
    assert "another key" in (audit.verify_against(reg, foreign).problem or "")


def test_a_truncated_log_fails_against_the_head(reg: Registry) -> None:
    head = _fill(reg)
    with reg.engine.begin() as conn:
        _unguard(conn)
        # cut after the last chained event before the head: inside, a whole log
        keep = (
            conn.execute(
                text("SELECT max(seq) FROM events WHERE batch_seq IS NULL AND seq < :n"),
                {"n": head["size"]},
            ).scalar()
            or 0
        )
        conn.execute(text("DELETE FROM events WHERE seq > :k"), {"k": keep})
        last = conn.execute(text("SELECT hash FROM events WHERE seq = :k"), {"k": keep}).scalar()
        conn.execute(
            text("UPDATE chain_head SET seq = :k, hash = :h"), {"k": keep, "h": last or "0" * 64}
        )
    assert audit.verify_chain(reg).ok  # inside the database nothing looks wrong
    report = audit.verify_against(reg, head)
    assert not report.ok and "truncated" in (report.problem or "")


def test_history_rewritten_with_recomputed_hashes_fails_against_the_head(reg: Registry) -> None:
    """The attacker changes a fact and recomputes everything the log holds: the fact's digest
    and leaf, its batch's Merkle roots, and every chain hash after it."""
    from socialcredit.events import batches
    from socialcredit.events.chain import GENESIS, canonical

    head = _fill(reg)
    with reg.engine.begin() as conn:
        _unguard(conn)
        rows = conn.execute(text("SELECT * FROM events ORDER BY seq")).mappings().all()
        prev, leaves, first = GENESIS, [], None
        for r in rows:
            payload = r["payload"]
            if r["seq"] == 2:
                payload = payload.replace("北京市朝阳区人民法院", "某某法院")
                assert payload != r["payload"]
            if r["batch_seq"] is not None:  # a fact: its digest and leaf
                digest = hashlib.sha256(payload.encode()).hexdigest()
                leaf = batches.fact_leaf(r["event_id"], r["type"], r["subject_id"], digest)
                first = first or r["seq"]
                leaves.append(leaf)
                conn.execute(
                    text(
                        "UPDATE events SET payload = :p, payload_digest = :d, hash = :h WHERE seq = :s"
                    ),
                    {"p": payload, "d": digest, "h": leaf.hex(), "s": r["seq"]},
                )
                continue
            if leaves:  # the batch event: the roots of its facts as they now are
                doc = json.loads(payload)
                doc["facts"] = batches.commitment(first, leaves)
                payload = canonical(doc)
                leaves, first = [], None
            digest = hashlib.sha256(payload.encode()).hexdigest()
            h = event_hash(
                prev,
                r["seq"],
                r["event_id"],
                r["type"],
                r["at"] if not isinstance(r["at"], str) else _dt(r["at"]),
                r["actor"],
                r["subject_id"],
                "sha256:" + digest,
            )
            conn.execute(
                text(
                    "UPDATE events SET payload = :p, payload_digest = :d, prev_hash = :pv, "
                    "hash = :h WHERE seq = :s"
                ),
                {"p": payload, "d": digest, "pv": prev, "h": h, "s": r["seq"]},
            )
            prev = h
        conn.execute(text("UPDATE chain_head SET hash = :h"), {"h": prev})
    assert audit.verify_chain(reg).ok  # recomputed: the chain and the batches inside verify
    report = audit.verify_against(reg, head)
    assert not report.ok and "rewritten" in (report.problem or "")


def _dt(s: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(s)


def test_the_head_is_published_and_the_command_checks_it(
    reg: Registry, env: dict[str, str], tmp_path: Path
) -> None:
    head = _fill(reg)
    manifest = opendata.snapshot(reg, tmp_path / "open-data")
    published = manifest["tree_head"]
    assert check_signature(published) is None and published["size"] > head["size"]
    kept = tmp_path / "head.json"
    kept.write_text(json.dumps(head), encoding="utf-8")

    def verify_against(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "socialcredit", "audit", "verify", "--against", str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    ok = verify_against(kept)
    assert ok.returncode == 0, ok.stderr
    assert "extends the head" in ok.stdout
    with reg.engine.begin() as conn:
        _unguard(conn)
        conn.execute(text("DELETE FROM events WHERE seq > 1"))
        first = conn.execute(text("SELECT hash FROM events WHERE seq = 1")).scalar()
        conn.execute(text("UPDATE chain_head SET seq = 1, hash = :h"), {"h": first})
    manifest_file = tmp_path / "manifest.json"
    manifest_file.write_text(json.dumps(manifest), encoding="utf-8")
    bad = verify_against(manifest_file)
    assert bad.returncode == 1 and "truncated" in bad.stderr


def test_the_public_chain_check_walks_only_what_was_appended(
    reg: Registry, monkeypatch: Any
) -> None:
    """/v1/audit/chain re-hashed the whole log on every call (2 s at 22k events); it walks it
    once per process now, then only the events appended since."""
    from socialcredit.events import store

    walked: list[tuple[int, str] | None] = []
    real = store.verify

    def spy(conn: Any, *, after: tuple[int, str] | None = None) -> Any:
        walked.append(after)
        return real(conn, after=after)

    monkeypatch.setattr(audit, "verify", spy)
    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    first = audit.chain_status(reg)
    assert first.ok and walked == [None]
    n = first.events_checked
    again = audit.chain_status(reg)
    assert again.ok and again.events_checked == n and walked[-1] == (n, walked[-1][1])
    ingest.ingest(reg, numbered([penalty("P-1")]), "samr", actor="samr")
    later = audit.chain_status(reg)
    assert later.ok and later.events_checked == audit.event_count(reg) > n
    assert walked[-1] is not None and walked[-1][0] == n  # only the events after n
