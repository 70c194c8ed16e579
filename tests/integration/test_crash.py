"""Crash safety: processes killed with SIGKILL at random points, then restarted.

- Ingest: every batch the process acknowledged is in the store, no batch is there in part, the
  chain verifies, and running the file again completes it without duplicates (the store ends
  equal to an uninterrupted load).
- Notice outbox: no notice is lost, and every copy a receiver got carries the notice's
  idempotency key (its Message-ID), so a repeat after a crash is recognisable.
- Check file swap: whenever the writer dies, the file at the path is a whole file, the old one
  or the new one, never a mix.

On SQLite and PostgreSQL (the check file is a plain file: once). Kill moments come from a
seeded random generator, so a failure can be replayed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.config import Settings
from socialcredit.db import deliveries, ingest_batches, notices, records
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.projections.check_file import CheckFile
from socialcredit.services import audit, ingest, subjects
from tests.integration.test_notices import Mailbox, free_port

AT = "2026-02-01T09:00"
BATCH = 20

INGEST_CHILD = """
import sys
from pathlib import Path
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.config import Settings
from socialcredit.ingest.readers import read_rows
from socialcredit.services.ingest import ingest

reg = Registry(Settings.from_env(), clock=FixedClock(parse_moment(sys.argv[2])))
print("READY", flush=True)
done = 0
def ack(n):
    global done
    done += n
    print("ACK", done, flush=True)
ingest(reg, read_rows(Path(sys.argv[1])), "samr", actor="samr", batch_size=int(sys.argv[3]),
       progress=ack)
print("DONE", flush=True)
"""


def _env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "PYTHONPATH": os.pathsep.join(sys.path)}


def _run_and_kill(args: list[str], env: dict[str, str], delay: float) -> tuple[list[str], bool]:
    """Start a child, let it run ``delay`` seconds after it is ready, SIGKILL it; its output
    lines and whether it finished on its own first."""
    proc = subprocess.Popen(
        [sys.executable, "-c", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline().strip()]
    assert lines[0] == "READY", (lines, proc.stderr.read() if proc.stderr else "")
    time.sleep(delay)
    finished = proc.poll() is not None
    if not finished:
        proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    lines += [ln for ln in out.splitlines() if ln]
    if finished:
        assert proc.returncode == 0, err
    return lines, finished


def _acked(lines: list[str]) -> int:
    acks = [int(ln.split()[1]) for ln in lines if ln.startswith("ACK")]
    return acks[-1] if acks else 0


def _reference(env: dict[str, str], data: Path, tmp: Path) -> list[set[str]]:
    """Record ids in the store after each batch of an uninterrupted load (SQLite)."""
    ref = Registry(
        Settings.from_env({**env, "SOCIALCREDIT_DATABASE_URL": f"sqlite:///{tmp / 'ref.db'}"}),
        clock=FixedClock(parse_moment(AT)),
    )
    after: list[set[str]] = [set()]

    def snap(_n: int) -> None:
        with ref.engine.connect() as conn:
            after.append(set(conn.execute(select(records.c.source_record_id)).scalars()))

    try:
        ingest.ingest(
            ref, read_rows(data / "samr.csv"), "samr", actor="samr", batch_size=BATCH, progress=snap
        )
    finally:
        ref.close()
    return after


def test_ingest_killed_at_random_points(env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(120, data, seed=3)
    prefixes = _reference(env, data, tmp_path)
    batches_in_file = len(prefixes) - 1
    rng = random.Random(9)
    child_env = _env(env)
    args = [INGEST_CHILD, str(data / "samr.csv"), AT, str(BATCH)]
    reg = Registry(Settings.from_env(env), clock=FixedClock(parse_moment(AT)))
    try:
        for _attempt in range(4):
            lines, finished = _run_and_kill(args, child_env, rng.uniform(0, 1.5))
            with reg.engine.connect() as conn:
                ids = set(conn.execute(select(records.c.source_record_id)).scalars())
                n_batches = conn.execute(
                    select(func.count()).select_from(ingest_batches)
                ).scalar_one()
            assert audit.verify_chain(reg).ok
            # the store holds whole batches of the file: the records of its first k batches
            # for some k, at least as many as were acknowledged (each run restarts the file,
            # and a batch already in the store changes nothing)
            matching = [k for k, p in enumerate(prefixes) if p == ids]
            assert matching, f"the store holds a partial batch: {sorted(ids)[:5]}..."
            acked_rows = _acked(lines)
            assert max(matching) >= min(batches_in_file, -(-acked_rows // BATCH)) or (
                acked_rows == 0
            )
            assert n_batches >= -(-acked_rows // BATCH)
            if finished:
                break
        # a final run completes the file; the store ends as an uninterrupted load
        done = subprocess.run(
            [sys.executable, "-c", *args], env=child_env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        with reg.engine.connect() as conn:
            ids_list = list(conn.execute(select(records.c.source_record_id)).scalars())
        assert len(ids_list) == len(set(ids_list))
        assert set(ids_list) == prefixes[-1]
        assert audit.verify_chain(reg).ok
        before = audit.fingerprint(reg)
        audit.rebuild(reg)
        assert audit.fingerprint(reg) == before
    finally:
        reg.close()


DELIVER_CHILD = """
import sys
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.config import Settings
from socialcredit.services.notices import Channels, deliver_due

reg = Registry(Settings.from_env(), clock=FixedClock(parse_moment(sys.argv[1])))
print("READY", flush=True)
s = deliver_due(reg, Channels(smtp_host="127.0.0.1", smtp_port=int(sys.argv[2])))
print("DONE", s.as_dict(), flush=True)
"""


def test_notice_outbox_killed_at_random_points(
    env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    from aiosmtpd.controller import Controller

    from socialcredit.services import notices as notice_service
    from tests.fixtures.rows import judgment, numbered

    reg = Registry(Settings.from_env(env), clock=FixedClock(parse_moment(AT)))
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        data = tmp_path / "data"
        generate(60, data, seed=5)
        listed = [json.loads(x) for x in (data / "subjects.jsonl").read_text("utf-8").splitlines()]
        codes = [s["subject_id"] for s in listed if s["kind"] == "organisation"]
        rows = [judgment(f"J-{i}", code) for i, code in enumerate(codes[:12])]
        for code in codes[:12]:
            notice_service.set_contact(
                reg, code, email=f"{code}@example.com", webhook_url=None, actor="op"
            )
        reg.clock.set(parse_moment("2026-02-01T10:00"))  # type: ignore[attr-defined]
        ingest.ingest(reg, numbered(rows), "court", actor="court")
        with reg.engine.connect() as conn:
            expected = set(conn.execute(select(notices.c.notice_id)).scalars())
        assert len(expected) >= 12
        rng = random.Random(4)
        args = [DELIVER_CHILD, "2026-02-01T11:00", str(port)]
        for _attempt in range(4):
            _lines, finished = _run_and_kill(args, _env(env), rng.uniform(0, 1.0))
            if finished:
                break
        done = subprocess.run(
            [sys.executable, "-c", *args], env=_env(env), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        time.sleep(0.2)  # the SMTP server hands over the last message
        with reg.engine.connect() as conn:
            delivered = set(
                conn.execute(
                    select(deliveries.c.notice_id).where(deliveries.c.status == "delivered")
                ).scalars()
            )
        assert delivered == expected  # none lost
        ids = [m["Message-ID"] for m in box.messages]
        assert all(ids)  # every copy carries its idempotency key
        assert {i.strip("<>").split(".")[0] for i in ids} == expected
        # a repeat is the same notice under the same key, never a different one
        assert len(set(ids)) == len(expected)
        assert audit.verify_chain(reg).ok
        assert subjects.subject_file(reg, codes[0])["name"]
    finally:
        controller.stop()
        reg.close()


SWAP_CHILD = """
import sys
import numpy as np
from pathlib import Path
from socialcredit.projections.check_file import write_file
print("READY", flush=True)
n, version = int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(version)
keys = rng.integers(0, 2**63, n, dtype=np.uint64)
keys[:1000] = np.arange(1000, dtype=np.uint64) * np.uint64(2**53) + np.uint64(version)
froms = np.zeros(n, dtype=np.uint32)
untils = np.full(n, 2**32 - 1, dtype=np.uint32)
write_file(Path(sys.argv[1]), {"m": (keys, froms, untils)}, version)
print("DONE", flush=True)
"""


def _probe(version: int) -> np.ndarray:
    return np.arange(1000, dtype=np.uint64) * np.uint64(2**53) + np.uint64(version)


def test_check_file_swap_killed_at_random_points(tmp_path: Path) -> None:
    path = tmp_path / "checks.bin"
    n = 1_000_000
    first = subprocess.Popen(
        [sys.executable, "-c", SWAP_CHILD, str(path), str(n), "1"],
        env=_env(dict(os.environ)),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert first.stdout is not None and first.stdout.readline().strip() == "READY"
    t0 = time.perf_counter()
    assert first.wait(timeout=120) == 0
    writing = time.perf_counter() - t0  # how long a whole write takes on this machine now
    # kills spread over the write, and two after it (so that the swap itself is seen)
    fractions = [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 2.5, 3.0]
    random.Random(11).shuffle(fractions)
    current = 1
    seen: dict[str, Any] = {"old": 0, "new": 0}
    for attempt, fraction in enumerate(fractions, start=2):
        _lines, _finished = _run_and_kill(
            [SWAP_CHILD, str(path), str(n), str(attempt)],
            _env(dict(os.environ)),
            writing * fraction,
        )
        f = CheckFile(path)  # always a whole file
        v = f.version
        assert v in (current, attempt)
        seen["new" if v == attempt else "old"] += 1
        assert f.hits(_probe(v), "m", 0).all()
        assert f.header["measures"]["m"]["count"] == n
        current = v
    assert seen["old"] and seen["new"], seen  # the kills hit both before and after the swap
    stray = [p for p in tmp_path.iterdir() if p.name != path.name]
    assert all(p.name.endswith(".tmp") for p in stray)  # only a dead writer's partial file


BACKFILL_CHILD = """
import sys
from pathlib import Path
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.config import Settings
from socialcredit.services.backfill import BackfillFile, backfill

if __name__ == "__main__":
    reg = Registry(Settings.from_env(), clock=FixedClock(parse_moment(sys.argv[2])))
    print("READY", flush=True)
    backfill(reg, [BackfillFile(Path(sys.argv[1]), "samr")], actor="samr", workers=3,
             batch_size=int(sys.argv[3]), work_dir=Path(sys.argv[4]),
             progress=lambda stage, n: print(stage.upper(), n, flush=True))
    print("DONE", flush=True)
"""


def test_backfill_killed_at_random_points(env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    """A backfill killed while its shards ingest (at a random moment), then one killed as soon
    as it has merged its first shard: the store holds whole shards (the first k), the chain
    verifies, and the ordinary ingest of the file then completes it."""

    from socialcredit.services.backfill_partition import partition, staged_rows

    data = tmp_path / "data"
    generate(120, data, seed=3)
    full = _reference(env, data, tmp_path)[-1]
    reg = Registry(Settings.from_env(env), clock=FixedClock(parse_moment(AT)))
    parts_dir = tmp_path / "parts"
    parts_dir.mkdir()
    parts = partition(reg.pack, [("samr.csv", read_rows(data / "samr.csv"))], 3, parts_dir, None)
    shard_ids = [
        {row["source_record_id"] for _n, row in staged_rows(p[0]) if isinstance(row, dict)} & full
        for p in parts.paths
    ]
    wholes = [set().union(*shard_ids[:k]) for k in range(4)]
    work = tmp_path / "work"
    script = tmp_path / "backfill_child.py"  # a file: worker processes re-import the main module
    script.write_text(BACKFILL_CHILD)
    rng = random.Random(5)
    child_env = _env(env)
    try:
        for attempt in range(2):
            proc = subprocess.Popen(
                [sys.executable, str(script), str(data / "samr.csv"), AT, str(BATCH), str(work)],
                env=child_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
            )
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "READY"
            if attempt == 0:
                time.sleep(rng.uniform(0.5, 3))
            else:
                for line in proc.stdout:
                    if line.startswith("MERGE"):
                        break
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
            with reg.engine.connect() as conn:
                ids = set(conn.execute(select(records.c.source_record_id)).scalars())
            if attempt == 1:
                assert shard_ids[0] <= ids, "the first shard was merged"
            assert ids in wholes, "the store holds part of a shard"
            assert audit.verify_chain(reg).ok
        done = subprocess.run(
            [sys.executable, "-c", INGEST_CHILD, str(data / "samr.csv"), AT, str(BATCH)],
            env=child_env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        with reg.engine.connect() as conn:
            ids_list = list(conn.execute(select(records.c.source_record_id)).scalars())
        assert sorted(ids_list) == sorted(full)
        assert audit.verify_chain(reg).ok
        before = audit.fingerprint(reg)
        audit.rebuild(reg)
        assert audit.fingerprint(reg) == before
    finally:
        reg.close()
