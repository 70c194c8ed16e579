"""The lending scorecard for organisations (small businesses), on registry data (issue #10).

There is no public data set of Chinese small businesses' registry files with loan outcomes, so
the organisations' scorecard is trained on files this module generates, by the process below,
and is a demonstration of the method on registry inputs, not a model of real lending risk.
``python -m socialcredit.analytics.smb`` rewrites ``models/registry_smb_v1.json`` (the same
seed gives the same file, byte for byte).

**Inputs** (:func:`features_of`), computed from a subject's file as the lender's report holds it,
so that training and scoring read files the same way; every one is a fact about an obligation
met or a decision of an authority, nothing about conduct outside them:

- ``late_payments_12m``, ``arrears_24m``: payment-behaviour records (social insurance,
  utilities, rent, tax) paid late in the last 12 months, still in arrears in the last 24;
- ``payment_months_24m``: distinct months with any payment record in the last 24 (a thin file);
- ``tax_credit_level``: the latest tax credit rating (A, B, M, C, D; ``none`` if unrated);
- ``penalties_36m``, ``abnormal_operations_36m``: administrative penalties and
  abnormal-operation records decided in the last 36 months;
- ``active_black_listings``: listings on a black list in force at the moment.

Records a source withdrew or an objection retracted never count.

**Generating process** (:func:`generate`, ``random.Random(seed)``), per organisation:

1. a latent reliability ``q ~ N(0, 1)``;
2. payment history: with probability 0.25 none at all (a firm whose sources share nothing);
   otherwise ``m ~ U{6..36}`` monthly periods ending last month, each on one obligation type
   drawn uniformly, paid late with probability ``σ(-2.2 - 1.2q)``, left in arrears with
   ``σ(-3.6 - 1.5q)``, else on time; late payments are ``U{1..60}`` days late;
3. a tax credit rating with probability 0.85: level by ``s = q + N(0, 0.8)``: A above 1.0,
   B above 0.0, M above -0.7, C above -1.6, else D;
4. administrative penalties ``~ Poisson(0.3·e^{-0.8q})`` and abnormal-operation records
   ``~ Poisson(0.1·e^{-q})``, each decided uniformly in the last 48 months;
5. an active black listing with probability ``σ(-4.0 - 1.5q)``;
6. the outcome, a default within a year of the application, ``bad ~ Bernoulli(σ(-2.6 - 1.4q))``
   (about 11% bad), drawn from ``q`` alone: the registry facts are noisy signals of it.

The method is the German Credit scorecard's (``scorecard.fit``: optbinning, monotone numeric
bins, logistic regression, points), on 20,000 generated organisations, split 70/30 by outcome.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from . import registry_training
from . import scorecard as sc
from .registry_training import train_generated

MODEL_ID = "registry_smb_v1"
SEED = 0
N_ORGANISATIONS = 20_000

PAYMENT_TYPES: tuple[str, ...] = (
    "social_insurance_payment",
    "utility_payment",
    "rent_payment",
    "tax_payment",
)
NUMERIC: tuple[str, ...] = (
    "late_payments_12m",
    "arrears_24m",
    "payment_months_24m",
    "penalties_36m",
    "abnormal_operations_36m",
    "active_black_listings",
)
CANDIDATES: tuple[str, ...] = (*NUMERIC[:3], "tax_credit_level", *NUMERIC[3:])
LEVELS = ("A", "B", "M", "C", "D")


def period_start(record: Mapping[str, Any]) -> date | None:
    """The first day of a payment record's period (``YYYY-MM``); None if it has none."""
    text = str(record.get("fields", {}).get("period", ""))
    if len(text) != 7 or text[4] != "-":
        return None
    try:
        return date(int(text[:4]), int(text[5:7]), 1)
    except ValueError:
        return None


def months_back(today: date, months: int) -> date:
    """The first day of the month ``months - 1`` months before this one (windows include the
    current month)."""
    total = today.year * 12 + today.month - 1 - (months - 1)
    return date(total // 12, total % 12 + 1, 1)


def counts(record: Mapping[str, Any]) -> bool:
    """Whether a record counts: a record its source withdrew or an objection retracted never
    does."""
    return record.get("status") != "withdrawn" and not record.get("retracted")


def payment_features(records: Iterable[Mapping[str, Any]], moment: date) -> dict[str, int]:
    """What the payment-behaviour records say at ``moment``, for organisations and persons
    alike: periods paid late in the last 12 months, left in arrears in the last 24, the distinct
    months with any payment record in the last 24 (how thick the file is), and the longest delay
    in days in the last 24."""
    m12, m24 = months_back(moment, 12), months_back(moment, 24)
    late = arrears = longest = 0
    months: set[date] = set()
    for r in records:
        if r["record_type"] not in PAYMENT_TYPES or not counts(r):
            continue
        p = period_start(r)
        if p is None or p > moment:
            continue
        paid = r["fields"].get("payment")
        if p >= m24:
            months.add(p)
            arrears += paid == "in_arrears"
            if paid == "late":
                longest = max(longest, int(r["fields"].get("days_late") or 0))
        if p >= m12:
            late += paid == "late"
    return {
        "late_payments_12m": late,
        "arrears_24m": arrears,
        "payment_months_24m": len(months),
        "longest_delay_days_24m": longest,
    }


def black_listings(listings: Iterable[Mapping[str, Any]], black_lists: Iterable[str]) -> int:
    """The subject's listings in force on a black list."""
    black = set(black_lists)
    return sum(1 for x in listings if x.get("status") == "active" and x.get("list") in black)


def features_of(
    records: Iterable[Mapping[str, Any]],
    listings: Iterable[Mapping[str, Any]],
    black_lists: Iterable[str],
    moment: date,
) -> dict[str, Any]:
    """The scorecard's inputs from a file's records and listings at ``moment``."""
    recs = [r for r in records if counts(r)]
    paid = payment_features(recs, moment)
    d36 = date(moment.year - 3, moment.month, min(moment.day, 28))
    penalties = abnormal = 0
    rating: tuple[date, str] | None = None
    for r in recs:
        t = r["record_type"]
        if t in PAYMENT_TYPES:
            continue
        decided = date.fromisoformat(str(r["decided_on"])[:10])
        if decided > moment:
            continue
        if t == "administrative_penalty" and decided >= d36:
            penalties += 1
        elif t == "abnormal_operation" and decided >= d36:
            abnormal += 1
        elif t == "tax_credit_rating" and (rating is None or decided >= rating[0]):
            rating = (decided, str(r["fields"].get("level")))
    return {
        "late_payments_12m": paid["late_payments_12m"],
        "arrears_24m": paid["arrears_24m"],
        "payment_months_24m": paid["payment_months_24m"],
        "tax_credit_level": rating[1] if rating and rating[1] in LEVELS else "none",
        "penalties_36m": penalties,
        "abnormal_operations_36m": abnormal,
        "active_black_listings": black_listings(listings, black_lists),
    }


# -- the generating process ---------------------------------------------------------------------


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def poisson(rng: random.Random, lam: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def payment_history(rng: random.Random, q: float, moment: date) -> list[dict[str, Any]]:
    """``m ~ U{6..36}`` monthly payment records ending last month for a subject of latent
    reliability ``q`` (step 2 of the module doc; the persons' model draws them alike)."""
    records: list[dict[str, Any]] = []
    for back in range(1, rng.randint(6, 36) + 1):
        start = months_back(moment, back + 1)
        u = rng.random()
        p_late, p_arrears = sigmoid(-2.2 - 1.2 * q), sigmoid(-3.6 - 1.5 * q)
        paid = "in_arrears" if u < p_arrears else "late" if u < p_arrears + p_late else "on_time"
        fields: dict[str, Any] = {"period": start.isoformat()[:7], "payment": paid}
        if paid == "late":
            fields["days_late"] = rng.randint(1, 60)
        records.append(
            {
                "record_type": rng.choice(PAYMENT_TYPES),
                "status": "recorded",
                "decided_on": (start + timedelta(days=45)).isoformat(),
                "fields": fields,
            }
        )
    return records


def generate(
    n: int = N_ORGANISATIONS, seed: int = SEED, moment: date = date(2026, 6, 1)
) -> list[dict[str, Any]]:
    """``n`` generated organisations: each its records, listings and outcome (module doc)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        q = rng.gauss(0, 1)
        records: list[dict[str, Any]] = []
        if rng.random() >= 0.25:
            records += payment_history(rng, q, moment)
        if rng.random() < 0.85:
            s = q + rng.gauss(0, 0.8)
            level = (
                "A" if s > 1.0 else "B" if s > 0 else "M" if s > -0.7 else "C" if s > -1.6 else "D"
            )
            records.append(
                {
                    "record_type": "tax_credit_rating",
                    "status": "issued",
                    "decided_on": date(moment.year, 4, 20).isoformat(),
                    "fields": {"level": level, "tax_year": moment.year - 1},
                }
            )
        for rtype, lam in (
            ("administrative_penalty", 0.3 * math.exp(-0.8 * q)),
            ("abnormal_operation", 0.1 * math.exp(-q)),
        ):
            for _ in range(poisson(rng, lam)):
                decided = moment - timedelta(days=rng.randint(1, 4 * 365))
                records.append(
                    {
                        "record_type": rtype,
                        "status": "in_force",
                        "decided_on": decided.isoformat(),
                        "fields": {},
                    }
                )
        listings = (
            [{"list": "serious_illegal_dishonest", "status": "active"}]
            if rng.random() < sigmoid(-4.0 - 1.5 * q)
            else []
        )
        bad = rng.random() < sigmoid(-2.6 - 1.4 * q)
        out.append(
            {
                "organisation": i,
                "records": records,
                "listings": listings,
                sc.TARGET: sc.BAD if bad else sc.GOOD,
            }
        )
    return out


def rows_of(
    files: Sequence[Mapping[str, Any]], moment: date = date(2026, 6, 1)
) -> list[dict[str, Any]]:
    """Training rows: each generated file's inputs and its outcome."""
    black = ["serious_illegal_dishonest", "dishonest_judgment_debtors", "abnormal_operations"]
    return [
        {**features_of(f["records"], f["listings"], black, moment), sc.TARGET: f[sc.TARGET]}
        for f in files
    ]


def train(seed: int = SEED, n: int = N_ORGANISATIONS) -> sc.Model:
    """Fit on 70% of the generated organisations and measure on the other 30%."""
    rows = rows_of(generate(n, seed))
    data = {
        "name": "generated registry files of organisations (socialcredit.analytics.smb)",
        "organisations": n,
        "bad": sum(sc.is_bad(rows)),
        "seed": seed,
        "process": "see the module docstring of socialcredit/analytics/smb.py",
    }
    return train_generated(
        rows, MODEL_ID, CANDIDATES, NUMERIC, seed, data, "python -m socialcredit.analytics.smb"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Retrain on the generated organisations and rewrite the saved model (``--check``)."""
    return registry_training.main(argv, train, MODEL_ID)


if __name__ == "__main__":
    raise SystemExit(main())
