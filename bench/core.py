# ruff: noqa: T201  (a benchmark reports progress and results on stdout)
"""Core benchmarks: ingest throughput (SQLite, PostgreSQL) and point-of-service checks.

Usage:
    python bench/core.py [--entities N] [--runs K] [--checks N] [--postgres-url URL]
                         [--out bench/results]

Generates one synthetic data set (socialcredit.generate, seed 0), then:

1. Ingest: K runs per database, each into a fresh database (an SQLite file in a temp dir; on
   PostgreSQL a fresh schema, dropped afterwards). One run ingests samr.csv, tax.csv and
   court.jsonl in that order through ``services.ingest.ingest``; rows/s = all rows / all seconds.
   Building the registry (migrations) is not timed.
2. Checks, on the SQLite database of the last ingest run, at 2026-11-20 after one ``advance``:
   K timed loops over the same codes of
     - ``services.checks.answer`` (the Python call a point of service makes),
     - ``resolve_code`` only (parsing and validating the code; keying resident IDs),
     - ``CheckIndex.answer`` only, with refs resolved beforehand (the lookup and the answer),
     - a Python ``set`` membership test against the codes that answered restricted (baseline).

Results go to <out>/core.json and <out>/core.md. PostgreSQL comes from --postgres-url or
SOCIALCREDIT_BENCH_POSTGRES_URL; without either, only SQLite is measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import re
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

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, select, text

import socialcredit
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.config import Settings
from socialcredit.db import listings as listings_table
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.services import checks, listings
from socialcredit.services.ingest import ingest
from socialcredit.services.subjects import resolve_code

FILES = (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court"))
INGEST_AT = "2026-10-01"
CHECK_AT = "2026-11-20"
MEASURE = "restrict_air_travel"
HASH_KEY = "bench-hash-key-0123456789abcdef0123456789"
ENC_KEY = Fernet.generate_key().decode()
SET_REPEAT = 100  # the set loop is so fast that one pass over the codes is below timer noise


# -- helpers --------------------------------------------------------------------------------


def redact(s: str) -> str:
    """Hide a password in a database URL (user:password@host -> user:***@host)."""
    return re.sub(r"(://[^:/@\s]+):[^@\s]*@", r"\1:***@", s)


def stats(values: list[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": values,
    }


def spread_pct(s: dict[str, Any]) -> float:
    return 100.0 * (s["max"] - s["min"]) / s["median"] if s["median"] else 0.0


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def mem_total() -> str | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kb = int(line.split()[1])
                return f"{kb / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return None


def cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def pg_info(base: str) -> dict[str, str]:
    engine = create_engine(base)
    try:
        with engine.connect() as conn:
            return {
                name: str(conn.execute(text(f"SHOW {name}")).scalar())
                for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers")
            }
    finally:
        engine.dispose()


def make_registry(url: str, at: str) -> Registry:
    env = {
        "SOCIALCREDIT_DATABASE_URL": url,
        "SOCIALCREDIT_ID_HASH_KEY": HASH_KEY,
        "SOCIALCREDIT_ID_ENCRYPTION_KEY": ENC_KEY,
    }
    return Registry(Settings.from_env(env), clock=FixedClock(parse_moment(at)))


# -- ingest ---------------------------------------------------------------------------------


def ingest_run(reg: Registry, data: Path) -> dict[str, Any]:
    per_file: dict[str, Any] = {}
    total_rows = 0
    total_s = 0.0
    for name, source in FILES:
        path = data / name
        gc.collect()
        t0 = time.perf_counter()
        summary = ingest(reg, read_rows(path), source, actor="bench", file_name=name)
        s = time.perf_counter() - t0
        d = summary.as_dict(max_rejects=0)
        d.pop("rejects")
        d.pop("rejects_not_shown")
        per_file[name] = {"seconds": s, "rows_per_s": summary.rows / s, "summary": d}
        total_rows += summary.rows
        total_s += s
    return {
        "rows": total_rows,
        "seconds": total_s,
        "rows_per_s": total_rows / total_s,
        "files": per_file,
    }


def bench_ingest(
    label: str, runs: int, data: Path, new_url: Callable[[int], tuple[str, Callable[[], None]]]
) -> tuple[dict[str, Any], Registry | None]:
    """K runs; ``new_url(i)`` gives a fresh database URL and its clean-up.

    The registry of the last run is returned open (for the checks) when its clean-up is a no-op
    that can wait: SQLite. PostgreSQL registries are closed and their schema dropped.
    """
    results: list[dict[str, Any]] = []
    last: Registry | None = None
    for i in range(runs):
        url, cleanup = new_url(i)
        reg = make_registry(url, INGEST_AT)
        try:
            r = ingest_run(reg, data)
        except BaseException:
            reg.close()
            cleanup()
            raise
        results.append(r)
        per = ", ".join(
            f"{n} {f['seconds']:.1f}s ({f['rows_per_s']:,.0f}/s)" for n, f in r["files"].items()
        )
        print(
            f"ingest {label} run {i + 1}/{runs}: {r['rows']:,} rows in {r['seconds']:.1f}s "
            f"= {r['rows_per_s']:,.0f} rows/s  [{per}]",
            flush=True,
        )
        if label == "sqlite" and i == runs - 1:
            last = reg
        else:
            reg.close()
            cleanup()
    out: dict[str, Any] = {
        "rows_per_s": stats([r["rows_per_s"] for r in results]),
        "seconds": stats([r["seconds"] for r in results]),
        "files": {
            name: {
                "rows_per_s": stats([r["files"][name]["rows_per_s"] for r in results]),
                "seconds": stats([r["files"][name]["seconds"] for r in results]),
                "summary": results[0]["files"][name]["summary"],
            }
            for name, _ in FILES
        },
        "rows": results[0]["rows"],
    }
    return out, last


# -- checks ---------------------------------------------------------------------------------


def pick_codes(
    reg: Registry, subjects_file: Path, n: int, seed: int
) -> tuple[list[str], dict[str, int]]:
    """All codes of subjects with a notified listing, plus random others up to ``n``."""
    with reg.engine.connect() as conn:
        with_listing = set(
            conn.execute(
                select(listings_table.c.subject_id).where(listings_table.c.notified_at.is_not(None))
            ).scalars()
        )
    listed: list[str] = []
    others: list[str] = []
    unresolvable: list[dict[str, str]] = []
    with subjects_file.open(encoding="utf-8") as f:
        for line in f:
            code = json.loads(line)["subject_id"]
            try:
                ref = resolve_code(reg, code)
            except Exception as exc:  # a package bug must not stop the benchmark: report it
                unresolvable.append({"code": code, "error": f"{type(exc).__name__}: {exc}"})
                continue
            (listed if ref.subject_id in with_listing else others).append(code)
    rng = random.Random(seed)
    extra = rng.sample(others, min(max(n - len(listed), 0), len(others)))
    codes = listed + extra
    rng.shuffle(codes)
    return codes, {
        "subjects_in_file": len(listed) + len(others) + len(unresolvable),
        "unresolvable_register_codes": unresolvable,
        "listed_subjects": len(listed),
        "random_others": len(extra),
        "codes": len(codes),
    }


def bench_checks(reg: Registry, data: Path, runs: int, n: int, seed: int) -> dict[str, Any]:
    assert isinstance(reg.clock, FixedClock)
    reg.clock.set(parse_moment(CHECK_AT))
    t_adv, adv = timed(lambda: listings.advance(reg, "bench"))
    print(f"checks: advance to {CHECK_AT}: {adv.as_dict()} in {t_adv:.2f}s", flush=True)
    codes, mix = pick_codes(reg, data / "subjects.jsonl", n, seed)
    print(f"checks: {mix}", flush=True)
    for bad in mix["unresolvable_register_codes"]:
        print(f"checks: WARNING resolve_code failed on register code {bad}", flush=True)
    idx = checks.index(reg)
    at = reg.now()

    def loop_answer() -> int:
        hits = 0
        for c in codes:
            if checks.answer(reg, c, MEASURE)["restricted"]:
                hits += 1
        return hits

    def loop_resolve() -> int:
        k = 0
        for c in codes:
            if resolve_code(reg, c).kind == "person":
                k += 1
        return k

    refs = [resolve_code(reg, c) for c in codes]

    def loop_index() -> int:
        hits = 0
        for ref in refs:
            if idx.answer(ref, MEASURE, at)["restricted"]:
                hits += 1
        return hits

    restricted = {c for c in codes if checks.answer(reg, c, MEASURE)["restricted"]}

    def loop_set() -> int:
        hits = 0
        for _ in range(SET_REPEAT):
            for c in codes:
                if c in restricted:
                    hits += 1
        return hits // SET_REPEAT

    loops: dict[str, tuple[Callable[[], int], int]] = {
        "answer": (loop_answer, 1),
        "resolve_code_only": (loop_resolve, 1),
        "index_answer_only": (loop_index, 1),
        "set_membership": (loop_set, SET_REPEAT),
    }
    # warm-up: one pass of each (loads the index, fills caches, JIT-free but branch-warm)
    for fn, _ in loops.values():
        fn()
    rates: dict[str, list[float]] = {k: [] for k in loops}
    hits: dict[str, int] = {}
    for i in range(runs):
        line = []
        for name, (fn, repeat) in loops.items():
            s, h = timed(fn)
            rate = len(codes) * repeat / s
            rates[name].append(rate)
            hits[name] = h
            line.append(f"{name} {rate:,.0f}/s")
        print(f"checks run {i + 1}/{runs}: " + ", ".join(line), flush=True)
    assert hits["answer"] == hits["index_answer_only"] == hits["set_membership"], hits
    out: dict[str, Any] = {
        "at": CHECK_AT,
        "measure": MEASURE,
        "advance": adv.as_dict(),
        "mix": mix,
        "restricted": hits["answer"],
        "restricted_share": hits["answer"] / len(codes),
        "set_repeat": SET_REPEAT,
        "per_s": {k: stats(v) for k, v in rates.items()},
    }
    med = {k: v["median"] for k, v in out["per_s"].items()}
    out["set_vs_answer_ratio"] = med["set_membership"] / med["answer"]
    # where one answer() call goes, from the medians: time per call in microseconds
    out["us_per_call"] = {k: 1e6 / v for k, v in med.items()}
    return out


# -- report ---------------------------------------------------------------------------------


def fmt_rate(s: dict[str, Any]) -> str:
    return f"{s['median']:,.0f}"


def fmt_runs(s: dict[str, Any]) -> str:
    return ", ".join(f"{v:,.0f}" for v in s["runs"])


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        "# Core benchmark results",
        "",
        f"- Date: {res['date']}",
        f"- Command: `{res['command']}` (in `{res['cwd']}`)",
        f"- Machine: {m['platform']}; {m['cpu_count']} CPUs ({m['cpu_model']}); "
        f"RAM {m['ram_total']}",
        f"- Python {m['python']}; SQLite {m['sqlite']}; socialcredit {m['socialcredit']}",
    ]
    if m.get("postgresql"):
        pg = m["postgresql"]
        lines.append(
            f"- PostgreSQL {pg['server_version']} (fsync={pg['fsync']}, "
            f"synchronous_commit={pg['synchronous_commit']}, shared_buffers={pg['shared_buffers']})"
        )
    d = res["data"]
    files = ", ".join(f"{k} {v:,}" for k, v in d["rows_per_file"].items())
    lines += [
        f"- Data: `generate({d['entities']:,}, seed={d['seed']})` → {d['rows']:,} rows "
        f"({files}); generated in {d['generate_seconds']:.1f}s",
        f"- Runs per measure: {res['runs']} (median, min–max; spread = (max − min) / median)",
        "",
        "## Ingest (rows/s, all three files, fresh database per run)",
        "",
        "| Database | Median rows/s | Min | Max | Spread | Median total s | Runs (rows/s) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for db, r in res["ingest"].items():
        s = r["rows_per_s"]
        lines.append(
            f"| {db} | {fmt_rate(s)} | {s['min']:,.0f} | {s['max']:,.0f} | "
            f"{spread_pct(s):.1f}% | {r['seconds']['median']:.1f} | {fmt_runs(s)} |"
        )
    lines += [
        "",
        "Per file (median rows/s):",
        "",
        "| Database | " + " | ".join(n for n, _ in FILES) + " |",
        "|---|" + "---:|" * len(FILES),
    ]
    for db, r in res["ingest"].items():
        cells = " | ".join(
            f"{r['files'][n]['rows_per_s']['median']:,.0f} "
            f"({r['files'][n]['seconds']['median']:.1f}s)"
            for n, _ in FILES
        )
        lines.append(f"| {db} | {cells} |")
    c = res.get("checks")
    if c:
        mix = c["mix"]
        lines += [
            "",
            f"## Point-of-service checks (SQLite, `{c['measure']}` at {c['at']})",
            "",
            f"{mix['codes']:,} codes: all {mix['listed_subjects']:,} subjects with a notified "
            f"listing plus {mix['random_others']:,} random others (seeded), shuffled; "
            f"{c['restricted']:,} ({100 * c['restricted_share']:.1f}%) answered restricted.",
            "",
        ]
        if mix["unresolvable_register_codes"]:
            bad = ", ".join(
                f"`{b['code']}` ({b['error']})" for b in mix["unresolvable_register_codes"]
            )
            lines += [
                f"Left out: register codes on which `resolve_code` raised (a package bug): {bad}.",
                "",
            ]
        lines += [
            "| Loop | Median per s | Min | Max | Spread | µs per call | Runs (per s) |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        labels = {
            "answer": "`checks.answer(reg, code, measure)`",
            "resolve_code_only": "`resolve_code(reg, code)` only",
            "index_answer_only": "`idx.answer(ref, measure, at)` only (refs precomputed)",
            "set_membership": "baseline: `code in restricted_set`",
        }
        for k, s in c["per_s"].items():
            lines.append(
                f"| {labels[k]} | {fmt_rate(s)} | {s['min']:,.0f} | {s['max']:,.0f} | "
                f"{spread_pct(s):.1f}% | {c['us_per_call'][k]:.2f} | {fmt_runs(s)} |"
            )
        lines += [
            "",
            f"Set baseline / `checks.answer`: **{c['set_vs_answer_ratio']:,.0f}×** "
            f"(the set loop repeats the codes {c['set_repeat']}× per run to rise above "
            "timer noise).",
        ]
    lines.append("")
    return "\n".join(lines)


# -- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--entities", type=int, default=75_000, help="subjects to generate (75000)")
    p.add_argument("--runs", type=int, default=3, help="runs per measure (3)")
    p.add_argument("--checks", type=int, default=20_000, help="codes in the check loop (20000)")
    p.add_argument("--seed", type=int, default=0, help="data and code-sample seed (0)")
    p.add_argument(
        "--postgres-url",
        default=os.environ.get("SOCIALCREDIT_BENCH_POSTGRES_URL"),
        help="SQLAlchemy URL of a PostgreSQL database (or SOCIALCREDIT_BENCH_POSTGRES_URL)",
    )
    p.add_argument("--out", type=Path, default=Path("bench/results"), help="results directory")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")

    started = dt.datetime.now(dt.UTC)
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
    print(f"machine: {machine}", flush=True)

    with tempfile.TemporaryDirectory(prefix="socialcredit-bench-") as tmp_s:
        tmp = Path(tmp_s)
        data = tmp / "data"
        t_gen, summary = timed(lambda: generate(args.entities, data, seed=args.seed))
        rows_per_file = {name: summary.files[name] for name, _ in FILES}
        total_rows = sum(rows_per_file.values())
        print(
            f"generate: {args.entities:,} entities -> {total_rows:,} rows {rows_per_file} "
            f"in {t_gen:.1f}s",
            flush=True,
        )

        results: dict[str, Any] = {
            "date": started.isoformat(timespec="seconds"),
            "command": redact(shlex.join(getattr(sys, "orig_argv", sys.argv))),
            "cwd": os.getcwd(),
            "machine": machine,
            "runs": args.runs,
            "data": {
                "entities": args.entities,
                "seed": args.seed,
                "rows": total_rows,
                "rows_per_file": rows_per_file,
                "generate_seconds": t_gen,
                "generate_summary": summary.as_dict(),
            },
            "ingest": {},
        }

        def sqlite_url(i: int) -> tuple[str, Callable[[], None]]:
            path = tmp / f"sqlite-{i}" / "registry.db"
            path.parent.mkdir()
            return f"sqlite:///{path}", lambda: None

        res, last = bench_ingest("sqlite", args.runs, data, sqlite_url)
        results["ingest"]["sqlite"] = res

        if args.postgres_url:
            admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")

            def pg_url(_i: int) -> tuple[str, Callable[[], None]]:
                schema = f"bench_{uuid.uuid4().hex[:12]}"
                with admin.connect() as conn:
                    conn.execute(text(f"CREATE SCHEMA {schema}"))

                def drop() -> None:
                    with admin.connect() as conn:
                        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))

                return pg_schema_url(args.postgres_url, schema), drop

            try:
                res, _ = bench_ingest("postgresql", args.runs, data, pg_url)
            finally:
                admin.dispose()
            results["ingest"]["postgresql"] = res

        assert last is not None
        try:
            results["checks"] = bench_checks(last, data, args.runs, args.checks, args.seed)
        finally:
            last.close()

    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "core.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    md = markdown(results)
    (args.out / "core.md").write_text(md)
    print(md)
    print(f"wrote {args.out / 'core.json'} and {args.out / 'core.md'}")
    return 0


def _dist_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("socialcredit")
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
