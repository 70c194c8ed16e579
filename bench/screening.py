# ruff: noqa: T201  (a benchmark reports progress and results on stdout)
"""Screening by name (issue #28): precision@1, recall@5 and the time of one match.

Usage:
    python bench/screening.py [--size 20000] [--queries 500] [--seed 3] [--out bench/results]

A register of ``--size`` generated organisations (``bench/org_records.py``: names, addresses,
legal representatives, USCCs) is loaded straight into the projections the matcher reads (as
``bench/resolve_speed.py`` loads them: no events). The queries are ``bench/org_records.py``'s
damaged copies (a typo, another legal form, traditional characters, address parts swapped, no
code, none) and organisations that are not registered; each is sent as a yente query of a
``Company`` with its name and address (and its registration number when the copy kept one)
to ``services.screening.match`` in process, one query a call, on the ``default`` dataset.

Reported, per kind and overall: precision@1 (the best result is the organisation and a match),
recall@5 (the organisation is among the first five results, cutoff 0), false matches for the
unregistered (a result at or above the threshold), and the time of one call (median, p99 and
calls per second), in this process (the HTTP layer is not in it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from core import make_registry
from org_records import incoming, organisations
from resolve_speed import AT, load

from socialcredit.services import screening


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    args = ap.parse_args(argv)

    both = organisations(args.size + args.size // 10, args.seed)
    register, new = both.iloc[: args.size].reset_index(drop=True), both.iloc[args.size :]
    rows = incoming(register, args.seed + 2, new).head(args.queries).to_dict("records")
    registered = set(register["uscc"])
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        reg = make_registry(f"sqlite:///{Path(tmp) / 'screening.db'}", AT)
        try:
            load(reg, register)
            kinds: dict[str, dict[str, int]] = {}
            times: list[float] = []
            for r in rows:
                props: dict[str, Any] = {"name": [r["name"]], "address": [r["address"]]}
                if r["uscc"]:
                    props["registrationNumber"] = [r["uscc"]]
                q = {"q": {"schema": "Company", "properties": props}}
                t0 = time.perf_counter()
                res = screening.match(reg, "default", q, limit=5, cutoff=0.0)
                times.append(time.perf_counter() - t0)
                results = res["responses"]["q"]["results"]
                k = kinds.setdefault(r["kind"], {"n": 0, "p_at_1": 0, "r_at_5": 0, "false": 0})
                k["n"] += 1
                truth = f"sc-org-{r['truth']}"
                if r["truth"] in registered:
                    if results and results[0]["id"] == truth and results[0]["match"]:
                        k["p_at_1"] += 1
                    if truth in [x["id"] for x in results[:5]]:
                        k["r_at_5"] += 1
                elif any(x["match"] for x in results):
                    k["false"] += 1
        finally:
            reg.close()

    known = [v for kind, v in kinds.items() if kind != "new"]
    n_known = sum(v["n"] for v in known)
    out = {
        "size": args.size,
        "queries": len(rows),
        "seed": args.seed,
        "precision_at_1": round(sum(v["p_at_1"] for v in known) / n_known, 4),
        "recall_at_5": round(sum(v["r_at_5"] for v in known) / n_known, 4),
        "unregistered": kinds.get("new", {}).get("n", 0),
        "false_matches_unregistered": kinds.get("new", {}).get("false", 0),
        "median_ms": round(statistics.median(times) * 1000, 2),
        "p99_ms": round(sorted(times)[int(0.99 * (len(times) - 1))] * 1000, 2),
        "calls_per_s": round(len(times) / sum(times), 1),
        "by_kind": {
            kind: {
                "n": v["n"],
                "precision_at_1": round(v["p_at_1"] / v["n"], 4) if kind != "new" else None,
                "recall_at_5": round(v["r_at_5"] / v["n"], 4) if kind != "new" else None,
                "false_matches": v["false"] if kind == "new" else None,
            }
            for kind, v in sorted(kinds.items())
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "screening.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    cmd = " ".join(["python", "bench/screening.py", *(argv or sys.argv[1:])])
    lines = [
        "# Screening by name (issue #28)",
        "",
        f"- Command: `{cmd}`",
        f"- Register: {args.size:,} generated organisations; {len(rows)} queries, one a call, "
        "in process (`services.screening.match`, dataset `default`, limit 5, cutoff 0)",
        "",
        "| kind | queries | precision@1 | recall@5 | false matches |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, v in out["by_kind"].items():
        lines.append(
            f"| {kind} | {v['n']} | {v['precision_at_1'] if v['precision_at_1'] is not None else ''}"
            f" | {v['recall_at_5'] if v['recall_at_5'] is not None else ''}"
            f" | {v['false_matches'] if v['false_matches'] is not None else ''} |"
        )
    lines += [
        f"| **all registered** | {n_known} | **{out['precision_at_1']}** | "
        f"**{out['recall_at_5']}** | |",
        "",
        f"Time of one call: median {out['median_ms']} ms, p99 {out['p99_ms']} ms, "
        f"{out['calls_per_s']} calls/s (one process, no HTTP).",
        "",
    ]
    (args.out / "screening.md").write_text("\n".join(lines), encoding="utf-8")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
