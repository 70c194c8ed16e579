# ruff: noqa: T201  (a benchmark reports on stdout)
"""Check index benchmark: the packed check file against a Redis set, same queries, same run.

Usage:
    python bench/checks.py [--pairs 1000000] [--queries 1000000] [--runs 5] [--seed 0] [--json]

Builds a check file (``projections/check_file.py``) of N restricted subject-measure pairs for
one measure from synthetic USCC-like subject ids, each active over a two-year interval around
now, writes it, maps it, and answers the same queries (half restricted subjects, half never
listed, shuffled) with:

- registry batch: ``CheckFile.hits`` on the queries' keys (hashing excluded; and, as its own
  figure, hashing the query strings included, ``subject_keys`` on a numpy array of them);
- registry single: ``CheckFile.hit`` on one key (a Python int) per call, in a Python loop; and,
  as its own figure, ``subject_key`` of the query string included;
- Redis: ``redis-server`` from Debian's packages, started on a loopback port with persistence
  off, the same subject ids in a set, ``SMISMEMBER`` with 1,000 members per call, pipelines of
  10 calls, redis-py with hiredis.

Each figure is the median of ``--runs`` runs, with min and max. The last line printed is one JSON
object with at least ``pairs``, ``registry_batch_per_s``, ``redis_smismember_per_s``,
``registry_single_per_s``, ``index_bytes_per_pair``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from socialcredit.projections.check_file import (
    CheckFile,
    seconds,
    subject_key,
    subject_keys,
    write_file,
)

MEASURE = "restrict_air_travel"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(fn: Any, n: int, runs: int) -> dict[str, float]:
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        rates.append(n / (time.perf_counter() - t0))
    return {"median": statistics.median(rates), "min": min(rates), "max": max(rates)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=1_000_000)
    ap.add_argument("--single", type=int, default=200_000, help="queries for the single loop")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="only the JSON line")
    args = ap.parse_args()
    say = (lambda *_a: None) if args.json else print
    rng = np.random.default_rng(args.seed)

    n = args.pairs
    listed = [f"91{i:016d}" for i in range(n)]
    never = [f"92{i:016d}" for i in range(args.queries // 2)]
    pick = rng.integers(0, n, args.queries - len(never))
    queries = [listed[i] for i in pick] + never
    order = rng.permutation(len(queries))
    queries = [queries[i] for i in order]
    expected = np.array([q.startswith("91") for q in queries])

    now = datetime.now(UTC)
    work = Path(tempfile.mkdtemp(prefix="sc-bench-checks-"))
    try:
        t0 = time.perf_counter()
        keys = subject_keys(listed)
        hash_s = time.perf_counter() - t0
        start = np.full(n, seconds(now - timedelta(days=365)), dtype=np.uint32)
        until = np.full(n, seconds(now + timedelta(days=365)), dtype=np.uint32)
        path = work / "checks.bin"
        t0 = time.perf_counter()
        write_file(path, {MEASURE: (keys, start, until)}, version=1)
        write_s = time.perf_counter() - t0
        f = CheckFile(path)
        bytes_per_pair = f.nbytes(MEASURE) / n
        say(
            f"index: {n:,} pairs, {bytes_per_pair:.1f} bytes/pair, "
            f"hash {hash_s:.1f}s, write {write_s:.1f}s, file {path.stat().st_size / 2**20:.1f} MiB"
        )

        qkeys = subject_keys(queries)
        got = f.hits(qkeys, MEASURE, now)
        assert (got == expected).all(), "the index answered wrongly"
        batch = timed(lambda: f.hits(qkeys, MEASURE, now), len(queries), args.runs)
        qarr = np.array(queries)
        with_hash = timed(lambda: f.hits(subject_keys(qarr), MEASURE, now), len(queries), args.runs)
        single_keys = [int(k) for k in qkeys[: args.single]]
        single_ids = queries[: args.single]
        t_now = seconds(now)
        hit = f.hit
        assert [hit(k, MEASURE, t_now) for k in single_keys] == list(expected[: args.single])

        def singles() -> None:
            for k in single_keys:
                hit(k, MEASURE, t_now)

        def singles_hashing() -> None:
            for s in single_ids:
                hit(subject_key(s), MEASURE, t_now)

        # at a point of service almost every subject is unlisted (about 2% of the HTTP
        # benchmark's checks concern a listing): the same loop on unlisted subjects only
        unlisted_keys = [int(k) for k, e in zip(qkeys, expected, strict=True) if not e]
        unlisted_keys = unlisted_keys[: args.single]
        assert not any(hit(k, MEASURE, t_now) for k in unlisted_keys)

        def singles_unlisted() -> None:
            for k in unlisted_keys:
                hit(k, MEASURE, t_now)

        single = timed(singles, len(single_keys), args.runs)
        single_hashing = timed(singles_hashing, len(single_ids), args.runs)
        single_unlisted = timed(singles_unlisted, len(unlisted_keys), args.runs)
        say(
            f"registry batch {batch['median']:,.0f}/s, with hashing {with_hash['median']:,.0f}/s, "
            f"single {single['median']:,.0f}/s, with hashing {single_hashing['median']:,.0f}/s, "
            f"unlisted only {single_unlisted['median']:,.0f}/s"
        )

        redis = redis_baseline(listed, queries, expected, args.runs, work, say)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "pairs": n,
        "queries": len(queries),
        "runs": args.runs,
        "registry_batch_per_s": round(batch["median"]),
        "registry_batch_spread": batch,
        "registry_batch_with_hashing_per_s": round(with_hash["median"]),
        "registry_single_per_s": round(single["median"]),
        "registry_single_spread": single,
        "registry_single_with_hashing_per_s": round(single_hashing["median"]),
        "registry_single_unlisted_per_s": round(single_unlisted["median"]),
        "registry_single_unlisted_spread": single_unlisted,
        "redis_smismember_per_s": round(redis["median"]) if redis else None,
        "redis_spread": redis,
        "batch_vs_redis": round(batch["median"] / redis["median"], 2) if redis else None,
        "index_bytes_per_pair": bytes_per_pair,
        "machine": f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(result))


def redis_baseline(
    members: list[str], queries: list[str], expected: np.ndarray, runs: int, work: Path, say: Any
) -> dict[str, float] | None:
    exe = shutil.which("redis-server")
    if exe is None:
        say("redis-server not found (scripts/setup installs it as root): no baseline")
        return None
    import redis

    port = free_port()
    proc = subprocess.Popen(
        [
            exe,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        r = redis.Redis(port=port)
        for _ in range(200):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        pipe = r.pipeline(transaction=False)
        for i in range(0, len(members), 10_000):
            pipe.sadd("restricted", *members[i : i + 10_000])
        pipe.execute()
        chunks = [queries[i : i + 1000] for i in range(0, len(queries), 1000)]

        def run() -> list[int]:
            out: list[int] = []
            for j in range(0, len(chunks), 10):
                p = r.pipeline(transaction=False)
                for c in chunks[j : j + 10]:
                    p.smismember("restricted", c)
                for res in p.execute():
                    out.extend(res)
            return out

        assert (np.array(run(), dtype=bool) == expected).all(), "Redis answered wrongly"
        rate = timed(run, len(queries), runs)
        say(f"redis SMISMEMBER {rate['median']:,.0f}/s")
        return rate
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
