# ruff: noqa: T201  (a benchmark reports progress and results on stdout)
"""Full recompute of grades at scale: DuckDB and Spark on generated snapshots of the store.

Usage:
    python bench/grades_scale.py [--orgs 100000,300000,1000000] [--records-per-org 10]
                                 [--runs 3 | --runs 3,3,1] [--engines duckdb,spark] [--seed 0]
                                 [--spark-driver-memory 4g] [--out bench/results]

``analytics.grades.compute`` writes a snapshot of the store (subj.csv, recs.csv, lst.csv, the
columns of ``analytics.grades._SCHEMA``) and hands it to ``_on_duckdb`` or ``_on_spark``.
Ingesting 10 million records through the registry would take hours, so this script writes
that snapshot directly, at scale, and times the batch job on it: ``_on_duckdb(files,
methods, params)`` and ``_on_spark(files, methods, params)``, CSV loading included (it is part
of the job), generation and the store's own snapshot not included.

Grading methods and moment
    The default policy pack (``socialcredit.policy.load_pack()``), every method whose
    ``subject_kinds`` include organisations (``samr_risk``, ``tax_credit``), graded at
    t_local = 2026-10-01 00:00 and t_utc = t_local in UTC (the pack's timezone, Asia/Shanghai:
    2026-09-30 16:00), the moment ``bench/core.py`` fixes its clock at.

How the snapshot is generated (numpy, ``default_rng(seed)``; files written by DuckDB COPY)
    Organisations. N subjects ``91`` + 16 zero-padded digits (``910000000000000042``): the
    length of a USCC; the SQL only needs a string key. Every one is in subj.csv (the store's
    organisations); persons are not generated.

    Records. Exactly N x records-per-org rows. Each record's subject is drawn with probability
    proportional to a per-organisation weight ~ Gamma(shape 2, mean 1), so the records per
    organisation are negative-binomial (at the default: mean 10, sd 7.7, median 8, 99th
    percentile 35, max ~100, 2.8 % with none); an organisation's records are independent of
    each other. The mix leans negative (every indicator should fire at every size): about a
    tenth of organisations end on the serious illegal and dishonest list.
    Decision dates are uniform over the 1,096 days before the grading moment (2023-10-01 to
    2026-09-30), so a third falls in a 1-year window. Record types and, within each, statuses
    and field values (shares of that type):

    ======================  =====  ========================================================
    record_type (source)    share  statuses; fields
    ======================  =====  ========================================================
    administrative_licence   28 %  valid 80, expired 12, revoked 8; licence_kind (4 kinds),
      (samr)                       licence_no, valid_until 1-5 y after the decision
    tax_compliance (tax)     22 %  recorded 97, withdrawn 3; indicator late_filing 29,
                                   late_payment 22, missing_records 6, invoice_irregularity
                                   18, newly_established 8, no_revenue 10, tax_evasion 2,
                                   false_vat_invoices 1.5, unpaid_after_deadline 2,
                                   violence_against_collection 0.2, abnormal_taxpayer 1.3;
                                   tax_year; amount_yuan on half of them
    administrative_penalty   14 %  in_force 95, revoked 5; severity minor 50, general 38,
      (samr)                       serious 12; penalty_kind (fine 55 %, with fine_yuan);
                                   field_of_law (9 values, food 25 %); performed_on on 40 %
    inspection_result        14 %  published 95, withdrawn 5; outcome compliant 70,
      (samr)                       issues_found 15, corrected_on_site 10, not_located 5
    tax_credit_rating (tax)  10 %  issued; level A 35, B 40, M 8, C 12, D 5; score; tax_year
    commendation (samr)       5 %  conferred 93, withdrawn 7; title, conferring_body
    court_judgment (court)    4 %  unperformed 72, performed 28 (performed_on); 60 % carry
                                   dishonest_conduct (6 grounds), listing_decision_ref
                                   (（2025）京0105执1234号之一) and listing_term_years 2-5
    abnormal_operation        3 %  listed 75, removed 25 (removed_on); cause (4 values)
      (samr)
    ======================  =====  ========================================================

    Later dates (performed_on, removed_on) fall 10 days to 2 years after the decision and
    before the grading moment. ``fields`` is the store's canonical JSON (sorted keys,
    separators ``(",", ":")``, ``ensure_ascii=False``, every value a string); the script
    checks this, the statuses and the enum values against the pack on the first 200,000 rows.
    (Once, by hand: an SQLite store holding the rows of the 100,000-organisation files gave
    back, through ``snapshot()``, the same lines in the same order, line endings aside.)
    It also checks that every value a grading method's record filter names is generated.

    Listings. Derived from the records, one per record that a list of the pack would take
    (``entry``: record type, statuses, ``where``), including records that have since reached
    the list's exit status (removed, performed, revoked): abnormal_operations,
    dishonest_judgment_debtors and serious_illegal_dishonest (the lists grading methods
    read) and a_level_taxpayers (read by none; it is in the store all the same). proposed_at =
    the decision (local midnight, in UTC) + 0-3 days with microseconds; activates_at =
    proposed_at + the list's notice period (in the future for recent ones: notified, not yet
    active); 12 % of listings on lists that require a court ruling have no activates_at
    (proposed, pending); until = activates_at + the list's duration (default, ``from_field``,
    ``by_field``). ended_at: 0-3 days after the record's exit (removal or performance date,
    or 1-12 months after the decision for a revocation), or after ``until`` for 80 % of
    expired listings (20 % expired but not yet ended), or, for 3 % of the rest, at a random
    earlier moment (repair); an ended_at later than the grading moment is left empty.
    Durations in months and years count 30 and 365 days.

What is measured, for each size and engine
    K runs of the job on the same files (``gc.collect()`` before each; the previous run's
    result freed first): wall seconds (median, min, max, every run, spread). Peak RSS of this
    Python process (VmHWM, reset through /proc/self/clear_refs just before the engine's runs;
    the table also gives the RSS at the reset, i.e. what was already held: the generated
    arrays are freed before, the other engine's results are kept in compact numpy form). For
    Spark, the gateway JVM's VmHWM over the same runs (reset the same way where the kernel
    allows; otherwise cumulative since the JVM started, and said so). DuckDB runs in this
    process; the JVM is a separate process.

    Then one more run, not in the timings above, split in phases: DuckDB, the three
    ``CREATE TABLE ... read_csv`` of ``_on_duckdb`` and then each method's query and fetch;
    Spark, one full scan of each CSV with the reader options of ``_on_spark`` written to the
    ``noop`` sink (Spark reads the CSV lazily, once per query: a method's time includes
    scanning recs.csv and lst.csv) and each method's query and ``collect()``. The same DuckDB
    tables give, per indicator and override, how many organisations it hit (the CTEs of
    ``method_sql``), and the level distribution per method, so one can see the data fire.
    Agreement: organisations whose level or points (|diff| >= 1e-6) differ between DuckDB and
    Spark (must be 0).

Spark
    ``analytics.grades.spark_session()`` as the project builds it (local[2], 4 shuffle
    partitions, UI off). With ``--spark-driver-memory M`` the script sets
    ``PYSPARK_SUBMIT_ARGS="--driver-memory M pyspark-shell"`` before the session starts (in
    local mode the driver is the executor: this is the JVM heap); without it the JVM gets
    Spark's default (1g). Either way the script adds ``--conf spark.ui.showConsoleProgress=false``
    there (no progress bars in the log; nothing else changes) unless PYSPARK_SUBMIT_ARGS is set. The session is started once, timed apart, and reused by every size;
    the first Spark run after it pays for class loading and code generation (it is the max).

Results: <out>/grades_scale.json (everything) and <out>/grades_scale.md. The generated files
live in a temporary directory (``--tmp``, default the system's) removed at the end.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from core import _dist_version, cpu_model, mem_total, redact, spread_pct, stats

import socialcredit
from socialcredit.analytics import grades as agrades
from socialcredit.policy import Pack, load_pack
from socialcredit.policy.durations import Duration
from socialcredit.policy.model import GradingMethod

T_LOCAL = dt.datetime(2026, 10, 1)
DAYS = 1096  # decision dates: the 3 years (one leap day) before T_LOCAL
WEIGHT_SHAPE = 2.0  # Gamma shape of the records-per-organisation weights (mean 1)
VALIDATE_ROWS = 200_000
PENDING_SHARE = 0.12  # listings on lists requiring a ruling that are still proposed
EXPIRED_ENDED_SHARE = 0.80  # expired listings that advance has already ended
REPAIR_SHARE = 0.03  # other listings ended early (repair, correction)
US_DAY = 86_400_000_000
UNIT_DAYS = {"d": 1.0, "wd": 7 / 5, "m": 30.0, "y": 365.0}


# -- what is generated ----------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One record type: its share, statuses and up to three enum columns (e0, e1, e2).

    An enum named with a leading ``_`` is not a field of the pack (a licence kind, a province);
    the others are checked against the pack's values. ``later`` is the range in days of a
    second date after the decision (performed_on, removed_on, valid_until), ``None`` if none.
    """

    record_type: str
    source: str
    prefix: str
    share: float
    status: dict[str, float]
    enums: tuple[tuple[str, dict[str, float]], ...]
    opt: float = 0.0  # probability of the type's optional part
    opt_fields: tuple[str, ...] = ()
    later: tuple[int, int] | None = None
    fields_sql: Callable[[Kind], str] = field(default=lambda k: "'{}'", compare=False)

    def pick(self, j: int) -> str:
        return f"{_lit(list(self.enums[j][1]))}[e{j} + 1]"

    def status_sql(self) -> str:
        return f"{_lit(list(self.status))}[status + 1]"


def _lit(values: list[str]) -> str:
    return "[" + ", ".join(agrades._q(v) for v in values) + "]"


def _s(expr: str) -> str:
    return f"CAST({expr} AS VARCHAR)"


def _licence(k: Kind) -> str:
    return (
        f"""'{{"licence_kind":"' || {k.pick(0)} || '","licence_no":"XK' || """
        f"lpad({_s('num % 90 + 10')}, 2, '0') || '-' || lpad({_s('num // 100 % 1000')}, 3, '0') "
        f"|| '-' || lpad({_s('num // 100000 % 100000')}, 5, '0') || "
        f"""'","valid_until":"' || {_s("d + aux")} || '"}}'"""
    )


def _rating(k: Kind) -> str:
    return (
        f"""'{{"level":"' || {k.pick(0)} || '","score":"' || {_s("aux")} || """
        f"""'","tax_year":"' || {_s("year(d) - 1")} || '"}}'"""
    )


def _tax(k: Kind) -> str:
    return (
        f"""CASE WHEN opt THEN '{{"amount_yuan":"' || {_s("num % 2000000 + 100")} || '",' """
        f"""ELSE '{{' END || '"indicator":"' || {k.pick(0)} || '","tax_year":"' || """
        f"""{_s("year(d) - e1")} || '"}}'"""
    )


def _inspection(k: Kind) -> str:
    return (
        f"""'{{"outcome":"' || {k.pick(0)} || '","plan_id":"SAMR-PLAN-' || {_s("year(d)")} """
        f"""|| '-' || lpad({_s("num % 40 + 1")}, 2, '0') || '"}}'"""
    )


def _penalty(k: Kind) -> str:
    return (
        f"""'{{"field_of_law":"' || {k.pick(2)} || '",' || CASE WHEN {k.pick(1)} = 'fine' """
        f"""THEN '"fine_yuan":"' || {_s("num % 1000000 + 500")} || '",' ELSE '' END || """
        f"""'"penalty_kind":"' || {k.pick(1)} || '",' || CASE WHEN opt THEN """
        f"""'"performed_on":"' || {_s("d + aux")} || '",' ELSE '' END || """
        f"""'"severity":"' || {k.pick(0)} || '"}}'"""
    )


def _commendation(k: Kind) -> str:
    return f"""'{{"conferring_body":"' || {k.pick(1)} || '","title":"' || {k.pick(0)} || '"}}'"""


def _court(k: Kind) -> str:
    return (
        f"""'{{"amount_yuan":"' || {_s("num % 5000000 + 1000")} || '"' || CASE WHEN opt THEN """
        f"""',"dishonest_conduct":"' || {k.pick(0)} || '","listing_decision_ref":"（' || """
        f"""{_s("year(d)")} || '）' || {k.pick(2)} || lpad({_s("num // 7 % 10000")}, 4, '0') """
        f"""|| '执' || {_s("num // 70000 % 9000 + 1")} || '号之一","listing_term_years":"' || """
        f"""{k.pick(1)} || '"' ELSE '' END || CASE WHEN {k.status_sql()} = 'performed' THEN """
        f"""',"performed_on":"' || {_s("d + aux")} || '"' ELSE '' END || '}}'"""
    )


def _abnormal(k: Kind) -> str:
    return (
        f"""'{{"cause":"' || {k.pick(0)} || '"' || CASE WHEN {k.status_sql()} = 'removed' """
        f"""THEN ',"removed_on":"' || {_s("d + aux")} || '"' ELSE '' END || '}}'"""
    )


KINDS: tuple[Kind, ...] = (
    Kind(
        "administrative_licence",
        "samr",
        "SAMR-L-",
        0.28,
        {"valid": 0.80, "expired": 0.12, "revoked": 0.08},
        (
            (
                "_licence_kind",
                {
                    "工业产品生产许可证": 0.4,
                    "食品经营许可证": 0.35,
                    "药品经营许可证": 0.1,
                    "特种设备生产许可证": 0.15,
                },
            ),
        ),
        later=(365, 1826),
        fields_sql=_licence,
    ),
    Kind(
        "tax_compliance",
        "tax",
        "TAX-C-",
        0.22,
        {"recorded": 0.97, "withdrawn": 0.03},
        (
            (
                "indicator",
                {
                    "late_filing": 0.29,
                    "late_payment": 0.22,
                    "missing_records": 0.06,
                    "invoice_irregularity": 0.18,
                    "newly_established": 0.08,
                    "no_revenue": 0.10,
                    "tax_evasion": 0.02,
                    "false_vat_invoices": 0.015,
                    "unpaid_after_deadline": 0.02,
                    "violence_against_collection": 0.002,
                    "abnormal_taxpayer": 0.013,
                },
            ),
            ("_tax_year_lag", {"0": 0.5, "1": 0.5}),
        ),
        opt=0.5,
        opt_fields=("amount_yuan",),
        fields_sql=_tax,
    ),
    Kind(
        "administrative_penalty",
        "samr",
        "SAMR-P-",
        0.14,
        {"in_force": 0.95, "revoked": 0.05},
        (
            ("severity", {"minor": 0.50, "general": 0.38, "serious": 0.12}),
            (
                "penalty_kind",
                {
                    "warning": 0.25,
                    "fine": 0.55,
                    "confiscation": 0.08,
                    "licence_suspension": 0.06,
                    "licence_revocation": 0.02,
                    "business_restriction": 0.04,
                },
            ),
            (
                "field_of_law",
                {
                    "food": 0.25,
                    "drugs": 0.08,
                    "special_equipment": 0.07,
                    "product_quality": 0.15,
                    "competition": 0.05,
                    "consumer": 0.12,
                    "environment": 0.10,
                    "safety": 0.08,
                    "other": 0.10,
                },
            ),
        ),
        opt=0.4,
        opt_fields=("performed_on",),
        later=(10, 180),
        fields_sql=_penalty,
    ),
    Kind(
        "inspection_result",
        "samr",
        "SAMR-I-",
        0.14,
        {"published": 0.95, "withdrawn": 0.05},
        (
            (
                "outcome",
                {
                    "compliant": 0.70,
                    "issues_found": 0.15,
                    "corrected_on_site": 0.10,
                    "not_located": 0.05,
                },
            ),
        ),
        fields_sql=_inspection,
    ),
    Kind(
        "tax_credit_rating",
        "tax",
        "TAX-R-",
        0.10,
        {"issued": 1.0},
        (("level", {"A": 0.35, "B": 0.40, "M": 0.08, "C": 0.12, "D": 0.05}),),
        fields_sql=_rating,
    ),
    Kind(
        "commendation",
        "samr",
        "SAMR-C-",
        0.05,
        {"conferred": 0.93, "withdrawn": 0.07},
        (
            ("_title", {"诚信示范企业": 0.4, "放心消费示范单位": 0.3, "守合同重信用企业": 0.3}),
            ("_body", {"安阳市人民政府": 0.3, "新疆市场监督管理局": 0.3, "浙江省人民政府": 0.4}),
        ),
        fields_sql=_commendation,
    ),
    Kind(
        "court_judgment",
        "court",
        "CT-",
        0.04,
        {"unperformed": 0.72, "performed": 0.28},
        (
            (
                "dishonest_conduct",
                {
                    "able_but_refuses": 0.40,
                    "obstructs_enforcement": 0.10,
                    "evades_enforcement": 0.20,
                    "breaches_asset_reporting": 0.15,
                    "breaches_consumption_order": 0.10,
                    "refuses_settlement": 0.05,
                },
            ),
            ("listing_term_years", {"2": 0.4, "3": 0.3, "4": 0.2, "5": 0.1}),
            ("_province", {"京": 0.2, "沪": 0.2, "粤": 0.3, "浙": 0.2, "辽": 0.1}),
        ),
        opt=0.6,
        opt_fields=("dishonest_conduct", "listing_decision_ref", "listing_term_years"),
        later=(30, 720),
        fields_sql=_court,
    ),
    Kind(
        "abnormal_operation",
        "samr",
        "SAMR-A-",
        0.03,
        {"listed": 0.75, "removed": 0.25},
        (
            (
                "cause",
                {
                    "annual_report_missing": 0.6,
                    "ordered_disclosure_missing": 0.1,
                    "false_information": 0.1,
                    "unreachable_at_address": 0.2,
                },
            ),
        ),
        later=(30, 365),
        fields_sql=_abnormal,
    ),
)
SCORES = {"A": (90, 100), "B": (70, 89), "M": (70, 89), "C": (40, 69), "D": (0, 39)}


def check_kinds(pack: Pack, methods: list[GradingMethod]) -> None:
    """The generator's values exist in the pack, and every value a method filters on occurs."""
    assert abs(sum(k.share for k in KINDS) - 1) < 1e-9
    by_type = {k.record_type: k for k in KINDS}
    for k in KINDS:
        rt = pack.record_types[k.record_type]
        assert set(k.status) <= set(rt.statuses), (k.record_type, k.status)
        assert abs(sum(k.status.values()) - 1) < 1e-9, k.record_type
        for name, dist in k.enums:
            assert abs(sum(dist.values()) - 1) < 1e-9, (k.record_type, name)
            if not name.startswith("_") and rt.fields[name].values:
                assert set(dist) <= set(rt.fields[name].values or []), (k.record_type, name)
    for gm in methods:
        for item in [*gm.indicators, *gm.overrides]:
            if item.record is None:
                assert item.listing is not None and item.listing.list in pack.lists
                continue
            k = by_type[item.record.type]
            assert set(item.record.status) & set(k.status), (gm.id, item.id)
            for f, values in item.record.where.items():
                dist = dict(k.enums)[f]
                assert any(dist.get(v, 0) > 0 for v in values), (gm.id, item.id, f)


# -- generation -----------------------------------------------------------------------------


def _days(text: str) -> float:
    d = Duration.parse(text)
    return d.amount * UNIT_DAYS[d.unit]


def _listings(
    pack: Pack, g: dict[str, np.ndarray], t_utc_us: int, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], list[str]]:
    """One listing per record that a list's entry (or its exit status) matches; see docstring."""
    index = {k.record_type: i for i, k in enumerate(KINDS)}
    parts: list[dict[str, np.ndarray]] = []
    list_ids: list[str] = []
    decided_utc = t_utc_us - g["day"].astype(np.int64) * US_DAY
    for list_id, ld in pack.lists.items():
        if ld.entry.record_type not in index or "organisation" not in ld.subject_kinds:
            continue
        ti = index[ld.entry.record_type]
        k = KINDS[ti]
        exits = [s for r in ld.exit if r.trigger == "record_status" for s in r.status]
        statuses = [i for i, s in enumerate(k.status) if s in ld.entry.status or s in exits]
        mask = (g["typ"] == ti) & np.isin(g["status"], statuses)
        enums = {name: j for j, (name, _) in enumerate(k.enums)}
        for f, values in ld.entry.where.items():
            j = enums[f]
            vals = [i for i, v in enumerate(k.enums[j][1]) if v in values]
            mask &= np.isin(g[f"e{j}"], vals)
            if f in k.opt_fields:
                mask &= g["opt"]
        idx = np.flatnonzero(mask)
        m = idx.size
        li = len(list_ids)
        list_ids.append(list_id)
        proposed = decided_utc[idx] + rng.integers(0, 3 * US_DAY, m)
        proposed = np.minimum(proposed, t_utc_us - rng.integers(1, 3_600_000_000, m))
        activates = proposed + int(_days(ld.notice_period) * US_DAY)
        if ld.requires_ruling:
            activates[rng.random(m) < PENDING_SHARE] = -1
        dur = np.full(m, _days(ld.duration.default))
        src = ld.duration.from_field
        if src is not None and src in enums:
            j = enums[src]
            years = np.array([float(v) for v in k.enums[j][1]])[g[f"e{j}"][idx]]
            has = g["opt"][idx] if src in k.opt_fields else np.ones(m, bool)
            dur = np.where(has, years * UNIT_DAYS[ld.duration.from_field_unit], dur)
        for f, by in ld.duration.by_field.items():
            j = enums[f]
            for v, text in by.items():
                vi = list(k.enums[j][1]).index(v)
                dur = np.where(g[f"e{j}"][idx] == vi, _days(text), dur)
        until = np.where(activates >= 0, activates + (dur * US_DAY).astype(np.int64), -1)
        # ended_at: after the record's exit, after expiry, or early (repair)
        exit_idx = [i for i, s in enumerate(k.status) if s in exits]
        exited = np.isin(g["status"][idx], exit_idx)
        if k.later is not None:
            exit_at = decided_utc[idx] + g["aux"][idx].astype(np.int64) * US_DAY
        else:
            exit_at = decided_utc[idx] + rng.integers(30, 366, m) * US_DAY
        ended = np.full(m, -1, np.int64)
        ended = np.where(exited, exit_at + rng.integers(0, 3 * US_DAY, m), ended)
        expired = ~exited & (until >= 0) & (until <= t_utc_us)
        ended = np.where(
            expired & (rng.random(m) < EXPIRED_ENDED_SHARE),
            until + rng.integers(0, 3 * US_DAY, m),
            ended,
        )
        live = ~exited & ~expired & (activates >= 0) & (activates < t_utc_us)
        early = live & (rng.random(m) < REPAIR_SHARE)
        span = np.maximum(t_utc_us - activates, 1)
        ended = np.where(early, activates + (rng.random(m) * span).astype(np.int64), ended)
        ended = np.where(ended > t_utc_us, -1, ended)
        parts.append(
            {
                "sub": g["sub"][idx],
                "lst": np.full(m, li, np.int8),
                "proposed": proposed,
                "activates": activates,
                "until": until,
                "ended": ended,
            }
        )
    out = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(out["proposed"], kind="stable")  # the store appends them as they come
    return {key: v[order] for key, v in out.items()}, list_ids


def _ts(col: str) -> str:
    ts = f"(TIMESTAMP '1970-01-01' + to_microseconds({col}))"
    return (
        f"CASE WHEN {col} < 0 THEN NULL WHEN {col} % 1000000 = 0 "
        f"THEN strftime({ts}, '%Y-%m-%d %H:%M:%S') "
        f"ELSE strftime({ts}, '%Y-%m-%d %H:%M:%S.%f') END"
    )


def _subject(col: str) -> str:
    return f"'91' || lpad(CAST({col} AS VARCHAR), 16, '0')"


def generate(
    n: int, per_org: int, seed: int, folder: Path, pack: Pack, t_utc: dt.datetime
) -> dict[str, Any]:
    """Write subj.csv, recs.csv and lst.csv for n organisations; returns paths and counts."""
    import duckdb

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    total = n * per_org
    weights = rng.gamma(WEIGHT_SHAPE, 1 / WEIGHT_SHAPE, n)
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    sub = np.minimum(np.searchsorted(cdf, rng.random(total), side="right"), n - 1)
    del weights, cdf
    g: dict[str, np.ndarray] = {
        "sub": sub.astype(np.int32),
        "typ": rng.choice(len(KINDS), total, p=[k.share for k in KINDS]).astype(np.int8),
        "day": rng.integers(1, DAYS + 1, total, dtype=np.int16),
        "num": rng.integers(0, 2**40, total, dtype=np.int64),
        "status": np.zeros(total, np.int8),
        "e0": np.zeros(total, np.int8),
        "e1": np.zeros(total, np.int8),
        "e2": np.zeros(total, np.int8),
        "opt": np.zeros(total, bool),
        "aux": np.zeros(total, np.int32),
        "seq": np.zeros(total, np.int32),
    }
    del sub
    for ti, k in enumerate(KINDS):
        idx = np.flatnonzero(g["typ"] == ti)
        m = idx.size
        g["seq"][idx] = np.arange(1, m + 1, dtype=np.int32)
        g["status"][idx] = rng.choice(len(k.status), m, p=list(k.status.values()))
        for j, (_, dist) in enumerate(k.enums):
            g[f"e{j}"][idx] = rng.choice(len(dist), m, p=list(dist.values()))
        if k.opt:
            g["opt"][idx] = rng.random(m) < k.opt
        if k.record_type == "tax_credit_rating":
            lo = np.array([SCORES[v][0] for v in k.enums[0][1]])[g["e0"][idx]]
            hi = np.array([SCORES[v][1] for v in k.enums[0][1]])[g["e0"][idx]]
            g["aux"][idx] = lo + (rng.random(m) * (hi - lo + 1)).astype(np.int32)
        elif k.later is not None:
            after = rng.integers(k.later[0], k.later[1] + 1, m)
            if k.record_type != "administrative_licence":  # must lie before the grading day
                after = np.minimum(after, g["day"][idx].astype(np.int64) - 1)
            g["aux"][idx] = after
    t_utc_us = int((t_utc - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1))
    lst, list_ids = _listings(pack, g, t_utc_us, rng)
    t_arrays = time.perf_counter() - t0

    types = [k.record_type for k in KINDS]
    status_sql = "CASE typ " + " ".join(
        f"WHEN {i} THEN {k.status_sql()}" for i, k in enumerate(KINDS)
    )
    fields_sql = "CASE typ " + " ".join(
        f"WHEN {i} THEN {k.fields_sql(k)}" for i, k in enumerate(KINDS)
    )
    paths = {name: folder / f"{name}.csv" for name in ("subj", "recs", "lst")}
    db = duckdb.connect()
    try:
        db.execute("SET preserve_insertion_order = true")
        db.register("g", g)
        db.register("l", lst)
        db.execute(
            f"COPY (SELECT {_subject('range')} AS subject_id FROM range({n})) "
            f"TO '{paths['subj']}' (HEADER, DELIMITER ',')"
        )
        db.execute(
            f"""COPY (
              SELECT {_subject("sub")} AS subject_id,
                {_lit([k.source for k in KINDS])}[typ + 1] AS source,
                {_lit([k.prefix for k in KINDS])}[typ + 1] || lpad(CAST(seq AS VARCHAR), 8, '0')
                  AS source_record_id,
                {_lit(types)}[typ + 1] AS record_type,
                {status_sql} END AS status,
                d AS decided_on,
                {fields_sql} END AS fields
              FROM (SELECT *, DATE '{T_LOCAL.date()}' - CAST(day AS INTEGER) AS d FROM g)
            ) TO '{paths["recs"]}' (HEADER, DELIMITER ',')"""
        )
        db.execute(
            f"""COPY (
              SELECT {_subject("sub")} AS subject_id,
                'L' || md5('{seed}:' || CAST(row_number() OVER () AS VARCHAR))[:31]
                  AS listing_id,
                {_lit(list_ids)}[lst + 1] AS list_id,
                {_ts("proposed")} AS proposed_at, {_ts("activates")} AS activates_at,
                {_ts("until")} AS until, {_ts("ended")} AS ended_at
              FROM l
            ) TO '{paths["lst"]}' (HEADER, DELIMITER ',')"""
        )
    finally:
        db.close()
    t_total = time.perf_counter() - t0
    per_type = np.bincount(g["typ"], minlength=len(KINDS))
    per_org_counts = np.bincount(g["sub"], minlength=n)
    active = (
        (lst["activates"] >= 0)
        & (lst["activates"] <= t_utc_us)
        & ((lst["ended"] < 0) | (lst["ended"] > t_utc_us))
        & (lst["until"] > t_utc_us)
    )
    info = {
        "files": {k: str(p) for k, p in paths.items()},
        "organisations": n,
        "records": total,
        "records_per_type": {t: int(c) for t, c in zip(types, per_type, strict=True)},
        "organisations_without_records": int((per_org_counts == 0).sum()),
        "max_records_per_organisation": int(per_org_counts.max()),
        "listings": int(lst["lst"].size),
        "listings_per_list": {lid: int((lst["lst"] == i).sum()) for i, lid in enumerate(list_ids)},
        "listings_active_at_t": {
            lid: int(((lst["lst"] == i) & active).sum()) for i, lid in enumerate(list_ids)
        },
        "organisations_with_active_listing": int(np.unique(lst["sub"][active]).size),
        "file_mib": {k: p.stat().st_size / 2**20 for k, p in paths.items()},
        "arrays_seconds": t_arrays,
        "seconds": t_total,
    }
    del g, lst
    gc.collect()
    return info


def validate(files: dict[str, Path], pack: Pack, limit: int = VALIDATE_ROWS) -> dict[str, int]:
    """The first rows read as the store would have written them; raises on the first problem."""
    checked: dict[str, int] = {}
    for name, path in files.items():
        cols = [c.split()[0] for c in agrades._SCHEMA[name].split(", ")]
        with path.open(encoding="utf-8", newline="") as f:
            r = csv.reader(f)
            assert next(r) == cols, (name, "header")
            n = 0
            for row in r:
                n += 1
                rec = dict(zip(cols, row, strict=True))
                if name == "recs":
                    _check_record(rec, pack)
                elif name == "lst":
                    assert rec["list_id"] in pack.lists, rec
                    assert len(rec["listing_id"]) == 32, rec
                    for c in ("proposed_at", "activates_at", "until", "ended_at"):
                        v = rec[c]
                        if v:
                            fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in v else "%Y-%m-%d %H:%M:%S"
                            dt.datetime.strptime(v, fmt)
                            assert len(v) in (19, 26), v
                    assert rec["proposed_at"], rec
                if n >= limit:
                    break
        checked[name] = n
    return checked


def _check_record(rec: dict[str, str], pack: Pack) -> None:
    rt = pack.record_types[rec["record_type"]]
    assert rec["status"] in rt.statuses, rec
    dt.date.fromisoformat(rec["decided_on"])
    fields = json.loads(rec["fields"])
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert rec["fields"] == canonical, rec
    for f, v in fields.items():
        spec = rt.fields[f]
        assert isinstance(v, str), rec
        if spec.values:
            assert v in spec.values, (f, v)
        if spec.type == "date":  # after the decision; before the grading day unless an expiry
            day = dt.date.fromisoformat(v)
            assert day >= dt.date.fromisoformat(rec["decided_on"]), (f, v, rec)
            assert f == "valid_until" or day < T_LOCAL.date(), (f, v, rec)
        if spec.type in ("integer", "decimal"):
            x = float(v)
            assert spec.minimum is None or x >= spec.minimum, (f, v)
            assert spec.maximum is None or x <= spec.maximum, (f, v)
    for f, spec in rt.fields.items():
        if spec.required or rec["status"] in spec.required_when_status:
            assert f in fields, (f, rec)


# -- memory ---------------------------------------------------------------------------------


def reset_peak(pid: int | str = "self") -> bool:
    """Reset a process's peak RSS (VmHWM) through clear_refs; Linux >= 4.0, may be refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def status_mib(key: str, pid: int | str = "self") -> float | None:
    """A VmXXX line of /proc/<pid>/status in MiB (None if unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of this process, or of another one from /proc/<pid>/stat."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def jvm_pid() -> int | None:
    """The pid of the Spark gateway JVM, if pyspark launched it (spark-submit execs java)."""
    try:
        from pyspark import SparkContext

        pid = int(SparkContext._gateway.proc.pid)  # type: ignore[union-attr]
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        return pid if cmd.endswith(b"java") else None
    except Exception:
        return None


# -- measuring ------------------------------------------------------------------------------

Result = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def compact(res: dict[str, list[tuple[str, float, str]]]) -> Result:
    """(ids, points, levels) per method as numpy arrays sorted by id: a fraction of the lists."""
    out: Result = {}
    for m, rows in res.items():
        ids = np.array([r[0] for r in rows])
        order = np.argsort(ids, kind="stable")
        out[m] = (
            ids[order],
            np.array([r[1] for r in rows], dtype=np.float64)[order],
            np.array([r[2] for r in rows])[order],
        )
    return out


def differ(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> int:
    """Subjects whose (level, points) differ, or that only one engine graded."""
    if a[0].shape == b[0].shape and np.array_equal(a[0], b[0]):
        return int(((a[2] != b[2]) | (np.abs(a[1] - b[1]) >= 1e-6)).sum())
    da = {s: (lv, p) for s, p, lv in zip(*a, strict=True)}
    db = {s: (lv, p) for s, p, lv in zip(*b, strict=True)}
    return sum(
        1
        for s in da.keys() | db.keys()
        if s not in da or s not in db or da[s][0] != db[s][0] or abs(da[s][1] - db[s][1]) >= 1e-6
    )


def levels(r: Result) -> dict[str, dict[str, int]]:
    out = {}
    for m, (_, _, lv) in r.items():
        values, counts = np.unique(lv, return_counts=True)
        out[m] = {str(v): int(c) for v, c in zip(values, counts, strict=True)}
    return out


def breakdown_duckdb(
    files: dict[str, Path], methods: list[GradingMethod], params: dict[str, dt.datetime]
) -> dict[str, Any]:
    """The phases of ``_on_duckdb`` timed apart, and the organisations each CTE hits."""
    import duckdb

    out: dict[str, Any] = {"load_s": {}, "method_s": {}, "hits": {}}
    db = duckdb.connect()
    try:
        for name, path in files.items():
            cols = ", ".join(
                f"'{c.split()[0]}': '{c.split()[1]}'" for c in agrades._SCHEMA[name].split(", ")
            )
            t0 = time.perf_counter()
            db.execute(
                f"CREATE TABLE {name} AS SELECT * FROM read_csv({agrades._q(str(path))}, "
                f"header = true, columns = {{{cols}}}, nullstr = '')"
            )
            out["load_s"][name] = time.perf_counter() - t0
        for gm in methods:
            t0 = time.perf_counter()
            rows = [
                (r[0], float(r[1]), r[2])
                for r in db.execute(agrades.method_sql(gm, agrades.DUCKDB), params).fetchall()
            ]
            out["method_s"][gm.id] = time.perf_counter() - t0
            del rows
            out["hits"][gm.id] = _hits(db, gm, params)
    finally:
        db.close()
    return out


def _hits(db: Any, gm: GradingMethod, params: dict[str, dt.datetime]) -> dict[str, int] | None:
    """Organisations with a row in each indicator's (i<n>) and override's (o<n>) CTE."""
    sql = agrades.method_sql(gm, agrades.DUCKDB)
    head, sep, _ = sql.rpartition("\nSELECT subject_id, points,")
    if not sep:
        return None  # the SQL's shape changed; the hit counts are optional
    names = [(f"i{n}", ind.id) for n, ind in enumerate(gm.indicators)] + [
        (f"o{n}", o.id) for n, o in enumerate(gm.overrides)
    ]
    counts = " UNION ALL ".join(
        f"SELECT {agrades._q(item)} AS item, count(*) AS n FROM {cte} "
        f"WHERE subject_id IN (SELECT subject_id FROM subj)"
        for cte, item in names
    )
    return {item: int(n) for item, n in db.execute(f"{head}\n{counts}", params).fetchall()}


def breakdown_spark(
    files: dict[str, Path], methods: list[GradingMethod], params: dict[str, dt.datetime]
) -> dict[str, Any]:
    """One full scan of each CSV (noop sink) and each method's query, on ``_on_spark``'s views."""
    spark = agrades.spark_session()
    out: dict[str, Any] = {"load_s": {}, "method_s": {}}
    for name, path in files.items():
        t0 = time.perf_counter()
        spark.read.csv(
            str(path),
            header=True,
            schema=agrades._SCHEMA[name].replace(" VARCHAR", " STRING"),
            escape='"',
            timestampFormat="yyyy-MM-dd HH:mm:ss[.SSSSSS]",
            encoding="UTF-8",
        ).write.format("noop").mode("overwrite").save()
        out["load_s"][name] = time.perf_counter() - t0
    for gm in methods:  # the views are those the timed runs created
        t0 = time.perf_counter()
        rows = [
            (r[0], float(r[1]), r[2])
            for r in spark.sql(agrades.method_sql(gm, agrades.SPARK), args=params).collect()
        ]
        out["method_s"][gm.id] = time.perf_counter() - t0
        del rows
    return out


def bench_engine(
    engine: str,
    files: dict[str, Path],
    methods: list[GradingMethod],
    params: dict[str, dt.datetime],
    runs: int,
    label: str,
) -> tuple[dict[str, Any], Result]:
    run = agrades._on_spark if engine == "spark" else agrades._on_duckdb
    e: dict[str, Any] = {"loadavg_before": os.getloadavg()}
    pid = jvm_pid() if engine == "spark" else None
    if pid:
        e["jvm_peak_reset"] = reset_peak(pid)
    gc.collect()
    e["peak_reset"] = reset_peak()
    e["rss_at_reset_mib"] = status_mib("VmRSS")
    secs: list[float] = []
    res: dict[str, list[tuple[str, float, str]]] | None = None
    cpu0 = cpu_seconds() + (cpu_seconds(pid) if pid else 0.0)
    for i in range(runs):
        res = None
        gc.collect()
        t0 = time.perf_counter()
        res = run(files, methods, params)
        secs.append(time.perf_counter() - t0)
        print(
            f"{label} {engine} run {i + 1}/{runs}: {secs[-1]:.2f}s "
            f"({', '.join(f'{m} {len(r):,}' for m, r in res.items())})",
            flush=True,
        )
    assert res is not None
    e["seconds"] = stats(secs)
    e["cpu_seconds"] = cpu_seconds() + (cpu_seconds(pid) if pid else 0.0) - cpu0
    e["cores_used"] = e["cpu_seconds"] / sum(secs)
    e["peak_rss_mib"] = status_mib("VmHWM") if e["peak_reset"] else None
    e["ru_maxrss_mib"] = _ru_maxrss_mib()
    if pid:
        e["jvm_peak_rss_mib"] = status_mib("VmHWM", pid)
        e["jvm_rss_mib"] = status_mib("VmRSS", pid)
    e["graded"] = {m: len(r) for m, r in res.items()}
    out = compact(res)
    del res
    gc.collect()
    t0 = time.perf_counter()
    e["breakdown"] = (breakdown_spark if engine == "spark" else breakdown_duckdb)(
        files, methods, params
    )
    e["breakdown"]["total_s"] = time.perf_counter() - t0
    e["loadavg_after"] = os.getloadavg()
    b = e["breakdown"]
    print(
        f"{label} {engine}: median {e['seconds']['median']:.2f}s, peak RSS "
        f"{e['peak_rss_mib'] or 0:,.0f} MiB"
        + (f", JVM {e.get('jvm_peak_rss_mib') or 0:,.0f} MiB" if engine == "spark" else "")
        + f"; load {sum(b['load_s'].values()):.2f}s, "
        + ", ".join(f"{m} {s:.2f}s" for m, s in b["method_s"].items()),
        flush=True,
    )
    return e, out


def _ru_maxrss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- report ---------------------------------------------------------------------------------


def _f(v: float | None, fmt: str = ",.0f") -> str:
    return "–" if v is None else format(v, fmt)


def _ratio(x: float | None, y: float | None) -> str:
    return "–" if x is None or not y else f"×{x / y:.2f}"


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    engines = res["engines"]
    sizes = res["sizes"]
    lines = [
        "# Grading at scale: full recompute on generated snapshots",
        "",
        f"- Date: {res['date']} (finished {res.get('finished', '?')})",
        f"- Command: `{res['command']}` (in `{res['cwd']}`)",
        f"- Machine: {m['platform']}; {m['cpu_count']} CPUs ({m['cpu_model']}); "
        f"RAM {m['ram_total']}; load average at start {res['loadavg_start']}",
        f"- Python {m['python']}; numpy {m['numpy']}; DuckDB {m['duckdb']}; "
        f"PySpark {m['pyspark']} on {m['java']}; socialcredit {m['socialcredit']}",
        f"- Pack {res['pack']['id']} {res['pack']['version']}; methods "
        + ", ".join(f"`{x}`" for x in res["methods"])
        + f"; graded at {res['t_local']} local ({res['t_utc']} UTC)",
        f"- Data: generated snapshot files (see the script's docstring), seed {res['seed']}, "
        f"{res['records_per_org']} records per organisation on average",
        "- Runs per measure: "
        + ", ".join(f"{r} at {n:,}" for n, r in zip(res["orgs"], res["runs"], strict=True))
        + " organisations (median, min–max; spread = (max − min) / median)",
    ]
    if "spark" in engines:
        sp = res.get("spark", {})
        lines.append(
            f"- Spark: `{sp.get('master')}`, shuffle partitions {sp.get('shuffle_partitions')}, "
            f"driver memory {sp.get('driver_memory')}; session start "
            f"{_f(sp.get('session_start_s'), '.1f')}s (once, not in the runs)"
        )
    lines += [
        "",
        "## Data",
        "",
        "| Organisations | Records | Without records | Max per org | Listings | Active at t | "
        "Orgs with an active listing | recs.csv MiB | lst.csv MiB | Generate s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for sz in sizes:
        d = sz["data"]
        lines.append(
            f"| {d['organisations']:,} | {d['records']:,} | {d['organisations_without_records']:,} | "
            f"{d['max_records_per_organisation']} | {d['listings']:,} | "
            f"{sum(d['listings_active_at_t'].values()):,} | "
            f"{d['organisations_with_active_listing']:,} | {d['file_mib']['recs']:,.0f} | "
            f"{d['file_mib']['lst']:,.1f} | {d['seconds']:.1f} |"
        )
    last = sizes[-1]["data"]
    lines += [
        "",
        f"Records per type at {last['organisations']:,} organisations: "
        + ", ".join(f"{t} {c:,}" for t, c in last["records_per_type"].items())
        + ". Listings per list (active at t): "
        + ", ".join(
            f"{lid} {c:,} ({last['listings_active_at_t'][lid]:,})"
            for lid, c in last["listings_per_list"].items()
        )
        + ".",
        "",
        "## Full recompute (`_on_duckdb` / `_on_spark`: CSV load and both methods' SQL)",
        "",
        "| Organisations | Records | Engine | Median s | Min | Max | Spread | Runs (s) | "
        "Peak RSS Python MiB | Python RSS before MiB | Peak RSS JVM MiB | Cores used | "
        "Load avg (1 min) |",
        "|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for sz in sizes:
        for engine in engines:
            e = sz["engines"][engine]
            s = e["seconds"]
            rss = e["peak_rss_mib"]
            rss_s = _f(rss) if rss is not None else f"≤{e['ru_maxrss_mib']:,.0f}"
            jvm = e.get("jvm_peak_rss_mib")
            jvm_s = "–" if engine != "spark" else _f(jvm)
            if engine == "spark" and jvm is not None and not e.get("jvm_peak_reset"):
                jvm_s += " (since start)"
            lines.append(
                f"| {sz['organisations']:,} | {sz['data']['records']:,} | {engine} | "
                f"{s['median']:.2f} | {s['min']:.2f} | {s['max']:.2f} | {spread_pct(s):.0f}% | "
                f"{', '.join(f'{v:.2f}' for v in s['runs'])} | {rss_s} | "
                f"{_f(e['rss_at_reset_mib'])} | {jvm_s} | {e['cores_used']:.2f} | "
                f"{e['loadavg_before'][0]:.2f} → {e['loadavg_after'][0]:.2f} |"
            )
    methods = res["methods"]
    lines += [
        "",
        "## Phases (one more run, not in the timings above)",
        "",
        "DuckDB: `CREATE TABLE … read_csv` of each file, then each method's query and fetch. "
        "Spark: one full scan of each CSV (`noop` sink), then each method's `spark.sql(…)."
        "collect()` (which scans recs.csv and lst.csv again: Spark reads the views lazily).",
        "",
        "| Organisations | Engine | subj s | recs s | lst s | "
        + " | ".join(f"{x} s" for x in methods)
        + " | Total s |",
        "|---:|---|---:|---:|---:|" + "---:|" * len(methods) + "---:|",
    ]
    for sz in sizes:
        for engine in engines:
            b = sz["engines"][engine]["breakdown"]
            lines.append(
                f"| {sz['organisations']:,} | {engine} | "
                + " | ".join(f"{b['load_s'][f]:.2f}" for f in ("subj", "recs", "lst"))
                + " | "
                + " | ".join(f"{b['method_s'][x]:.2f}" for x in methods)
                + f" | {b['total_s']:.2f} |"
            )
    if len(sizes) > 1:
        a = sizes[0]
        lines += [
            "",
            f"## Growth from {a['organisations']:,} organisations",
            "",
            "Ratios to the smallest size (records grow with organisations).",
            "",
            "| Organisations | Records × | Engine | Median s | Time × | Peak RSS Python × | "
            "Peak RSS JVM × | µs per record |",
            "|---:|---:|---|---:|---:|---:|---:|---:|",
        ]
        for sz in sizes:
            for engine in engines:
                e, e0 = sz["engines"][engine], a["engines"][engine]
                t, t0 = e["seconds"]["median"], e0["seconds"]["median"]
                lines.append(
                    f"| {sz['organisations']:,} | "
                    f"×{sz['data']['records'] / a['data']['records']:.1f} | {engine} | {t:.2f} | "
                    f"×{t / t0:.2f} | {_ratio(e['peak_rss_mib'], e0['peak_rss_mib'])} | "
                    + (
                        _ratio(e.get("jvm_peak_rss_mib"), e0.get("jvm_peak_rss_mib"))
                        if engine == "spark"
                        else "–"
                    )
                    + f" | {t / sz['data']['records'] * 1e6:.2f} |"
                )
    lines += ["", "## Agreement and levels", ""]
    if len(engines) > 1:
        lines += [
            "Organisations whose level or points differ between DuckDB and Spark (or that only "
            "one graded):",
            "",
            "| Organisations | " + " | ".join(methods) + " |",
            "|---:|" + "---:|" * len(methods),
        ]
        for sz in sizes:
            lines.append(
                f"| {sz['organisations']:,} | "
                + " | ".join(f"{sz['agreement'][x]:,}" for x in methods)
                + " |"
            )
        lines.append("")
    all_levels = sorted({lv for sz in sizes for d in sz["levels"].values() for lv in d})
    lines += [
        f"Level distribution ({engines[0]}; share of organisations):",
        "",
        "| Organisations | Method | " + " | ".join(all_levels) + " |",
        "|---:|---|" + "---:|" * len(all_levels),
    ]
    for sz in sizes:
        for x in methods:
            d = sz["levels"][x]
            tot = sum(d.values())
            known = res["method_levels"][x]
            lines.append(
                f"| {sz['organisations']:,} | {x} | "
                + " | ".join(
                    f"{d.get(lv, 0):,} ({100 * d.get(lv, 0) / tot:.1f}%)"
                    if lv in known or lv in d
                    else "–"
                    for lv in all_levels
                )
                + " |"
            )
    hits = sizes[-1]["engines"].get("duckdb", {}).get("breakdown", {}).get("hits")
    if hits:
        n = sizes[-1]["organisations"]
        lines += [
            "",
            f"Organisations each indicator and override hits at {n:,} organisations "
            "(rows of its CTE in `method_sql`):",
            "",
            "| Method | Item | Organisations | Share |",
            "|---|---|---:|---:|",
        ]
        for x, h in hits.items():
            for item, c in (h or {}).items():
                lines.append(f"| {x} | {item} | {c:,} | {100 * c / n:.1f}% |")
    lines += [
        "",
        "## Caveats",
        "",
        "- The files are generated, not snapshotted from a registry: the time of "
        "`analytics.grades.snapshot()` (reading the store and writing CSV row by row in Python) "
        "is not in these figures; `compute()` pays it on top.",
        "- Synthetic data: the mix of record types, statuses and field values is the script's "
        "(docstring); the SQL's cost depends mostly on the number of records and listings, the "
        "level shares on the mix.",
        "- A small shared machine (2 vCPUs): other jobs may run at the same time. The table "
        "gives the load average before and after each engine's runs, and the cores the job "
        "got: CPU seconds of this process (DuckDB's threads included) and of the Spark JVM over "
        "the runs, divided by their wall seconds (at most 2; well below when other jobs took the "
        "CPU, or while the job waited on one thread).",
        "- Spark runs in local mode on the same 2 cores, re-reading the CSV files for every "
        "query; it says nothing about a cluster.",
        "",
    ]
    return "\n".join(lines)


# -- main -----------------------------------------------------------------------------------


def _java_version() -> str | None:
    try:
        p = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
        return (p.stderr or p.stdout).splitlines()[0].strip()
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--orgs", default="100000,300000,1000000", help="organisations per size")
    p.add_argument("--records-per-org", type=int, default=10, help="records per organisation (10)")
    p.add_argument(
        "--runs", default="3", help="timed runs per engine: one number, or one per size (3)"
    )
    p.add_argument("--engines", default="duckdb,spark", help="duckdb,spark")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated data (0)")
    p.add_argument(
        "--spark-driver-memory",
        default=None,
        help="sets PYSPARK_SUBMIT_ARGS=--driver-memory before the session (Spark's default: 1g)",
    )
    p.add_argument("--tmp", type=Path, default=None, help="where the CSV files are written")
    p.add_argument("--out", type=Path, default=Path("bench/results"), help="results directory")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.orgs.split(",") if s.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    runs = [int(r) for r in args.runs.split(",") if r.strip()]
    if len(runs) == 1:
        runs *= len(sizes)
    if len(runs) != len(sizes) or min(runs, default=0) < 1:
        p.error("--runs: one number, or one per size of --orgs, each at least 1")
    if not sizes or args.records_per_org < 1:
        p.error("--records-per-org must be at least 1 and --orgs not empty")
    if not engines or set(engines) - {"duckdb", "spark"}:
        p.error("--engines: duckdb, spark or both")
    if "PYSPARK_SUBMIT_ARGS" not in os.environ:
        mem = f"--driver-memory {args.spark_driver_memory} " if args.spark_driver_memory else ""
        os.environ["PYSPARK_SUBMIT_ARGS"] = (
            f"{mem}--conf spark.ui.showConsoleProgress=false pyspark-shell"
        )
    elif args.spark_driver_memory:
        p.error("--spark-driver-memory: PYSPARK_SUBMIT_ARGS is already set; add it there")

    import duckdb

    pack = load_pack()
    methods = [gm for gm in pack.grading.values() if "organisation" in gm.subject_kinds]
    check_kinds(pack, methods)
    t_local = T_LOCAL
    t_utc = (
        t_local.replace(tzinfo=ZoneInfo(pack.meta.timezone)).astimezone(dt.UTC).replace(tzinfo=None)
    )
    params = {"t_local": t_local, "t_utc": t_utc}
    machine: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "ram_total": mem_total(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "duckdb": duckdb.__version__,
        "pyspark": None,
        "java": None,
        "socialcredit": getattr(socialcredit, "__version__", None) or _dist_version(),
    }
    if "spark" in engines:
        import pyspark

        machine["pyspark"] = pyspark.__version__
        machine["java"] = _java_version()
    print(f"machine: {machine}", flush=True)
    started = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "command": redact(shlex.join(getattr(sys, "orig_argv", sys.argv))),
        "cwd": os.getcwd(),
        "machine": machine,
        "loadavg_start": tuple(round(x, 2) for x in os.getloadavg()),
        "pack": {"id": pack.meta.id, "version": pack.meta.version, "digest": pack.digest},
        "methods": [gm.id for gm in methods],
        "method_levels": {
            gm.id: [lv.level for lv in gm.levels]
            + [x for x in gm.special_levels if x not in {lv.level for lv in gm.levels}]
            for gm in methods
        },
        "t_local": t_local.isoformat(sep=" "),
        "t_utc": t_utc.isoformat(sep=" "),
        "seed": args.seed,
        "records_per_org": args.records_per_org,
        "orgs": sizes,
        "runs": runs,
        "engines": engines,
        "sizes": [],
    }
    if "spark" in engines:
        results["spark"] = {"pyspark_submit_args": os.environ["PYSPARK_SUBMIT_ARGS"]}
    with tempfile.TemporaryDirectory(prefix="socialcredit-grades-scale-", dir=args.tmp) as tmp_s:
        for n, n_runs in zip(sizes, runs, strict=True):
            folder = Path(tmp_s) / f"orgs-{n}"
            folder.mkdir()
            data = generate(n, args.records_per_org, args.seed, folder, pack, t_utc)
            files = {k: Path(v) for k, v in data["files"].items()}
            print(
                f"generate {n:,}: {data['records']:,} records, {data['listings']:,} listings, "
                f"recs.csv {data['file_mib']['recs']:,.0f} MiB in {data['seconds']:.1f}s",
                flush=True,
            )
            t0 = time.perf_counter()
            data["validated_rows"] = validate(files, pack)
            data["validate_seconds"] = time.perf_counter() - t0
            size: dict[str, Any] = {"organisations": n, "data": data, "engines": {}}
            compacted: dict[str, Result] = {}
            for engine in engines:
                if engine == "spark" and "session_start_s" not in results["spark"]:
                    t0 = time.perf_counter()
                    spark = agrades.spark_session()
                    conf = spark.sparkContext.getConf()
                    results["spark"].update(
                        session_start_s=time.perf_counter() - t0,
                        master=spark.sparkContext.master,
                        shuffle_partitions=spark.conf.get("spark.sql.shuffle.partitions"),
                        driver_memory=conf.get("spark.driver.memory", "1g (Spark's default)"),
                    )
                    print(f"spark session: {results['spark']}", flush=True)
                e, compacted[engine] = bench_engine(
                    engine, files, methods, params, n_runs, f"{n:,}"
                )
                size["engines"][engine] = e
            first = compacted[engines[0]]
            size["levels"] = levels(first)
            if len(engines) > 1:
                size["agreement"] = {m: differ(first[m], compacted[engines[1]][m]) for m in first}
                size["levels_" + engines[1]] = levels(compacted[engines[1]])
            print(f"{n:,}: levels {size['levels']}; agreement {size.get('agreement')}", flush=True)
            results["sizes"].append(size)
            del compacted, first
            for f in files.values():
                f.unlink()
            gc.collect()
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results["loadavg_end"] = tuple(round(x, 2) for x in os.getloadavg())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "grades_scale.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n"
    )
    md = markdown(results)
    (args.out / "grades_scale.md").write_text(md)
    print(md)
    print(f"wrote {args.out / 'grades_scale.json'} and {args.out / 'grades_scale.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
