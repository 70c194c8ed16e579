# ruff: noqa: T201  (a benchmark reports progress and results on stdout)
"""Grading benchmarks: incremental regrade latency and full recompute (DuckDB, Spark).

Usage:
    python bench/grades.py [--sizes 10000,50000,100000] [--runs K] [--latency N] [--out bench/results]

For each size N of ``--sizes`` (entities passed to ``socialcredit.generate.generate(N, dir,
seed=0)``): a fresh SQLite registry (clock fixed at 2026-10-01, helpers from ``bench/core.py``)
ingests samr.csv, tax.csv and court.jsonl (not timed here: see core.py), then

1. Full recompute: K timed runs of ``analytics.grades.compute(conn, methods, t_local, t_utc,
   engine=...)`` over all organisations, on DuckDB and on Spark. The Spark session is started
   once before the first Spark run (timed separately, not counted in the runs). Peak RSS of
   this Python process is measured per engine (the kernel's high-water mark is reset before
   each engine where /proc/self/clear_refs allows it); the Spark JVM's own peak (VmHWM of the
   gateway process) is reported separately when it can be read.
2. Incremental latency, on the registry of the largest size: ``--latency`` single-row ingests
   (a new ``administrative_penalty``, severity general, for an organisation already in the
   registry with a ``samr_risk`` grade), each timed from the call to ``services.ingest.ingest``
   until the new ``grades`` row has been read back; the change of level/points is checked.
   Then ``services.grading.grade(reg, code, "samr_risk")`` (the on-demand explained grade,
   which replays the subject's events) on the same codes.

Results go to <out>/grades.json and <out>/grades.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import platform
import random
import resource
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

from core import (  # bench/core.py: the same registry, data files and machine description
    FILES,
    INGEST_AT,
    _dist_version,
    cpu_model,
    make_registry,
    mem_total,
    redact,
    spread_pct,
    stats,
)
from sqlalchemy import func, select

import socialcredit
from socialcredit.analytics import grades as agrades
from socialcredit.db import grades as grades_table
from socialcredit.db import records
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.services import grading
from socialcredit.services.ingest import ingest
from socialcredit.services.subjects import resolve_code

METHOD = "samr_risk"
ENGINES = ("duckdb", "spark")
WARMUP = 5  # single-row ingests before the timed ones (first-call costs)


# -- memory ---------------------------------------------------------------------------------


def reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM); Linux >= 4.0, may be refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mib(pid: int | str = "self") -> float | None:
    """VmHWM of a process in MiB (None if unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def ru_maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def jvm_pid() -> int | None:
    """The pid of the Spark gateway JVM, if pyspark launched it (spark-submit execs java)."""
    try:
        from pyspark import SparkContext

        proc = SparkContext._gateway.proc  # type: ignore[union-attr]
        pid = int(proc.pid)
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        return pid if cmd.endswith(b"java") else None
    except Exception:
        return None


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def lat_stats(ms: list[float]) -> dict[str, Any]:
    return {
        "n": len(ms),
        "median_ms": statistics.median(ms),
        "p90_ms": pct(ms, 90),
        "p99_ms": pct(ms, 99),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "mean_ms": statistics.fmean(ms),
    }


# -- full recompute -------------------------------------------------------------------------


def moments(reg: Any) -> tuple[dt.datetime, dt.datetime]:
    now = reg.now()
    return (
        now.astimezone(reg.tz).replace(tzinfo=None),
        now.astimezone(UTC).replace(tzinfo=None),
    )


def bench_compute(reg: Any, runs: int, label: str) -> dict[str, Any]:
    methods = [gm for gm in reg.pack.grading.values() if "organisation" in gm.subject_kinds]
    t_local, t_utc = moments(reg)
    with reg.engine.connect() as conn:
        n_records = conn.execute(
            select(func.count()).select_from(records).where(records.c.retracted_at.is_(None))
        ).scalar_one()
        table = {
            (g.subject_id, g.method): (g.level, g.points)
            for g in conn.execute(select(grades_table))
        }
    out: dict[str, Any] = {
        "methods": [gm.id for gm in methods],
        "records": n_records,
        "engines": {},
    }
    results_by_engine: dict[str, dict[str, list[tuple[str, float, str]]]] = {}
    for engine in ENGINES:
        e: dict[str, Any] = {}
        if engine == "spark":
            gc.collect()
            t0 = time.perf_counter()
            agrades.spark_session()
            e["session_start_s"] = time.perf_counter() - t0
            print(f"compute {label} spark: session start {e['session_start_s']:.1f}s", flush=True)
        e["peak_reset"] = reset_peak()
        secs: list[float] = []
        res: dict[str, list[tuple[str, float, str]]] = {}
        for i in range(runs):
            gc.collect()
            with reg.engine.connect() as conn:
                t0 = time.perf_counter()
                res = agrades.compute(conn, methods, t_local, t_utc, engine=engine)
                s = time.perf_counter() - t0
            secs.append(s)
            print(
                f"compute {label} {engine} run {i + 1}/{runs}: {s:.2f}s "
                f"({', '.join(f'{m} {len(r):,}' for m, r in res.items())})",
                flush=True,
            )
        e["seconds"] = stats(secs)
        e["organisations"] = {m: len(r) for m, r in res.items()}
        e["peak_rss_mib"] = peak_rss_mib() if e["peak_reset"] else None
        e["ru_maxrss_mib"] = ru_maxrss_mib()
        if engine == "spark":
            pid = jvm_pid()
            e["jvm_peak_rss_mib"] = peak_rss_mib(pid) if pid else None
        results_by_engine[engine] = res
        out["engines"][engine] = e
    # agreement: the engines with each other, and DuckDB with the grades the ingest kept
    agree: dict[str, Any] = {}
    for m in out["methods"]:
        d = {sid: (lvl, pts) for sid, pts, lvl in results_by_engine["duckdb"][m]}
        s = {sid: (lvl, pts) for sid, pts, lvl in results_by_engine["spark"][m]}
        kept = {sid: v for (sid, mm), v in table.items() if mm == m}
        agree[m] = {
            "duckdb_vs_spark_differ": sum(
                1 for k in d.keys() | s.keys() if not _same(d.get(k), s.get(k))
            ),
            "duckdb_vs_grades_table_differ": sum(
                1 for k in d.keys() | kept.keys() if not _same(d.get(k), kept.get(k))
            ),
            "in_grades_table": len(kept),
            "examples": [
                {"subject": k, "duckdb": d.get(k), "grades_table": kept.get(k)}
                for k in sorted(d.keys() | kept.keys())
                if not _same(d.get(k), kept.get(k))
            ][:3],
        }
    out["agreement"] = agree
    print(f"compute {label}: agreement {json.dumps(agree, ensure_ascii=False)}", flush=True)
    return out


def _same(a: tuple[str, float] | None, b: tuple[str, float] | None) -> bool:
    if a is None or b is None:
        return a is b
    return a[0] == b[0] and abs(a[1] - b[1]) < 1e-6


# -- incremental latency --------------------------------------------------------------------


def penalty_row(rid: str, code: str) -> dict[str, Any]:
    """As tests/fixtures/rows.py::penalty, severity general, decided inside the 1-year window."""
    return {
        "source_record_id": rid,
        "record_type": "administrative_penalty",
        "subject_id": code,
        "subject_name": "基准测试有限公司",
        "authority": "北京市朝阳区市场监督管理局",
        "decision_ref": f"京朝市监罚〔2026〕{rid}号",
        "decided_on": "2026-09-15",
        "legal_basis": "《中华人民共和国食品安全法》第一百二十四条",
        "status": "in_force",
        "severity": "general",
        "penalty_kind": "fine",
        "fine_yuan": "50000",
        "field_of_law": "food",
    }


def bench_latency(reg: Any, data: Path, n: int, seed: int) -> dict[str, Any]:
    with reg.engine.connect() as conn:
        graded = {
            g.subject_id
            for g in conn.execute(
                select(grades_table.c.subject_id).where(grades_table.c.method == METHOD)
            )
        }
    codes: list[tuple[str, str]] = []
    with (data / "subjects.jsonl").open(encoding="utf-8") as f:
        for line in f:
            s = json.loads(line)
            if s["kind"] != "organisation":
                continue
            try:
                sid = resolve_code(reg, s["subject_id"]).subject_id
            except Exception:
                continue
            if sid in graded:
                codes.append((s["subject_id"], sid))
    rng = random.Random(seed)
    picked = rng.sample(codes, min(n + WARMUP, len(codes)))
    print(
        f"latency: {len(codes):,} organisations with a {METHOD} grade; "
        f"{WARMUP} warm-up + {len(picked) - WARMUP} timed single-row ingests",
        flush=True,
    )

    def read_grade(sid: str) -> tuple[str, float] | None:
        with reg.engine.connect() as conn:
            r = conn.execute(
                select(grades_table.c.level, grades_table.c.points).where(
                    (grades_table.c.subject_id == sid) & (grades_table.c.method == METHOD)
                )
            ).first()
        return (r.level, r.points) if r else None

    ingest_ms: list[float] = []
    visible_ms: list[float] = []
    changed = level_changed = 0
    unchanged: list[dict[str, Any]] = []
    gc.collect()
    gc.disable()
    try:
        for i, (code, sid) in enumerate(picked):
            before = read_grade(sid)
            row = penalty_row(f"BENCH-GRADE-{i:05d}", code)
            t0 = time.perf_counter()
            summary = ingest(reg, [(1, row)], "samr", actor="bench")
            t1 = time.perf_counter()
            after = read_grade(sid)
            t2 = time.perf_counter()
            if summary.accepted != 1:
                raise RuntimeError(f"row not accepted: {summary.as_dict()}")
            if i < WARMUP:
                continue
            ingest_ms.append((t1 - t0) * 1e3)
            visible_ms.append((t2 - t0) * 1e3)
            if after != before:
                changed += 1
                level_changed += int(
                    after is not None and before is not None and after[0] != before[0]
                )
            else:
                unchanged.append({"subject": sid, "grade": before})
    finally:
        gc.enable()
    timed_codes = [c for c, _ in picked[WARMUP:]]
    print(
        f"latency: ingest->grade visible median {statistics.median(visible_ms):.1f} ms, "
        f"p99 {pct(visible_ms, 99):.1f} ms; changed {changed}/{len(visible_ms)}",
        flush=True,
    )
    grade_ms: list[float] = []
    for code in timed_codes[:WARMUP]:
        grading.grade(reg, code, METHOD)
    gc.collect()
    for code in timed_codes:
        t0 = time.perf_counter()
        g = grading.grade(reg, code, METHOD)
        grade_ms.append((time.perf_counter() - t0) * 1e3)
        assert g["subject"]
    print(
        f"latency: grading.grade median {statistics.median(grade_ms):.1f} ms, "
        f"p99 {pct(grade_ms, 99):.1f} ms",
        flush=True,
    )
    return {
        "method": METHOD,
        "candidates": len(codes),
        "warmup": WARMUP,
        "calls": len(visible_ms),
        "ingest_call": lat_stats(ingest_ms),
        "ingest_to_visible": lat_stats(visible_ms),
        "grade_changed": changed,
        "level_changed": level_changed,
        "grade_unchanged_examples": unchanged[:5],
        "on_demand_grade": lat_stats(grade_ms),
    }


# -- report ---------------------------------------------------------------------------------


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        "# Grading benchmark results",
        "",
        f"- Date: {res['date']}",
        f"- Command: `{res['command']}` (in `{res['cwd']}`)",
        f"- Machine: {m['platform']}; {m['cpu_count']} CPUs ({m['cpu_model']}); "
        f"RAM {m['ram_total']}",
        f"- Python {m['python']}; SQLite {m['sqlite']}; DuckDB {m['duckdb']}; "
        f"PySpark {m['pyspark']} (local[2]); socialcredit {m['socialcredit']}",
        f"- Registry: SQLite file, clock fixed at {INGEST_AT}; data `generate(N, seed={res['seed']})`",
        f"- Runs per measure: {res['runs']} (median, min–max; spread = (max − min) / median)",
        "",
        "## Full recompute (`analytics.grades.compute`, all organisations, all methods)",
        "",
        "| Entities | Agency rows | Ingest s | Organisations graded | Records | Engine | "
        "Median s | Min | Max | Spread | Peak RSS (Python) MiB | Runs (s) |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for sz in res["sizes"]:
        c = sz["compute"]
        for engine, e in c["engines"].items():
            s = e["seconds"]
            orgs = ", ".join(f"{k} {v:,}" for k, v in e["organisations"].items())
            rss = e["peak_rss_mib"]
            rss_s = f"{rss:,.0f}" if rss is not None else f"≤{e['ru_maxrss_mib']:,.0f}"
            lines.append(
                f"| {sz['entities']:,} | {sz['rows']:,} | {sz['ingest_seconds']:.0f} | {orgs} | "
                f"{c['records']:,} | {engine} | {s['median']:.2f} | {s['min']:.2f} | "
                f"{s['max']:.2f} | {spread_pct(s):.0f}% | {rss_s} | "
                f"{', '.join(f'{v:.2f}' for v in s['runs'])} |"
            )
    lines.append("")
    sp = [sz["compute"]["engines"]["spark"] for sz in res["sizes"]]
    lines.append(
        "Spark session start (first call only, not in the runs): "
        + ", ".join(
            f"{sz['entities']:,} entities: {e['session_start_s']:.1f}s"
            for sz, e in zip(res["sizes"], sp, strict=True)
        )
        + " (only the first size starts the session; later sizes reuse it)."
    )
    jvm = [e.get("jvm_peak_rss_mib") for e in sp]
    if any(v is not None for v in jvm):
        lines.append(
            "Spark JVM peak RSS (VmHWM of the gateway JVM, cumulative since it started; "
            "not in the Python column): "
            + ", ".join(
                f"after {sz['entities']:,}: {v:,.0f} MiB"
                for sz, v in zip(res["sizes"], jvm, strict=True)
                if v is not None
            )
            + "."
        )
    else:
        lines.append("The Spark JVM's memory is not counted (its peak could not be read).")
    if len(res["sizes"]) > 1:
        a, b = res["sizes"][0], res["sizes"][-1]
        lines += ["", f"Growth from {a['entities']:,} to {b['entities']:,} entities:", ""]
        ra = a["compute"]["records"]
        rb = b["compute"]["records"]
        lines.append(f"- records ×{rb / ra:.2f}")
        for engine in ENGINES:
            ta = a["compute"]["engines"][engine]["seconds"]["median"]
            tb = b["compute"]["engines"][engine]["seconds"]["median"]
            lines.append(f"- {engine}: {ta:.2f}s → {tb:.2f}s (×{tb / ta:.2f})")
    lines += ["", "Agreement (subjects whose level or points differ):", ""]
    lines.append(
        "| Entities | Method | DuckDB vs Spark | DuckDB vs `grades` table (kept by ingest) |"
    )
    lines.append("|---:|---|---:|---:|")
    for sz in res["sizes"]:
        for meth, a in sz["compute"]["agreement"].items():
            lines.append(
                f"| {sz['entities']:,} | {meth} | {a['duckdb_vs_spark_differ']:,} | "
                f"{a['duckdb_vs_grades_table_differ']:,} (of {a['in_grades_table']:,} in table) |"
            )
    lat = res.get("latency")
    if lat:
        lines += [
            "",
            f"## Incremental regrade latency ({lat['entities']:,}-entity registry, `{lat['method']}`)",
            "",
            f"{lat['calls']} single-row ingests (after {lat['warmup']} warm-up), each a new "
            "`administrative_penalty` (severity general, decided 2026-09-15) for a different "
            f"organisation that already had a grade; grade changed in {lat['grade_changed']} "
            f"of {lat['calls']} (level changed in {lat['level_changed']}).",
            "",
            "| Measure | n | Median ms | p90 ms | p99 ms | Min ms | Max ms |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, key in (
            ("`ingest(...)` call (commit includes regrade)", "ingest_call"),
            ("ingest → new `grades` row read back", "ingest_to_visible"),
            (
                "`grading.grade(reg, code, 'samr_risk')` (on demand, replays events)",
                "on_demand_grade",
            ),
        ):
            s = lat[key]
            lines.append(
                f"| {name} | {s['n']} | {s['median_ms']:.1f} | {s['p90_ms']:.1f} | "
                f"{s['p99_ms']:.1f} | {s['min_ms']:.1f} | {s['max_ms']:.1f} |"
            )
    lines.append("")
    return "\n".join(lines)


# -- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--sizes", default="10000,50000,100000", help="entities per size (10000,50000,100000)"
    )
    p.add_argument("--runs", type=int, default=3, help="runs per compute measure (3)")
    p.add_argument("--latency", type=int, default=200, help="timed single-row ingests (200)")
    p.add_argument("--seed", type=int, default=0, help="data and sample seed (0)")
    p.add_argument("--out", type=Path, default=Path("bench/results"), help="results directory")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.runs < 1 or not sizes:
        p.error("--runs must be at least 1 and --sizes not empty")

    import duckdb
    import pyspark

    started = dt.datetime.now(dt.UTC)
    machine: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "ram_total": mem_total(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "duckdb": duckdb.__version__,
        "pyspark": pyspark.__version__,
        "socialcredit": getattr(socialcredit, "__version__", None) or _dist_version(),
    }
    print(f"machine: {machine}", flush=True)
    results: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "command": redact(shlex.join(getattr(sys, "orig_argv", sys.argv))),
        "cwd": os.getcwd(),
        "machine": machine,
        "runs": args.runs,
        "seed": args.seed,
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="socialcredit-bench-grades-") as tmp_s:
        tmp = Path(tmp_s)
        for k, n in enumerate(sizes):
            data = tmp / f"data-{n}"
            t0 = time.perf_counter()
            summary = generate(n, data, seed=args.seed)
            t_gen = time.perf_counter() - t0
            rows = {name: summary.files[name] for name, _ in FILES}
            print(f"generate {n:,}: {sum(rows.values()):,} rows {rows} in {t_gen:.1f}s", flush=True)
            db = tmp / f"registry-{n}.db"
            reg = make_registry(f"sqlite:///{db}", INGEST_AT)
            try:
                t0 = time.perf_counter()
                for name, source in FILES:
                    ingest(reg, read_rows(data / name), source, actor="bench", file_name=name)
                t_ing = time.perf_counter() - t0
                print(f"ingest {n:,}: {sum(rows.values()):,} rows in {t_ing:.1f}s", flush=True)
                size: dict[str, Any] = {
                    "entities": n,
                    "rows": sum(rows.values()),
                    "rows_per_file": rows,
                    "generate_seconds": t_gen,
                    "ingest_seconds": t_ing,
                    "compute": bench_compute(reg, args.runs, f"{n:,}"),
                }
                results["sizes"].append(size)
                if k == len(sizes) - 1 and args.latency > 0:
                    lat = bench_latency(reg, data, args.latency, args.seed)
                    lat["entities"] = n
                    results["latency"] = lat
            finally:
                reg.close()
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "grades.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    md = markdown(results)
    (args.out / "grades.md").write_text(md)
    print(md)
    print(f"wrote {args.out / 'grades.json'} and {args.out / 'grades.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
