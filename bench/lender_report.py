# ruff: noqa: T201  (a benchmark reports progress and results on stdout)
"""Time to issue a lender's report on a subject with five years of records (issue #10).

Usage:
    python bench/lender_report.py [--background 20000] [--runs 50] [--pdf-runs 10]
                                  [--postgres-url URL] [--out bench/results]

Set-up, per database (an SQLite file; and a fresh PostgreSQL schema with ``--postgres-url``):
a register of ``--background`` generated entities (``socialcredit.generate``, seed 0, ingested
as the demo does), then one organisation with five years of records: 60 monthly periods of each
of the four payment-behaviour types (240 records, about one in ten late and one in forty in
arrears), five annual tax credit ratings and three administrative penalties. A lender holds
its consent.

Timed, each run reading the registry as a lender does, and each recording its read (a write):
1. ``services.lending.lender_report``: the file replayed from the subject's events, payment
   summaries over 12/24/36 months, grades explained, sealed;
2. the same over HTTP (``GET /v1/lending/reports/{code}``, the app in process through
   Starlette's TestClient: routing, JSON encoding, no network);
3. the PDF (``GET /lender/reports/{code}/pdf`` signed in: the page rendered and typeset by
   WeasyPrint), ``--pdf-runs`` times.
Reported: median, p95 and max of each (after one warm-up run), the report's size, and the
load average. Results go to <out>/lender_report.json and <out>/lender_report.md.
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

from core import FILES, cpu_model, make_registry, mem_total, pg_schema_url, redact
from sqlalchemy import create_engine, text

from socialcredit.api.app import create_app
from socialcredit.bootstrap import Registry
from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.services import ingest, lending
from socialcredit.services.access import authenticate, create_principal, sign_in
from socialcredit.services.consents import grant

AT = "2026-10-01T09:00"
ORG = "91110000600037341L"
PASSWORD = "bench password 123"
PAYMENT_SOURCES = {
    "social_insurance_payment": "hrss",
    "utility_payment": "utilities",
    "rent_payment": "housing",
    "tax_payment": "tax",
}


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(values) * 1000, 1),
        "p95_ms": round(percentile(values, 95) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
        "runs": len(values),
    }


def five_years(rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """The subject's rows by source: 60 months of each payment type, ratings, penalties."""
    by: dict[str, list[dict[str, Any]]] = {s: [] for s in PAYMENT_SOURCES.values()}
    by["samr"] = []
    for back in range(1, 61):
        total = 2026 * 12 + 9 - 1 - back  # periods 2021-09 .. 2026-08
        y, m = divmod(total, 12)
        period = f"{y:04d}-{m + 1:02d}"
        y2, m2 = divmod(total + 1, 12)
        for rtype, source in PAYMENT_SOURCES.items():
            u = rng.random()
            paid = "in_arrears" if u < 0.025 else "late" if u < 0.125 else "on_time"
            row = {
                "source_record_id": f"{rtype[:3].upper()}-{period}",
                "record_type": rtype,
                "subject_id": ORG,
                "subject_name": "北京某某科技有限公司",
                "authority": f"{source} authority",
                "decision_ref": f"statement {rtype} {period}",
                "decided_on": f"{y2:04d}-{m2 + 1:02d}-15",
                "legal_basis": "statute",
                "status": "recorded",
                "period": period,
                "payment": paid,
                "amount_yuan": "12000",
            }
            if rtype == "utility_payment":
                row["utility"] = "electricity"
            if paid == "late":
                row["days_late"] = str(rng.randint(1, 40))
            by[source].append(row)
    for year in range(2021, 2026):
        by["tax"].append(
            {
                "source_record_id": f"TCR-{year}",
                "record_type": "tax_credit_rating",
                "subject_id": ORG,
                "subject_name": "北京某某科技有限公司",
                "authority": "国家税务总局北京市税务局",
                "decision_ref": f"京税信评〔{year + 1}〕1号",
                "decided_on": f"{year + 1}-04-20",
                "legal_basis": "《纳税信用管理办法（试行）》第二十五条",
                "status": "issued",
                "tax_year": str(year),
                "level": rng.choice("ABBM"),
            }
        )
    for i in range(3):
        by["samr"].append(
            {
                "source_record_id": f"PEN-{i}",
                "record_type": "administrative_penalty",
                "subject_id": ORG,
                "subject_name": "北京某某科技有限公司",
                "authority": "北京市朝阳区市场监督管理局",
                "decision_ref": f"京朝市监罚〔{2022 + i}〕{i + 1}号",
                "decided_on": f"{2022 + i}-05-10",
                "legal_basis": "《中华人民共和国食品安全法》第一百二十四条",
                "status": "in_force",
                "severity": "general",
                "penalty_kind": "fine",
                "fine_yuan": "5000",
                "field_of_law": "food",
            }
        )
    return by


def run_one(url: str, data: Path, args: argparse.Namespace) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    reg: Registry = make_registry(url, AT)
    t = time.perf_counter()
    for name, source in FILES:
        ingest.ingest(reg, read_rows(data / name), source, actor="bench", file_name=name)
    background_s = time.perf_counter() - t
    for source, rows in five_years(random.Random(0)).items():
        s = ingest.ingest(reg, list(enumerate(rows, 1)), source, actor="bench")
        if s.rejected:
            raise SystemExit(f"{source}: {s.as_dict(max_rejects=3)}")
    lender = create_principal(
        reg, "lender", "Bench Bank", actor="bench", username="bank", password=PASSWORD
    )
    subject = create_principal(reg, "subject", "the company", actor="bench", subject=ORG)
    grant(
        reg,
        authenticate(reg, subject["token"]),
        ORG,
        lender=lender["principal_id"],
        purpose="loan_application",
    )
    who = authenticate(reg, sign_in(reg, "bank", PASSWORD)["token"])
    report = lending.lender_report(reg, who, ORG)  # warm-up
    size = len(json.dumps(report, ensure_ascii=False).encode())
    service = []
    for _ in range(args.runs):
        t = time.perf_counter()
        lending.lender_report(reg, who, ORG)
        service.append(time.perf_counter() - t)
    token = sign_in(reg, "bank", PASSWORD)["token"]
    http, pdf = [], []
    with TestClient(create_app(reg)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        client.get(f"/v1/lending/reports/{ORG}", headers=headers).raise_for_status()
        for _ in range(args.runs):
            t = time.perf_counter()
            r = client.get(f"/v1/lending/reports/{ORG}", headers=headers)
            http.append(time.perf_counter() - t)
            r.raise_for_status()
        client.cookies.set("sc_session", token)
        client.get(f"/lender/reports/{ORG}/pdf").raise_for_status()
        for _ in range(args.pdf_runs):
            t = time.perf_counter()
            r = client.get(f"/lender/reports/{ORG}/pdf")
            pdf.append(time.perf_counter() - t)
            r.raise_for_status()
        pdf_bytes = len(r.content)
    reg.close()
    return {
        "background_ingest_s": round(background_s, 1),
        "report": {
            "records": len(report["records"]),
            "payment_records": sum(x["record_type"] in PAYMENT_SOURCES for x in report["records"]),
            "json_bytes": size,
            "pdf_bytes": pdf_bytes,
        },
        "service": summary(service),
        "http_json": summary(http),
        "pdf": summary(pdf),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--background", type=int, default=20000)
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--pdf-runs", type=int, default=10)
    p.add_argument("--postgres-url", default=os.environ.get("SOCIALCREDIT_BENCH_POSTGRES_URL"))
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    cmd = sys.argv[1:] if argv is None else argv
    args = p.parse_args(cmd)
    started = dt.datetime.now(dt.UTC)
    res: dict[str, Any] = {
        "benchmark": "lender_report",
        "started": started.isoformat(timespec="seconds"),
        "command": redact(" ".join(["python bench/lender_report.py", shlex.join(cmd)]).strip()),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "cpu_model": cpu_model(),
            "memory": mem_total(),
            "python": platform.python_version(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        },
        "background_entities": args.background,
        "engines": {},
    }
    with tempfile.TemporaryDirectory(prefix="sc-lender-") as tmp:
        data = Path(tmp) / "data"
        generate(args.background, data, seed=0)
        targets = [("sqlite", f"sqlite:///{tmp}/bench.db")]
        schema = None
        if args.postgres_url:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            eng = create_engine(args.postgres_url)
            with eng.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            targets.append(("postgresql", pg_schema_url(args.postgres_url, schema)))
        try:
            for engine, url in targets:
                print(f"{engine}: set-up and {args.runs} reports ...", flush=True)
                r = run_one(url, data, args)
                res["engines"][engine] = r
                print(
                    f"{engine}: service p95 {r['service']['p95_ms']} ms, HTTP p95 "
                    f"{r['http_json']['p95_ms']} ms, PDF p95 {r['pdf']['p95_ms']} ms "
                    f"({r['report']['records']} records)",
                    flush=True,
                )
        finally:
            if schema:
                with eng.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                eng.dispose()
    res["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "lender_report.json").write_text(json.dumps(res, indent=2) + "\n", "utf-8")
    m = res["machine"]
    lines = [
        "# Lender's report: time to issue",
        "",
        f"- Date: {res['started']}; command: `{res['command']}`",
        f"- Machine: {m['platform']}; {m['cpu_count']} CPUs ({m['cpu_model']}); "
        f"{m['memory']}; Python {m['python']}; load average {m['loadavg_start'][0]} at start, "
        f"{m['loadavg_end'][0]} at end",
        f"- Register: {args.background:,} generated entities; the subject has five years of "
        "records (240 payment-behaviour records, 5 tax ratings, 3 penalties)",
        "",
        "| engine | what | median ms | p95 ms | max ms | runs |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for engine, r in res["engines"].items():
        for key, label in (
            ("service", "report (service call)"),
            ("http_json", "report over HTTP (JSON)"),
            ("pdf", "report as PDF"),
        ):
            s = r[key]
            lines.append(
                f"| {engine} | {label} | {s['median_ms']} | {s['p95_ms']} | {s['max_ms']} | "
                f"{s['runs']} |"
            )
    lines += [
        "",
        "Every run records its read (one event appended to the chain), as a real report does.",
        "",
    ]
    (args.out / "lender_report.md").write_text("\n".join(lines), "utf-8")
    print(f"wrote {args.out / 'lender_report.json'} and {args.out / 'lender_report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
