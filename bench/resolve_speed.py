# ruff: noqa: T201  (a benchmark reports progress and results on stdout)
"""Resolution speed against a register of up to a million organisations (issue #4).

Usage:
    python bench/resolve_speed.py [--sizes 100000,300000,1000000] [--rows 500] [--runs 3]
                                  [--baseline] [--out bench/results]

For each size N: N organisations made by the data generator (``bench/org_records.py``: names,
addresses, legal representatives, USCCs), loaded straight into the projections resolution
reads (``subjects``, the name index ``name_grams``, ``subject_details``) of an SQLite file: no
events, since this measures the resolution path, not ingest. Then, per run, ``--rows`` rows
sent without a code are put in the review queue: damaged copies of registered organisations
(one damage each: typo, legal form, traditional characters, address parts swapped, no code,
none) and a tenth of organisations that are not registered, each a valid court judgment row.

Timed: ``services.resolution.run`` over those items, everything included: the candidate
search in the name index (20 names per row), Splink's scoring with the pack's organisation
model (prior for the whole register), and, for each row linked, its ingest for that subject
(record, list rules, grade) in its own transaction. Reported: rows per second (median of the
runs, with min and max), and, against the ground truth, links right and wrong, rows proposed
to a reviewer and rows left unresolved.

``--baseline``: the same rows scored by the same model with Splink against the whole register
(no candidate search: Splink's blocking rules over all N organisations), as one would without
an index, timed from the register in memory to the predictions (loading it from the database
is not counted).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from core import cpu_model, make_registry, mem_total
from org_records import incoming, organisations
from sqlalchemy import insert, select

from socialcredit.db import records, review_queue, subject_details, subjects
from socialcredit.events.chain import canonical
from socialcredit.projections.name_index import grams, normalise
from socialcredit.resolution import probabilistic as P
from socialcredit.services import resolution
from socialcredit.services.filing import record_key

AT = "2026-10-01T09:00"
REGISTERED = dt.datetime(2026, 1, 1)


def load(reg: Any, register: pd.DataFrame) -> float:
    t0 = time.perf_counter()
    rows = register.to_dict("records")
    with reg.engine.begin() as conn:
        for i in range(0, len(rows), 20000):
            chunk = rows[i : i + 20000]
            conn.execute(
                insert(subjects),
                [
                    {
                        "subject_id": r["uscc"],
                        "kind": "organisation",
                        "name": r["name"],
                        "division": r["uscc"][2:8],
                        "organisation_code": f"{r['uscc'][8:16]}-{r['uscc'][16]}",
                        "known_from": "bench",
                        "registered_at": REGISTERED,
                        "name_key": normalise(r["name"]),
                    }
                    for r in chunk
                ],
            )
            conn.execute(
                insert(subject_details),
                [
                    {
                        "subject_id": r["uscc"],
                        "address": r["address"],
                        "legal_representative": r["legal_rep"],
                        "source": "samr",
                        "updated_at": REGISTERED,
                    }
                    for r in chunk
                ],
            )
            from socialcredit.db import name_grams

            conn.execute(
                insert(name_grams),
                [
                    {"gram": g, "name_len": len(normalise(r["name"])), "subject_id": r["uscc"]}
                    for r in chunk
                    for g in grams(r["name"])
                ],
            )
    return time.perf_counter() - t0


def judgment_row(rid: str, r: dict[str, Any], n: int) -> dict[str, Any]:
    """A valid court judgment row without a code, as the review queue keeps it."""
    hints = {"subject_kind": "organisation"}
    if r.get("address"):
        hints["subject_address"] = r["address"]
    if r.get("legal_rep"):
        hints["subject_legal_representative"] = r["legal_rep"]
    return {
        "record_type": "court_judgment",
        "subject_name": r["name"],
        "authority": "北京市朝阳区人民法院",
        "decision_ref": f"（2026）京0105执{n}号",
        "decided_on": "2026-06-15",
        "legal_basis": "《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条",
        "status": "unperformed",
        "fields": {"amount_yuan": "250000"},
        "hints": hints,
        "row": n,
    }


def queue(reg: Any, rows: pd.DataFrame, run: int) -> list[str]:
    ids = []
    values = []
    for j, r in enumerate(rows.to_dict("records")):
        rid = f"BENCH-{run}-{j:06d}"
        item = "Q" + record_key("court", rid)[:31]
        ids.append(item)
        values.append(
            {
                "item_id": item,
                "source": "court",
                "source_record_id": rid,
                "record_type": "court_judgment",
                "subject_name": r["name"],
                "reason": "bench",
                "row": canonical(judgment_row(rid, r, j + 1)),
                "queued_at": REGISTERED,
                "status": "open",
            }
        )
    with reg.engine.begin() as conn:
        conn.execute(insert(review_queue), values)
    return ids


def score(reg: Any, rows: pd.DataFrame, run: int, found: Any) -> dict[str, int]:
    truth = {f"BENCH-{run}-{j:06d}": t for j, t in enumerate(rows["truth"])}
    kinds = {f"BENCH-{run}-{j:06d}": k for j, k in enumerate(rows["kind"])}
    with reg.engine.connect() as conn:
        linked = {
            r.source_record_id: r.subject_id
            for r in conn.execute(
                select(records.c.source_record_id, records.c.subject_id).where(
                    records.c.source_record_id.like(f"BENCH-{run}-%")
                )
            )
        }
    right = sum(1 for rid, s in linked.items() if truth[rid] == s and kinds[rid] != "new")
    return {
        "linked_right": right,
        "linked_wrong": len(linked) - right,
        "review": found.review,
        "unresolved": found.unresolved,
        "registered_rows": sum(1 for k in kinds.values() if k != "new"),
    }


def baseline(register: pd.DataFrame, rows: pd.DataFrame) -> dict[str, Any]:
    left = rows[["name", "address", "legal_rep"]].assign(uscc=None)
    right = register[["name", "address", "legal_rep", "uscc"]]
    t0 = time.perf_counter()
    res = P.link(left, right, P.default_model("organisation"), cluster=False)
    secs = time.perf_counter() - t0
    links = {(int(a), int(b)) for a, b in res.linked}
    truth = list(rows["truth"])
    codes = list(register["uscc"])
    right_links = sum(1 for a, b in links if codes[b] == truth[a])
    return {
        "seconds": round(secs, 2),
        "rows_per_s": round(len(rows) / secs, 1),
        "linked_right": right_links,
        "linked_wrong": len(links) - right_links,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="100000,300000,1000000")
    ap.add_argument("--rows", type=int, default=500, help="queued rows per run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    for n in sizes:
        print(f"size {n:,}: generating", file=sys.stderr)
        extra = args.rows * args.runs // 9 + 1
        both = organisations(n + extra, seed=11)
        register, new = both.iloc[:n].reset_index(drop=True), both.iloc[n:]
        with tempfile.TemporaryDirectory() as tmp:
            reg = make_registry(f"sqlite:///{tmp}/resolve.db", AT)
            load_s = load(reg, register)
            print(f"  loaded in {load_s:.0f} s", file=sys.stderr)
            runs = []
            for run in range(args.runs):
                sample = register.sample(n=int(args.rows * 0.9), random_state=run)
                fresh = new.iloc[run * (extra // args.runs) : (run + 1) * (extra // args.runs)]
                rows = incoming(sample.reset_index(drop=True), 100 + run, fresh).head(args.rows)
                ids = queue(reg, rows, run)
                t0 = time.perf_counter()
                found = resolution.run(reg, actor="bench", item_ids=ids)
                secs = time.perf_counter() - t0
                acc = score(reg, rows, run, found)
                runs.append({"rows": len(rows), "seconds": round(secs, 2)} | acc)
                print(f"  run {run}: {len(rows) / secs:.1f} rows/s {acc}", file=sys.stderr)
            rates = [r["rows"] / r["seconds"] for r in runs]
            entry: dict[str, Any] = {
                "register": n,
                "rows_per_s_median": round(statistics.median(rates), 1),
                "rows_per_s_min": round(min(rates), 1),
                "rows_per_s_max": round(max(rates), 1),
                "runs": runs,
                "load_seconds": round(load_s, 1),
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
            if args.baseline:
                entry["baseline_whole_register"] = baseline(register, rows)
                print(f"  baseline: {entry['baseline_whole_register']}", file=sys.stderr)
            reg.close()
        results.append(entry)
    out = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python bench/resolve_speed.py " + " ".join(argv or sys.argv[1:]),
        "machine": f"{platform.platform()}; {os.cpu_count()} CPUs ({cpu_model()}); "
        f"RAM {mem_total()}",
        "results": results,
    }
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "resolve_speed.json").write_text(json.dumps(out, indent=1) + "\n")
        (args.out / "resolve_speed.md").write_text(markdown(out))
    print(json.dumps(out))
    return 0


def markdown(out: dict[str, Any]) -> str:
    lines = [
        "# Resolution speed against the register",
        "",
        f"- Date: {out['date']}",
        f"- Command: `{out['command']}`",
        f"- Machine: {out['machine']}",
        "- Register loaded straight into the projections resolution reads (SQLite file); rows "
        "queued as valid court judgments without a code; timed: `services.resolution.run` "
        "(candidate search, Splink scoring, ingest of each linked row).",
        "",
        "| Register | Rows/s median (min-max) | Linked right | Linked wrong | Review | "
        "Unresolved | Registered rows | Load avg | Whole-register Splink rows/s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in out["results"]:
        tot = {k: sum(r[k] for r in e["runs"]) for k in e["runs"][0] if k != "seconds"}
        b = e.get("baseline_whole_register")
        lines.append(
            f"| {e['register']:,} | {e['rows_per_s_median']} ({e['rows_per_s_min']}-"
            f"{e['rows_per_s_max']}) | {tot['linked_right']} | {tot['linked_wrong']} | "
            f"{tot['review']} | {tot['unresolved']} | {tot['registered_rows']} | "
            f"{e['loadavg_1m']} | {b['rows_per_s'] if b else '-'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
