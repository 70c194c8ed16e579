# ruff: noqa: T201  (a benchmark reports on stdout)
"""Every benchmark in one command, and one table of the targets against what was measured.

Usage (from the project root; ``scripts/bench`` installs what is needed, starts a throwaway
PostgreSQL when no URL is given, then calls this):

    python bench/run.py [--scale small|full] [--postgres-url URL] [--out bench/results]

Runs, each as its own process, with the scale's sizes:

- ``bench/checks.py``: the check file in process against Redis ``SMISMEMBER`` (one run at the
  scale's pair count, and at ``full`` also 30 million pairs for the memory target);
- ``bench/check_http.py``: single checks with wrk against the check server, the full API and a
  PostgreSQL indexed lookup; bulk over HTTP; visibility of a new listing;
- ``bench/core.py``: ingest on SQLite and PostgreSQL, and the service-level check loop;
- ``bench/ingest_scale.py``: ingest as the store grows (100k rows; at ``full`` also 1M), with
  the same rows loaded bare into one plain table as the baseline;
- ``bench/prove.py``: the log of batches: appending facts, proving one fact, verifying the log
  whole and by sample (1M facts; at ``full`` also 10M).

Each writes its own results under ``--out``; this script then writes ``summary.json`` and
``summary.md``: the machine, the commands, and for each target of the performance issue the
figure measured, the ratio to the target and to the baseline of the same run. ``grades.py``
and ``portal.py`` take longer and have their own tables (``--with grades,portal`` adds them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

SCALES: dict[str, dict[str, Any]] = {
    "small": {
        "pairs": [1_000_000],
        "http_entities": 20_000,
        "bulk": 1_000_000,
        "core": 20_000,
        "ingest_rows": "100000",
        "prove_facts": "1000000",
    },
    "full": {
        "pairs": [1_000_000, 30_000_000],
        "http_entities": 100_000,
        "bulk": 2_000_000,
        "core": 75_000,
        "ingest_rows": "100000,1000000",
        "prove_facts": "1000000,10000000",
    },
}


def run(cmd: list[str], env: dict[str, str]) -> str:
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    sys.stdout.write(proc.stdout[-3000:])
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-5000:])
        raise SystemExit(f"{cmd[1]} failed with exit code {proc.returncode}")
    print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=sorted(SCALES), default="small")
    ap.add_argument("--postgres-url", default=os.environ.get("SOCIALCREDIT_BENCH_POSTGRES_URL"))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--with", dest="extra", default="", help="also: grades,portal")
    ap.add_argument(
        "--summary-only", action="store_true", help="only rewrite the summary from --out's files"
    )
    args = ap.parse_args()
    sc = SCALES[args.scale]
    env = dict(os.environ)
    if args.postgres_url:
        env["SOCIALCREDIT_BENCH_POSTGRES_URL"] = args.postgres_url
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    if args.summary_only:  # e.g. after adding a separate checks.py run to checks.json
        write_summary(out, args.scale, json.loads((out / "checks.json").read_text())[0]["date"])
        return
    checks: list[dict[str, Any]] = []
    for pairs in sc["pairs"]:
        line = run([PY, "bench/checks.py", "--pairs", str(pairs), "--json"], env).strip()
        checks.append(json.loads(line.splitlines()[-1]))
    (out / "checks.json").write_text(json.dumps(checks, indent=2) + "\n")
    run(
        [
            PY,
            "bench/check_http.py",
            "--entities",
            str(sc["http_entities"]),
            "--bulk",
            str(sc["bulk"]),
            "--out",
            str(out),
        ],
        env,
    )
    core_cmd = [PY, "bench/core.py", "--entities", str(sc["core"]), "--out", str(out)]
    if args.postgres_url:
        core_cmd += ["--postgres-url", args.postgres_url]
    run(core_cmd, env)
    scale_cmd = [PY, "bench/ingest_scale.py", "--rows", sc["ingest_rows"], "--out", str(out)]
    if args.postgres_url:
        scale_cmd += ["--postgres-url", args.postgres_url]
    run(scale_cmd, env)
    run([PY, "bench/prove.py", "--facts", sc["prove_facts"], "--out", str(out)], env)
    for extra in filter(None, args.extra.split(",")):
        run([PY, f"bench/{extra}.py", "--out", str(out)], env)

    write_summary(out, args.scale, started)


def write_summary(out: Path, scale: str, started: str) -> None:
    checks = json.loads((out / "checks.json").read_text())
    http = json.loads((out / "check_http.json").read_text())
    core = json.loads((out / "core.json").read_text())
    scale_file = out / "ingest_scale.json"
    if scale_file.exists():
        core["ingest_scale"] = json.loads(scale_file.read_text())
    prove_file = out / "prove.json"
    if prove_file.exists():
        core["prove"] = json.loads(prove_file.read_text())
    summary = {
        "scale": scale,
        "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": http["machine"],
        "targets": targets(checks, http, core, out),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "summary.md").write_text(markdown(summary))
    print((out / "summary.md").read_text())


def targets(
    checks: list[dict[str, Any]], http: dict[str, Any], core: dict[str, Any], out: Path
) -> list:
    first, largest = checks[0], max(checks, key=lambda c: c["pairs"])
    rows: list[dict[str, Any]] = []

    def add(
        what: str, target: float, measured: float | None, unit: str, higher: bool, note: str
    ) -> None:
        met = None if measured is None else (measured >= target if higher else measured <= target)
        rows.append(
            {
                "what": what,
                "target": target,
                "measured": measured,
                "unit": unit,
                "met": met,
                "note": note,
            }
        )

    add(
        "in-process single checks (by key)",
        2_000_000,
        first["registry_single_per_s"],
        "/s",
        True,
        f"half the subjects listed; {first.get('registry_single_unlisted_per_s') or 0:,}/s for"
        f" unlisted subjects (most checks at a point of service);"
        f" {first['registry_single_with_hashing_per_s']:,}/s with the key computed from the"
        " id; `CheckFile.hit`, one Python call per check",
    )
    add(
        "in-process batch checks",
        5_000_000,
        first["registry_batch_per_s"],
        "/s",
        True,
        f"{first['registry_batch_with_hashing_per_s']:,}/s with keys computed from the ids;"
        f" {first['pairs']:,} pairs",
    )
    if largest is not first:
        add(
            f"in-process batch checks at {largest['pairs']:,} pairs",
            5_000_000,
            largest["registry_batch_per_s"],
            "/s",
            True,
            f"{largest['registry_batch_with_hashing_per_s']:,}/s with keys computed; Redis "
            f"{largest.get('redis_smismember_per_s') or 0:,}/s; run of {largest['date']}",
        )
    redis = first.get("redis_smismember_per_s")
    add(
        "batch vs Redis SMISMEMBER (ratio)",
        1.0,
        first["registry_batch_with_hashing_per_s"] / redis if redis else None,
        "×",
        True,
        f"with hashing, same queries; without hashing {first['batch_vs_redis']}×; Redis {redis:,}/s"
        if redis
        else "no redis-server",
    )
    add(
        "HTTP bulk subject-checks",
        1_000_000,
        http["bulk"]["json_per_s"]["median"],
        "/s",
        True,
        f"JSON; one code per line: {http['bulk']['lines_per_s']['median']:,.0f}/s;"
        f" {http['bulk']['subjects']:,} subjects a request",
    )
    note = (
        f"wrk -t2 -c{http['connections']} on the same 2 cores; every check recorded for its subject"
    )
    for server, mix, label, rps_target, p99_target in (
        ("check_server", "unlisted", "HTTP single checks, unlisted subject", 10_000, 10),
        ("check_server", "listed", "HTTP single checks, listed subject", 5_000, 20),
        ("full_api", "listed", "HTTP single checks through the API, listed subject", 2_000, 50),
    ):
        s = http.get(server, {}).get(mix)
        if s is None:
            continue
        add(label, rps_target, s["rps"]["median"], "req/s", True, note)
        add(f"{label}: p99", p99_target, s["p99_ms"]["median"], "ms", False, "same runs")
    if "postgres_baseline" in http and "mixed" in http["check_server"]:
        cs, pb = http["check_server"]["mixed"], http["postgres_baseline"]["mixed"]
        rows.append(
            {
                "what": "HTTP single vs PostgreSQL indexed lookup (ratio)",
                "target": None,
                "measured": cs["rps"]["median"] / pb["rps"]["median"],
                "unit": "×",
                "met": None,
                "note": f"baseline {pb['rps']['median']:,.0f} req/s, p99 "
                f"{pb['p99_ms']['median']:.1f} ms",
            }
        )
    add(
        "index bytes per pair",
        16,
        largest["index_bytes_per_pair"],
        "bytes",
        False,
        f"at {largest['pairs']:,} pairs",
    )
    add(
        "new listing visible to checks",
        1.0,
        http["visibility_s"]["max"],
        "s (max)",
        False,
        f"median {http['visibility_s']['median']:.2f} s",
    )
    # ingest: the largest size of ingest_scale.py when it ran, else core.py's medians
    largest = (core.get("ingest_scale") or {}).get("sizes", [])[-1:]
    for engine, label, target in (
        ("sqlite", "ingest SQLite", 50_000),
        ("postgresql", "ingest PostgreSQL (COPY)", 100_000),
    ):
        if largest and engine in largest[0]["engines"]:
            r = largest[0]["engines"][engine]
            batch = core["ingest_scale"]["batch"]
            runs = r.get("runs", 1)
            loads = r.get("runs_load_average") or [[r["load_average_at_end"][0]] * 2]
            base = r.get("baseline_rows_per_s")
            add(
                label,
                target,
                r["rows_per_s"],
                "rows/s",
                True,
                f"{r['rows']:,} rows into an empty store, batches of {batch:,}, "
                + ("one run" if runs == 1 else f"median of {runs} runs")
                + f", {r['cpu_s'] * 1e6 / r['rows']:,.0f} µs of CPU a row"
                + f"; load average {max(max(x) for x in loads):.1f} at most (2 CPUs)"
                + (
                    f"; the same rows bare into one plain table: {base:,.0f} rows/s "
                    f"(registry ÷ bare = {r['rows_per_s'] / base:.3f})"
                    if base
                    else ""
                )
                + _larger_loads(out, engine, r["rows"]),
            )
        elif engine in core["ingest"]:
            r = core["ingest"][engine]
            add(
                label,
                target,
                r["rows_per_s"]["median"],
                "rows/s",
                True,
                f"{r['rows']:,} rows, batches of 1,000",
            )
    for p in (core.get("prove") or {}).get("results", [])[-1:]:
        add(
            "audit prove of one fact",
            10.0,
            p["prove_ms_median"],
            "ms",
            False,
            f"{p['engine']}, {p['facts']:,} facts; p99 {p['prove_ms_p99']:.2f} ms; the bare read "
            f"of the fact's row {p['bare_read_ms_median']:.3f} ms; full verify "
            f"{p['verify_seconds']:,.0f} s, sampled (1,000 facts) "
            f"{min(p['verify_sampled_seconds']):.1f}-{max(p['verify_sampled_seconds']):.1f} s",
        )
    return rows


def _larger_loads(out: Path, engine: str, rows: int) -> str:
    """Notes on larger loads measured by separate ``ingest_scale.py`` runs whose results were
    kept beside the summary (``ingest_scale_*.json``): a million rows take a quarter of an hour
    an engine, more than ``--scale small`` spends."""
    notes = []
    for f in sorted(out.glob("ingest_scale_*.json")):
        doc = json.loads(f.read_text())
        for size in doc.get("sizes", []):
            r = size["engines"].get(engine)
            if r is None or r["rows"] <= rows:
                continue
            end = max(r["load_average_at_end"][:1] + r["load_average_at_start"][:1])
            notes.append(
                f"; at {r['rows']:,} rows: {r['rows_per_s']:,.0f} rows/s, {r['cpu_s']:,.0f} CPU s"
                f" ({r['cpu_s'] * 1e6 / r['rows']:,.0f} µs a row), load average {end:.1f}"
                f" ({f.name}, {doc['date']})"
            )
    return "".join(notes)


def markdown(s: dict[str, Any]) -> str:
    m = s["machine"]
    lines = [
        "# Benchmark summary",
        "",
        f"Scale `{s['scale']}`, {s['started']} to {s['finished']}, on {m['cpus']} × {m['cpu']}, "
        f"{m['memory']}, Python {m['python']}. Details: checks.json, check_http.md, core.md.",
        "",
        "| Target | Wanted | Measured | Met | Note |",
        "|---|---:|---:|:---:|---|",
    ]
    for r in s["targets"]:
        want = (
            ""
            if r["target"] is None
            else f"{'≥' if r['unit'] not in ('ms', 'bytes', 's (max)') else '≤'} {r['target']:,}"
        )
        got = (
            "n/a"
            if r["measured"] is None
            else (f"{r['measured']:,.2f}" if r["measured"] < 100 else f"{r['measured']:,.0f}")
        )
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        lines.append(f"| {r['what']} | {want} {r['unit']} | {got} | {met} | {r['note']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
