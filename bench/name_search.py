# ruff: noqa: T201  (a benchmark reports progress and results on stdout)
"""Public name search at a million organisations, against PostgreSQL's pg_trgm (issue #4).

Usage:
    python bench/name_search.py [--sizes 100000,1000000] [--queries 200]
                                [--postgres-url URL] [--out bench/results]

For each size: that many organisation names made by the data generator's name maker
(``socialcredit.generate``, seed 0: city or province, trade name, industry, legal form,
sometimes a branch), loaded straight into the ``subjects`` table and the name index
(``name_grams``: the projection the registry keeps; no events, since this measures the read
path), in an SQLite file and, with ``--postgres-url``, a fresh PostgreSQL schema.

Queries, ``--queries`` of each kind, drawn from the loaded names (seed 1):
- ``part``: four characters from the middle of a name (trade name and industry), as people
  type them;
- ``typo``: a whole name with one character replaced by another;
- ``missing``: a whole name with one character left out.

Timed: ``services.name_search.search`` (20 results: names containing the query, then near matches
ranked by rapidfuzz; on SQLite through the character-pair index, on PostgreSQL through pg_trgm's
index on the normalised name for queries of three characters or more), and on PostgreSQL the
baseline a developer would reach for, pg_trgm with a GIN index on the raw name: ``name LIKE '%q%'`` for the parts and ``name % q ORDER
BY similarity(name, q) DESC`` for the others. Reported per kind: median and p95 latency, and
how often the name the query was made from is among the first 5 results (recall@5).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import shlex
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from core import cpu_model, make_registry, mem_total, pg_schema_url, redact
from sqlalchemy import create_engine, insert, text

from socialcredit.db import name_grams, subjects
from socialcredit.generate import INDUSTRIES, _Generator
from socialcredit.identifiers.uscc import build_uscc
from socialcredit.projections.name_index import grams, normalise
from socialcredit.services import name_search

AT = "2026-10-01T09:00"
KINDS = ("part", "typo", "missing")


def make_names(n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """(USCC, name, division) for ``n`` organisations with distinct names."""
    with tempfile.TemporaryDirectory() as tmp:
        g = _Generator(
            random.Random(seed),
            dt.date(2025, 1, 1),
            dt.date(2026, 6, 30),
            Path(tmp),
            random.Random(seed + 1),
        )
        weights = [i.weight for i in INDUSTRIES]
        out, seen = [], set()
        i = 0
        while len(out) < n:
            div = g.division()
            industry = g.rng.choices(INDUSTRIES, weights)[0]
            name = g.enterprise_name(div, industry)
            if name in seen:
                continue
            seen.add(name)
            code = build_uscc("9", "1", div.code, f"{10_000_000 + i:08d}")
            out.append((code, name, div.code))
            i += 1
        g.court.close()
        g.samr.close()
        g.tax.close()
    return out


def load(reg: Any, names: list[tuple[str, str, str]]) -> float:
    t0 = time.perf_counter()
    at = dt.datetime(2026, 1, 1)
    with reg.engine.begin() as conn:
        for i in range(0, len(names), 20000):
            chunk = names[i : i + 20000]
            conn.execute(
                insert(subjects),
                [
                    {
                        "subject_id": code,
                        "kind": "organisation",
                        "name": name,
                        "division": div,
                        "organisation_code": None,
                        "known_from": "bench",
                        "registered_at": at,
                        "name_key": normalise(name),
                    }
                    for code, name, div in chunk
                ],
            )
            conn.execute(
                insert(name_grams),
                [
                    {"gram": gram, "name_len": len(normalise(name)), "subject_id": code}
                    for code, name, _ in chunk
                    for gram in grams(name)
                ],
            )
    return time.perf_counter() - t0


def make_queries(names: list[tuple[str, str, str]], n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    pool = "的一是了人在有中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
    out = []
    for code, name, _ in rng.sample(names, n):
        out.append({"kind": "part", "q": _middle(name, rng), "want": code})
        i = rng.randrange(2, len(name) - 2)
        typo = name[:i] + rng.choice([c for c in pool if c != name[i]]) + name[i + 1 :]
        out.append({"kind": "typo", "q": typo, "want": code})
        j = rng.randrange(2, len(name) - 2)
        out.append({"kind": "missing", "q": name[:j] + name[j + 1 :], "want": code})
    return out


def _middle(name: str, rng: random.Random) -> str:
    core = name
    for form in ("股份有限公司", "有限责任公司", "有限公司"):
        if form in core:
            core = core[: core.index(form)]
            break
    start = max(0, min(len(core) - 4, 2 + rng.randrange(0, 2)))
    return core[start : start + 4]


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def summarise(times: list[float], hits: list[bool]) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(times) * 1000, 2),
        "p95_ms": round(percentile(times, 95) * 1000, 2),
        "recall_at_5": round(sum(hits) / len(hits), 3),
        "queries": len(times),
    }


def run_ours(reg: Any, queries: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    name_search.search(reg, queries[0]["q"])  # warm
    for kind in KINDS:
        times, hits = [], []
        for q in (x for x in queries if x["kind"] == kind):
            t = time.perf_counter()
            res = name_search.search(reg, q["q"])
            times.append(time.perf_counter() - t)
            hits.append(q["want"] in [r["subject"] for r in res["results"][:5]])
        out[kind] = summarise(times, hits)
    return out


def run_trgm(url: str, queries: list[dict[str, Any]]) -> dict[str, Any]:
    engine = create_engine(url)
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        t0 = time.perf_counter()
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
        conn.execute(
            text("CREATE INDEX subjects_name_trgm ON subjects USING gin (name public.gin_trgm_ops)")
        )
        conn.execute(text("ANALYZE subjects"))
        conn.commit()
        out["index_build_s"] = round(time.perf_counter() - t0, 1)
        like = text(
            "SELECT subject_id FROM subjects WHERE name LIKE :p ORDER BY length(name), subject_id "
            "LIMIT 20"
        )
        similar = text(
            "SELECT subject_id FROM subjects WHERE name OPERATOR(public.%) :q "
            "ORDER BY public.similarity(name, :q) DESC, subject_id LIMIT 20"
        )
        for kind in KINDS:
            times, hits = [], []
            for q in (x for x in queries if x["kind"] == kind):
                t = time.perf_counter()
                if kind == "part":
                    ids = [r[0] for r in conn.execute(like, {"p": f"%{q['q']}%"})]
                else:
                    ids = [r[0] for r in conn.execute(similar, {"q": q["q"]})]
                times.append(time.perf_counter() - t)
                hits.append(q["want"] in ids[:5])
            out[kind] = summarise(times, hits)
    engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--postgres-url", default=os.environ.get("SOCIALCREDIT_BENCH_POSTGRES_URL"))
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    cmd = sys.argv[1:] if argv is None else argv
    args = p.parse_args(cmd)
    started = dt.datetime.now(dt.UTC)
    res: dict[str, Any] = {
        "benchmark": "name_search",
        "started": started.isoformat(timespec="seconds"),
        "command": redact(" ".join(["python bench/name_search.py", shlex.join(cmd)]).strip()),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "cpu_model": cpu_model(),
            "memory": mem_total(),
            "python": platform.python_version(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        },
        "sizes": {},
    }
    sizes = [int(s) for s in args.sizes.split(",")]
    names = make_names(max(sizes))
    for size in sizes:
        part = names[:size]
        queries = make_queries(part, args.queries)
        entry: dict[str, Any] = {}
        with tempfile.TemporaryDirectory(prefix="sc-search-") as tmp:
            targets = [("sqlite", f"sqlite:///{tmp}/search.db", None)]
            eng = None
            if args.postgres_url:
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                eng = create_engine(args.postgres_url)
                with eng.begin() as conn:
                    conn.execute(text(f"CREATE SCHEMA {schema}"))
                targets.append(("postgresql", pg_schema_url(args.postgres_url, schema), schema))
            try:
                for engine_name, url, _schema in targets:
                    reg = make_registry(url, AT)
                    load_s = load(reg, part)
                    ours = run_ours(reg, queries)
                    reg.close()
                    entry[engine_name] = {"load_s": round(load_s, 1), "ours": ours}
                    if engine_name == "postgresql":
                        entry[engine_name]["pg_trgm"] = run_trgm(url, queries)
                    print(f"{size:,} {engine_name}: {json.dumps(entry[engine_name])}", flush=True)
            finally:
                if eng is not None:
                    with eng.begin() as conn:
                        for _, _, schema in targets:
                            if schema:
                                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                    eng.dispose()
        res["sizes"][str(size)] = entry
    res["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "name_search.json").write_text(json.dumps(res, indent=2) + "\n", "utf-8")
    m = res["machine"]
    lines = [
        "# Public name search",
        "",
        f"- Date: {res['started']}; command: `{res['command']}`",
        f"- Machine: {m['platform']}; {m['cpu_count']} CPUs ({m['cpu_model']}); {m['memory']}; "
        f"Python {m['python']}; load average {m['loadavg_start'][0]} at start, "
        f"{m['loadavg_end'][0]} at end",
        f"- {args.queries} queries of each kind; recall@5: the name the query was made from is "
        "among the first five results",
        "",
        "| organisations | engine | method | kind | median ms | p95 ms | recall@5 |",
        "|---:|---|---|---|---:|---:|---:|",
    ]
    for size, entry in res["sizes"].items():
        for engine_name, r in entry.items():
            for method in ("ours", "pg_trgm"):
                if method not in r:
                    continue
                for kind in KINDS:
                    s = r[method][kind]
                    lines.append(
                        f"| {int(size):,} | {engine_name} | {method} | {kind} | {s['median_ms']} | "
                        f"{s['p95_ms']} | {s['recall_at_5']} |"
                    )
    lines += [
        "",
        "`ours`: `services.name_search.search` (names containing the query, then near matches ranked "
        "by rapidfuzz's WRatio; SQLite: the character-pair index; PostgreSQL: pg_trgm on the "
        "normalised name). `pg_trgm`: plain pg_trgm, a GIN index on the raw name; `LIKE '%q%'` "
        "for parts, the `%` operator ordered by `similarity` otherwise.",
        "",
    ]
    (args.out / "name_search.md").write_text("\n".join(lines), "utf-8")
    print(f"wrote {args.out / 'name_search.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
