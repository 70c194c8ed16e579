# ruff: noqa: T201  (a benchmark reports progress and results on stdout)
"""The log at volume: appending batches of facts, proving one fact, verifying the log.

Usage:
    python bench/prove.py [--facts 1000000,10000000] [--batch 13500] [--proofs 1000]
                          [--sample 1000] [--runs 3] [--engines sqlite,postgresql]
                          [--postgres-url URL] [--out bench/results]

For each size, a fresh database (an SQLite file, or a fresh PostgreSQL schema dropped
afterwards) is given a log of that many facts: identified reads (``read-recorded``, about 250
bytes of canonical JSON each), ``--batch`` facts per batch event, written by the store itself
(``events.store.stage`` and ``seal``: canonical JSON, digests, leaves, chunk roots, the chain)
with no projections, so that what is timed is the log. Then:

- **append**: facts/s while the log was written;
- **prove**: ``--proofs`` facts drawn at random, each proved with ``events.store.prove`` (its
  row, its chunk of at most 256 leaves, its batch event; the audit path computed and checked),
  ``--runs`` passes: the median, p99 and max milliseconds a proof, with the spread of the pass
  medians. The baseline in the same run: reading the same fact's row by its key alone;
- **verify**: ``events.store.verify`` over the whole log (seconds, facts/s), once; and
  ``verify_sampled`` with ``--sample`` facts, ``--runs`` times.

Results go to <out>/prove.json and <out>/prove.md; the database is removed after each size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from core import INGEST_AT, cpu_model, make_registry, mem_total, pg_info, pg_schema_url, redact
from sqlalchemy import create_engine, select, text

from socialcredit.db import events
from socialcredit.events.chain import canonical
from socialcredit.events.store import (
    OpenBatch,
    lock_head,
    prove,
    seal,
    stage,
    verify,
    verify_sampled,
)
from socialcredit.events.types import READ_RECORDED, READS_RECORDED, NewEvent

AT = dt.datetime(2026, 10, 1, 2, 0)


def _fact(i: int) -> tuple[NewEvent, str]:
    p = {
        "read_id": f"{i:032x}",
        "subject_id": f"P-{(i * 2654435761) % 10**12:032x}",
        "at": "2026-10-01T02:00:00",
        "reader": "agency:civil-aviation",
        "kind": "check",
        "detail": {"measure": "restrict_air_travel", "answer": "allowed", "channel": "http"},
    }
    return NewEvent(READ_RECORDED, p), canonical(p)


def build(engine: Any, facts: int, batch: int) -> float:
    """Write ``facts`` facts in batches; return the seconds taken."""
    t0 = time.perf_counter()
    done, last_print = 0, 0.0
    while done < facts:
        n = min(batch, facts - done)
        with engine.begin() as conn:
            head = lock_head(conn)
            ob = OpenBatch(head[0] + 1, [], [])
            _stored, last = stage(ob, head[0], [_fact(done + k) for k in range(n)], AT, "bench")
            seal(conn, (last, head[1]), ob, NewEvent(READS_RECORDED, {"count": n}), AT, "bench")
        done += n
        now = time.perf_counter() - t0
        if now - last_print > 30:
            print(f"  {done:,}/{facts:,} facts, {done / now:,.0f}/s", flush=True)
            last_print = now
    return time.perf_counter() - t0


def time_proofs(engine: Any, seqs: list[int]) -> tuple[list[float], list[float]]:
    """Milliseconds per proof, and per bare read of the same row by its key."""
    proofs, bare = [], []
    with engine.connect() as conn:
        for s in seqs:
            t = time.perf_counter()
            p = prove(conn, s)
            proofs.append((time.perf_counter() - t) * 1000)
            assert p is not None and p.proof is not None and p.content_ok and p.chain_ok, s
            t = time.perf_counter()
            conn.execute(select(events).where(events.c.seq == s)).first()
            bare.append((time.perf_counter() - t) * 1000)
    return proofs, bare


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def one_size(args: Any, engine_name: str, facts: int, tmp: Path) -> dict[str, Any]:
    drop = None
    if engine_name == "sqlite":
        url = f"sqlite:///{tmp / 'log.db'}"
    else:
        admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = pg_schema_url(args.postgres_url, schema)

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()

    reg = make_registry(url, INGEST_AT)
    try:
        seconds = build(reg.engine, facts, args.batch)
        with reg.engine.connect() as conn:
            head = conn.execute(select(events.c.seq).order_by(events.c.seq.desc())).first()
        rows = int(head.seq) if head else 0
        batches = rows - facts
        rng = random.Random(0)
        fact_seqs: list[int] = []
        with reg.engine.connect() as conn:
            while len(fact_seqs) < args.proofs:
                s = rng.randint(1, rows)
                r = conn.execute(select(events.c.batch_seq).where(events.c.seq == s)).first()
                if r is not None and r.batch_seq is not None:
                    fact_seqs.append(s)
        passes = [time_proofs(reg.engine, fact_seqs) for _ in range(args.runs)]
        all_proofs = [x for p, _b in passes for x in p]
        all_bare = [x for _p, b in passes for x in b]
        t = time.perf_counter()
        with reg.engine.connect() as conn:
            full = verify(conn)
        verify_s = time.perf_counter() - t
        assert full.ok, full.problem
        sampled_s = []
        for k in range(args.runs):
            t = time.perf_counter()
            with reg.engine.connect() as conn:
                rep = verify_sampled(conn, args.sample, seed=k)
            sampled_s.append(time.perf_counter() - t)
            assert rep.ok, rep.problem
        size = None
        if engine_name == "sqlite":
            size = sum(p.stat().st_size for p in tmp.glob("log.db*"))
    finally:
        reg.close()
        if drop is not None:
            drop()
        for p in tmp.glob("log.db*"):
            p.unlink()
    return {
        "facts": facts,
        "batch_events": batches,
        "append_seconds": seconds,
        "append_facts_per_s": facts / seconds,
        "prove_ms_median": statistics.median(all_proofs),
        "prove_ms_p99": pct(all_proofs, 0.99),
        "prove_ms_max": max(all_proofs),
        "prove_pass_medians_ms": [statistics.median(p) for p, _b in passes],
        "bare_read_ms_median": statistics.median(all_bare),
        "verify_seconds": verify_s,
        "verify_facts_per_s": rows / verify_s,
        "verify_sampled_seconds": sampled_s,
        "db_bytes": size,
    }


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        "# The log at volume: append, prove, verify",
        "",
        f"- Date: {res['date']}",
        f"- Command: `{res['command']}`",
        f"- Machine: {m['platform']}; {m['cpu_count']} CPUs ({m['cpu_model']}); RAM {m['ram_total']}",
        f"- Python {m['python']}; SQLite {m['sqlite']}"
        + (f"; PostgreSQL {m['postgresql'].get('server_version')}" if "postgresql" in m else ""),
        f"- {res['batch']:,} facts a batch; {res['proofs']:,} proofs × {res['runs']} passes; "
        f"sampled verify of {res['sample']:,} facts × {res['runs']}",
        "",
        "| Engine | Facts | Append facts/s | Prove ms median | p99 | max | pass medians "
        "| Bare row read ms | Prove ÷ read | Verify all s | Verify facts/s | Sampled verify s "
        "| DB MiB |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|",
    ]
    for r in res["results"]:
        mib = f"{r['db_bytes'] / 2**20:,.0f}" if r["db_bytes"] else "–"
        lines.append(
            f"| {r['engine']} | {r['facts']:,} | {r['append_facts_per_s']:,.0f} "
            f"| **{r['prove_ms_median']:.2f}** | {r['prove_ms_p99']:.2f} | {r['prove_ms_max']:.2f} "
            f"| {', '.join(f'{x:.2f}' for x in r['prove_pass_medians_ms'])} "
            f"| {r['bare_read_ms_median']:.3f} "
            f"| {r['prove_ms_median'] / r['bare_read_ms_median']:.0f}× "
            f"| {r['verify_seconds']:,.0f} | {r['verify_facts_per_s']:,.0f} "
            f"| {', '.join(f'{x:.1f}' for x in r['verify_sampled_seconds'])} | {mib} |"
        )
    lines += ["", "Target (issue #21): `audit prove` of one fact < 10 ms at 10M facts.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--facts", default="1000000,10000000")
    p.add_argument("--batch", type=int, default=13500, help="facts a batch (13,500: 5,000 rows)")
    p.add_argument("--proofs", type=int, default=1000)
    p.add_argument("--sample", type=int, default=1000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--engines", default="sqlite")
    p.add_argument("--postgres-url", default=os.environ.get("SOCIALCREDIT_BENCH_POSTGRES_URL"))
    p.add_argument("--out", type=Path, default=Path("bench/results"))
    args = p.parse_args(argv)
    machine: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "ram_total": mem_total(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    engines = [e for e in args.engines.split(",") if e]
    if "postgresql" in engines:
        if not args.postgres_url:
            print("no --postgres-url: PostgreSQL is left out", flush=True)
            engines.remove("postgresql")
        else:
            machine["postgresql"] = pg_info(args.postgres_url)
    res: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": redact(shlex.join(getattr(sys, "orig_argv", sys.argv))),
        "machine": machine,
        "batch": args.batch,
        "proofs": args.proofs,
        "sample": args.sample,
        "runs": args.runs,
        "results": [],
    }
    for facts in [int(x) for x in args.facts.split(",") if x]:
        for engine in engines:
            with tempfile.TemporaryDirectory(prefix="socialcredit-prove-") as tmp:
                print(f"{engine}: {facts:,} facts", flush=True)
                r = one_size(args, engine, facts, Path(tmp))
                r["engine"] = engine
                res["results"].append(r)
                print(
                    f"{engine} {facts:,}: append {r['append_facts_per_s']:,.0f}/s; prove "
                    f"{r['prove_ms_median']:.2f} ms (p99 {r['prove_ms_p99']:.2f}); verify "
                    f"{r['verify_seconds']:,.0f} s; sampled {r['verify_sampled_seconds']}",
                    flush=True,
                )
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "prove.json").write_text(json.dumps(res, indent=2) + "\n")
            (args.out / "prove.md").write_text(markdown(res))
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
