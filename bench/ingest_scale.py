# ruff: noqa: T201  (a benchmark reports progress and results on stdout)
"""Ingest at volume: rows/s as the store grows, on SQLite and PostgreSQL (COPY).

Usage:
    python bench/ingest_scale.py [--rows 100000,1000000] [--runs 3,1] [--postgres-url URL]
                                 [--batch 5000] [--out bench/results] [--json] [--backfill WORKERS]

For each target size (agency rows), generates data with ``socialcredit.generate`` (seed 0; the
number of entities is chosen from the generator's rows per entity so that the three files hold
about that many rows), then ingests samr.csv, tax.csv and court.jsonl in that order, through
``services.ingest.ingest`` with ``--batch`` rows per transaction, into a fresh database per
size and engine: an SQLite file, and a fresh schema of the PostgreSQL database (dropped
afterwards). Every batch is the full path: validation, subject resolution, events appended to
the hash chain, projections (plain inserts go to PostgreSQL as COPY, see ``socialcredit.bulk``),
list rules and the grades of the subjects it touched.

Reported per size and engine: total rows/s (median, min and max over ``--runs`` runs, each
into a fresh database; one run by default, as a million rows take many minutes), the rows/s of
each tenth of the load (does throughput fall as the store grows?), the CPU seconds of this
process (PostgreSQL's own work is not in them), the event count, the database's size on disk,
the peak RSS of this process, and the machine's 1-minute load average when each load started
and ended (the machine may be shared: above its CPU count, other work competed).

The baseline, in the same run and into a fresh database of the same engine: the same rows,
read by the same reader, written bare into one plain table of text columns (the union of the
files' columns) with ``executemany`` on SQLite and ``COPY`` on PostgreSQL, one transaction per
``--batch`` rows: what loading the files costs with no registry at all. The ratio registry ÷
baseline is reported beside the rows/s.

With ``--backfill WORKERS`` the same files are loaded through ``services.backfill`` (``socialcredit
backfill``: the rows grouped by subject into WORKERS shards, each ingested by a worker process,
then merged), and the CPU seconds include the workers'; the results go to
ingest_scale_backfill.json and .md, with the seconds of the partition, the shards' ingest and
the merge.

With ``--json`` the last line printed is one JSON object: for the last size, per engine,
``rows_per_s``, ``baseline_rows_per_s`` and ``cpu_us_per_row``.

Results go to <out>/ingest_scale.json and <out>/ingest_scale.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core import (  # bench/core.py: the same registry set-up and machine description
    FILES,
    INGEST_AT,
    _dist_version,
    cpu_model,
    make_registry,
    mem_total,
    pg_info,
    pg_schema_url,
    redact,
)
from sqlalchemy import create_engine, func, select, text

import socialcredit
from socialcredit.db import events
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.services.backfill import BackfillFile, backfill
from socialcredit.services.ingest import ingest

ROWS_PER_ENTITY = 2.16  # generate(N, seed=0) writes about this many agency rows per entity


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def db_bytes(url: str, reg_engine: Any) -> int | None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with reg_engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                )
            ).scalar_one()
        )


def children_cpu() -> float:
    """CPU seconds of this process's finished children (a backfill's worker processes)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def load(
    url: str, data: Path, total: int, batch: int, label: str, workers: int = 0
) -> dict[str, Any]:
    """``workers``: 0 for the ordinary ingest, else a backfill with that many shards."""
    reg = make_registry(url, INGEST_AT)
    marks: list[tuple[int, float]] = [(0, 0.0)]
    done = 0
    load_at_start = os.getloadavg()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    next_print = [0.0]

    def progress(n: int) -> None:
        nonlocal done
        done += n
        now = time.perf_counter() - t0
        marks.append((done, now))
        if now >= next_print[0]:
            print(
                f"  {label}: {done:,}/{total:,} rows, {now:,.0f}s, {done / now:,.0f} rows/s",
                flush=True,
            )
            next_print[0] = now + 30

    try:
        summaries = {}
        gc.collect()
        children0 = children_cpu()
        phases: dict[str, float] = {}
        if workers:
            b = backfill(
                reg,
                [BackfillFile(data / name, source) for name, source in FILES],
                actor="bench",
                workers=workers,
                batch_size=batch,
                progress=lambda stage, n: progress(n) if stage == "ingest" else None,
            )
            phases = b.seconds
            for f in b.files:
                d = f.as_dict(max_rejects=0)
                d.pop("rejects")
                d.pop("rejects_not_shown")
                summaries[f.file_name] = d
        for name, source in FILES if not workers else ():
            s = ingest(
                reg,
                read_rows(data / name),
                source,
                actor="bench",
                file_name=name,
                batch_size=batch,
                progress=progress,
            )
            d = s.as_dict(max_rejects=0)
            d.pop("rejects")
            d.pop("rejects_not_shown")
            summaries[name] = d
        seconds = time.perf_counter() - t0
        cpu_s = time.process_time() - cpu0 + children_cpu() - children0
        with reg.engine.connect() as conn:
            n_events = conn.execute(select(func.count()).select_from(events)).scalar_one()
        size = db_bytes(url, reg.engine)
    finally:
        reg.close()
    # rows/s in each tenth of the load, from the progress marks
    tenths = []
    for k in range(1, 11 if not workers else 1):  # a backfill's phases are reported instead
        lo, hi = total * (k - 1) / 10, total * k / 10
        a = min(marks, key=lambda m: abs(m[0] - lo))
        b = min(marks, key=lambda m: abs(m[0] - hi))
        if b[0] > a[0] and b[1] > a[1]:
            tenths.append((b[0] - a[0]) / (b[1] - a[1]))
    return {
        "rows": done,
        "seconds": seconds,
        "rows_per_s": done / seconds,
        "cpu_s": cpu_s,
        "tenths_rows_per_s": tenths,
        "events": n_events,
        "events_per_row": n_events / done,
        "db_bytes": size,
        "peak_rss_mib": peak_rss_mib(),
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
        "files": summaries,
        "workers": workers,
        "phases_s": phases,
    }


def _bare_rows(data: Path, batch: int) -> Any:
    """The files' rows as tuples of text over the union of their columns, in batches."""
    columns: dict[str, None] = {"file": None, "line": None}
    for name, _source in FILES:
        for k, (_n, row) in enumerate(read_rows(data / name)):
            if isinstance(row, dict):
                columns.update(dict.fromkeys(row))
            if k >= 1000:
                break
    names = list(columns)

    def text_of(v: Any) -> str | None:
        return v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False)

    def batches() -> Any:
        chunk: list[tuple[Any, ...]] = []
        for name, _source in FILES:
            for n, row in read_rows(data / name):
                d = row if isinstance(row, dict) else {}
                chunk.append((name, str(n), *(text_of(d.get(c)) for c in names[2:])))
                if len(chunk) >= batch:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk

    return names, batches()


def baseline(url: str, data: Path, batch: int) -> dict[str, Any]:
    """The same rows, bare, into one plain table: executemany (SQLite) or COPY (PostgreSQL)."""
    reg = make_registry(url, INGEST_AT)  # the registry's own connection settings
    try:
        names, batches = _bare_rows(data, batch)
        quoted = [f'"{c}"' for c in names]
        cols = ", ".join(quoted)
        raw = reg.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(f"CREATE TABLE bare_rows ({', '.join(f'{q} TEXT' for q in quoted)})")
            raw.commit()
            done = 0
            cpu0, t0 = time.process_time(), time.perf_counter()
            for chunk in batches:
                if url.startswith("sqlite"):
                    marks = ", ".join("?" * len(names))
                    cur.executemany(f"INSERT INTO bare_rows ({cols}) VALUES ({marks})", chunk)
                else:
                    with cur.copy(f"COPY bare_rows ({cols}) FROM STDIN") as copy:
                        for t in chunk:
                            copy.write_row(t)
                raw.commit()
                done += len(chunk)
            seconds, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
        finally:
            raw.close()
    finally:
        reg.close()
    return {"rows": done, "seconds": seconds, "rows_per_s": done / seconds, "cpu_s": cpu_s}


def one_run(
    args: Any, engine: str, tmp: Path, i: int, rows: int, label: str, *, bare: bool = False
) -> dict[str, Any]:
    """One load into a fresh database: an SQLite file, or a fresh PostgreSQL schema."""
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if engine == "sqlite":
        path = tmp / f"registry-{i}.db"
        url = f"sqlite:///{path}"

        def drop() -> None:
            for p in tmp.glob(path.name + "*"):
                p.unlink()

    else:
        admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))

        def drop(admin: Any = admin, schema: str = schema) -> None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()

        url = pg_schema_url(args.postgres_url, schema)
    try:
        if bare:
            return baseline(url, tmp / "data", args.batch)
        return load(url, tmp / "data", rows, args.batch, label, args.backfill)
    finally:
        drop()


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median rows/s, with every run's rows/s, CPU seconds and load averages."""
    rates = [r["rows_per_s"] for r in runs]
    mid = sorted(runs, key=lambda r: r["rows_per_s"])[(len(runs) - 1) // 2]
    return {
        **mid,
        "rows_per_s": statistics.median(rates),
        "runs": len(runs),
        "runs_rows_per_s": rates,
        "runs_cpu_s": [r["cpu_s"] for r in runs],
        "runs_load_average": [
            [r["load_average_at_start"][0], r["load_average_at_end"][0]] for r in runs
        ],
    }


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        "# Ingest at volume",
        "",
        f"- Date: {res['date']}",
        f"- Command: `{res['command']}` (in `{res['cwd']}`)",
        f"- Machine: {m['platform']}; {m['cpu_count']} CPUs ({m['cpu_model']}); RAM {m['ram_total']}",
        f"- Python {m['python']}; SQLite {m['sqlite']}; socialcredit {m['socialcredit']}",
    ]
    if "postgresql" in m:
        pg = m["postgresql"]
        lines.append(
            f"- PostgreSQL {pg.get('server_version', '?')} (fsync={pg.get('fsync')}, "
            f"synchronous_commit={pg.get('synchronous_commit')}, "
            f"shared_buffers={pg.get('shared_buffers')})"
        )
    lines += [
        "- Path: "
        + (
            f"`socialcredit backfill` with {res['backfill_workers']} worker processes (CPU "
            "seconds include the workers'; the seconds of its phases are under the table)"
            if res.get("backfill_workers")
            else "the ordinary ingest, one process"
        ),
        f"- Batch: {res['batch']:,} rows per transaction; data `generate(N, seed=0)`; each run "
        "into a fresh database; rows/s is the median of the runs (min-max beside it); the "
        "tenths, seconds, CPU and sizes are those of the median run",
        "",
        "| Engine | Rows | Runs | Rows/s (median) | min-max | Seconds | CPU s (this process) "
        "| CPU µs a row | Baseline rows/s (bare rows, one table) | Registry ÷ baseline "
        "| Rows/s by tenth of the load (min / median / max) | Events | Events per row "
        "| DB size MiB | Peak RSS MiB | Load avg start → end |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for size in res["sizes"]:
        for engine, r in size["engines"].items():
            t = r["tenths_rows_per_s"]
            tenth = f"{min(t):,.0f} / {statistics.median(t):,.0f} / {max(t):,.0f}" if t else "–"
            mib = f"{r['db_bytes'] / 2**20:,.0f}" if r["db_bytes"] is not None else "?"
            rates = r.get("runs_rows_per_s", [r["rows_per_s"]])
            loads = r.get(
                "runs_load_average",
                [[r.get("load_average_at_start", [float("nan")])[0], r["load_average_at_end"][0]]],
            )
            cpu = f"{r['cpu_s']:,.0f}" if "cpu_s" in r else "?"
            per_row = f"{r['cpu_us_per_row']:,.0f}" if "cpu_us_per_row" in r else "?"
            base = r.get("baseline_rows_per_s")
            base_s = f"{base:,.0f}" if base else "?"
            ratio = f"{r['rows_per_s'] / base:.3f}" if base else "?"
            lines.append(
                f"| {engine} | {r['rows']:,} | {len(rates)} | **{r['rows_per_s']:,.0f}** "
                f"| {min(rates):,.0f}-{max(rates):,.0f} | {r['seconds']:,.0f} | {cpu} "
                f"| {per_row} | {base_s} | {ratio} "
                f"| {tenth} | {r['events']:,} | {r['events_per_row']:.2f} | {mib} "
                f"| {r['peak_rss_mib']:,.0f} | "
                + ", ".join(f"{a:.1f} → {b:.1f}" for a, b in loads)
                + " |"
            )
    lines.append("")
    for size in res["sizes"]:
        for engine, r in size["engines"].items():
            if r.get("phases_s"):
                lines.append(
                    f"Backfill phases, {engine} {r['rows']:,} rows (median run): "
                    + ", ".join(
                        f"{k} {v:,.1f} s ({v / r['rows'] * 1e6:,.0f} µs a row)"
                        for k, v in r["phases_s"].items()
                    )
                )
                lines.append("")
    engines = sorted({e for s in res["sizes"] for e in s["engines"]})
    if len(res["sizes"]) > 1:
        first, last = res["sizes"][0], res["sizes"][-1]
        lines.append(f"Growth from {first['target_rows']:,} to {last['target_rows']:,} rows:")
        lines.append("")
        for e in engines:
            if e in first["engines"] and e in last["engines"]:
                a, b = first["engines"][e], last["engines"][e]
                lines.append(
                    f"- {e}: {a['rows_per_s']:,.0f} → {b['rows_per_s']:,.0f} rows/s "
                    f"(×{b['rows_per_s'] / a['rows_per_s']:.2f}); seconds ×"
                    f"{b['seconds'] / a['seconds']:.1f} for rows ×{b['rows'] / a['rows']:.1f}"
                )
        lines.append("")
    loads = [
        f"{e} {s['target_rows']:,}: {r['load_average_at_end'][0]:.1f}"
        for s in res["sizes"]
        for e, r in s["engines"].items()
    ]
    lines.append(
        "1-minute load average when each load ended (2 CPUs; above 2 means other work "
        "shared the machine): " + ", ".join(loads)
    )
    lines.append("")
    lines.append("Targets (issues #8, #21): 50,000 rows/s on SQLite, 100,000 rows/s on PostgreSQL.")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", default="100000,1000000", help="target agency rows per size")
    p.add_argument("--batch", type=int, default=5000, help="rows per transaction (5000)")
    p.add_argument(
        "--runs", default="1", help="runs per size, one number or one per size (e.g. 3,1)"
    )
    p.add_argument("--engines", default="sqlite,postgresql", help="sqlite,postgresql")
    p.add_argument(
        "--postgres-url",
        default=os.environ.get("SOCIALCREDIT_BENCH_POSTGRES_URL"),
        help="SQLAlchemy URL of a PostgreSQL database (or SOCIALCREDIT_BENCH_POSTGRES_URL)",
    )
    p.add_argument("--out", type=Path, default=Path("bench/results"), help="results directory")
    p.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    p.add_argument(
        "--backfill",
        type=int,
        default=0,
        metavar="WORKERS",
        help="load through socialcredit backfill with this many worker processes (results in "
        "ingest_scale_backfill.*)",
    )
    args = p.parse_args(argv)
    sizes = [int(x) for x in args.rows.split(",") if x.strip()]
    runs_of = [int(x) for x in args.runs.split(",") if x.strip()]
    runs_of += [runs_of[-1]] * (len(sizes) - len(runs_of))
    engines = [e for e in args.engines.split(",") if e]
    if "postgresql" in engines and not args.postgres_url:
        print("no --postgres-url: PostgreSQL is left out", flush=True)
        engines.remove("postgresql")

    machine: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "ram_total": mem_total(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "socialcredit": getattr(socialcredit, "__version__", None) or _dist_version(),
    }
    if args.postgres_url:
        machine["postgresql"] = pg_info(args.postgres_url)
    res: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": redact(shlex.join(getattr(sys, "orig_argv", sys.argv))),
        "cwd": os.getcwd(),
        "machine": machine,
        "batch": args.batch,
        "backfill_workers": args.backfill,
        "sizes": [],
    }
    for target, n_runs in zip(sizes, runs_of, strict=False):
        entities = max(1, round(target / ROWS_PER_ENTITY))
        with tempfile.TemporaryDirectory(prefix="socialcredit-ingest-") as tmp_s:
            tmp = Path(tmp_s)
            t = time.perf_counter()
            summary = generate(entities, tmp / "data", seed=0)
            rows = sum(summary.files[n] for n, _ in FILES)
            print(
                f"generate({entities:,}): {rows:,} rows in {time.perf_counter() - t:.0f}s",
                flush=True,
            )
            size: dict[str, Any] = {"target_rows": target, "entities": entities, "engines": {}}
            for engine in engines:
                runs = []
                for i in range(n_runs):
                    r = one_run(args, engine, tmp, i, rows, f"{engine} {target:,}")
                    print(
                        f"{engine} {target:,} run {i + 1}/{n_runs}: {r['rows']:,} rows in "
                        f"{r['seconds']:,.0f}s = {r['rows_per_s']:,.0f} rows/s "
                        f"(CPU {r['cpu_s']:,.0f}s, load {r['load_average_at_start'][0]:.1f}"
                        f" -> {r['load_average_at_end'][0]:.1f})",
                        flush=True,
                    )
                    runs.append(r)
                bare = [
                    one_run(args, engine, tmp, 100 + i, rows, "baseline", bare=True)
                    for i in range(n_runs)
                ]
                combined = combine(runs)
                combined["baseline_rows_per_s"] = statistics.median(b["rows_per_s"] for b in bare)
                combined["baseline_runs_rows_per_s"] = [b["rows_per_s"] for b in bare]
                combined["cpu_us_per_row"] = combined["cpu_s"] / combined["rows"] * 1e6
                print(
                    f"{engine} {target:,} baseline (bare rows, one plain table): "
                    f"{combined['baseline_rows_per_s']:,.0f} rows/s",
                    flush=True,
                )
                size["engines"][engine] = combined
            res["sizes"].append(size)

            args.out.mkdir(parents=True, exist_ok=True)
            stem = "ingest_scale_backfill" if args.backfill else "ingest_scale"
            (args.out / f"{stem}.json").write_text(
                json.dumps(res, indent=2, ensure_ascii=False) + "\n"
            )
            (args.out / f"{stem}.md").write_text(markdown(res))
    print(markdown(res))
    if args.json and res["sizes"]:
        last = res["sizes"][-1]
        print(
            json.dumps(
                {
                    "rows": last["target_rows"],
                    "engines": {
                        e: {
                            "rows_per_s": r["rows_per_s"],
                            "baseline_rows_per_s": r["baseline_rows_per_s"],
                            "cpu_us_per_row": r["cpu_us_per_row"],
                        }
                        for e, r in last["engines"].items()
                    },
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
