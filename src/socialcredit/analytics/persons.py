"""The lending scorecard for natural persons, on what the registry holds about them (issue #27).

It replaces the German Credit model (application-form fields the registry does not hold) as
the pack's default for persons. There is no public data set of Chinese persons' registry files
with loan outcomes, so it is trained, like the organisations' model, on files this module
generates by the process below: a demonstration of the method on registry inputs, not a model
of real lending risk. ``python -m socialcredit.analytics.persons`` rewrites
``models/registry_person_v1.json`` (the same seed gives the same file, byte for byte).

**Inputs** (:func:`features_of`), from the person's file as the lender's report holds it, under
the person's consent; every one is a fact about an obligation met or a decision of an
authority (``smb.payment_features`` reads the payments for both models):

- ``late_payments_12m``, ``arrears_24m``, ``payment_months_24m``, ``longest_delay_days_24m``:
  payment-behaviour records (social insurance, utilities, rent, tax);
- ``loan_months_24m``, ``loan_max_days_past_due_24m``, ``loans_defaulted_36m``: the
  ``loan_performance`` records lenders report back (months reported, the longest delay, the
  loans reported in default);
- ``unperformed_judgments_36m``: court judgments decided in the last 36 months and not
  performed;
- ``active_black_listings``: listings on a black list in force.

**Thin files.** A person with fewer than ``MIN_HISTORY_MONTHS`` months of payment or loan
records in the last 24 is not scored: the answer is "not enough history", with what is
needed, rather than a low score (the unbanked are who this is for; a thin file says nothing
bad about them).

**Generating process** (:func:`generate`, ``random.Random(seed)``), per person:

1. a latent reliability ``q ~ N(0, 1)``;
2. payment history with probability 0.7, drawn as the organisations' (``smb.payment_history``);
3. a loan history with probability 0.45: ``U{1..3}`` loans, each reported for ``U{6..30}``
   months ending last month, each month past due with probability ``σ(-2.6 - 1.3q)`` (then
   ``U{1..90}`` days), the loan reported in default in its last month with probability
   ``σ(-4.2 - 1.6q)``;
4. unperformed court judgments ``~ Poisson(0.06·e^{-q})``, decided uniformly in the last 48
   months;
5. an active black listing with probability ``σ(-4.5 - 1.5q)``;
6. the outcome, a default within a year, ``bad ~ Bernoulli(σ(-2.4 - 1.4q))``, from ``q`` alone.

The method is the German Credit scorecard's (``scorecard.fit``: optbinning, monotone numeric
bins, logistic regression, points), trained on the generated persons whose files are thick
enough to be scored, split 70/30 by outcome. Sex and age are not inputs and are not generated:
the registry stores neither (a resident ID number holds both; it is never a model input).
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
from .smb import (
    black_listings,
    counts,
    months_back,
    payment_features,
    payment_history,
    period_start,
    poisson,
    sigmoid,
)

MODEL_ID = "registry_person_v1"
SEED = 0
N_PERSONS = 24_000
#: the fewest months of payment or loan records in the last 24 a person is scored on
MIN_HISTORY_MONTHS = 6

NUMERIC: tuple[str, ...] = (
    "late_payments_12m",
    "arrears_24m",
    "payment_months_24m",
    "longest_delay_days_24m",
    "loan_months_24m",
    "loan_max_days_past_due_24m",
    "loans_defaulted_36m",
    "unperformed_judgments_36m",
    "active_black_listings",
)
CANDIDATES = NUMERIC
#: the record types the inputs are read from (a test holds every one to the pack)
RECORD_TYPES: tuple[str, ...] = (
    "social_insurance_payment",
    "utility_payment",
    "rent_payment",
    "tax_payment",
    "loan_performance",
    "court_judgment",
)


def features_of(
    records: Iterable[Mapping[str, Any]],
    listings: Iterable[Mapping[str, Any]],
    black_lists: Iterable[str],
    moment: date,
) -> dict[str, Any]:
    """The scorecard's inputs from a person's file at ``moment``."""
    recs = [r for r in records if counts(r)]
    out: dict[str, Any] = dict(payment_features(recs, moment))
    m24 = months_back(moment, 24)
    d36 = date(moment.year - 3, moment.month, min(moment.day, 28))
    loan_months: set[tuple[str, date]] = set()
    max_dpd = 0
    defaulted: set[str] = set()
    judgments = 0
    for r in recs:
        t = r["record_type"]
        if t == "loan_performance":
            p = period_start(r)
            if p is None or p > moment:
                continue
            f = r["fields"]
            loan = str(f.get("loan_id", ""))
            if p >= m24:
                loan_months.add((loan, p))
                max_dpd = max(max_dpd, int(f.get("days_past_due") or 0))
            if f.get("performance") == "default" and p >= months_back(moment, 36):
                defaulted.add(loan)
        elif t == "court_judgment" and r.get("status") == "unperformed":
            decided = date.fromisoformat(str(r["decided_on"])[:10])
            if d36 <= decided <= moment:
                judgments += 1
    out["loan_months_24m"] = len({p for _loan, p in loan_months})
    out["loan_max_days_past_due_24m"] = max_dpd
    out["loans_defaulted_36m"] = len(defaulted)
    out["unperformed_judgments_36m"] = judgments
    out["active_black_listings"] = black_listings(listings, black_lists)
    return out


def history_months(features: Mapping[str, Any]) -> int:
    """How many months of history a person's inputs rest on (payments or loans, the more)."""
    return max(int(features["payment_months_24m"]), int(features["loan_months_24m"]))


def enough_history(features: Mapping[str, Any]) -> bool:
    return history_months(features) >= MIN_HISTORY_MONTHS


# -- the generating process ---------------------------------------------------------------------


def _loans(rng: random.Random, q: float, moment: date) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for k in range(rng.randint(1, 3)):
        months = rng.randint(6, 30)
        default = rng.random() < sigmoid(-4.2 - 1.6 * q)
        for back in range(months, 0, -1):
            start = months_back(moment, back + 1)
            late = rng.random() < sigmoid(-2.6 - 1.3 * q)
            last = back == 1
            performance = "default" if last and default else "past_due" if late else "current"
            out.append(
                {
                    "record_type": "loan_performance",
                    "status": "recorded",
                    "decided_on": (start + timedelta(days=35)).isoformat(),
                    "fields": {
                        "loan_id": f"L{k}",
                        "period": start.isoformat()[:7],
                        "performance": performance,
                        "days_past_due": rng.randint(1, 90) if performance != "current" else 0,
                    },
                }
            )
    return out


def generate(
    n: int = N_PERSONS, seed: int = SEED, moment: date = date(2026, 6, 1)
) -> list[dict[str, Any]]:
    """``n`` generated persons: each their records, listings and outcome (module doc)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        q = rng.gauss(0, 1)
        records: list[dict[str, Any]] = []
        if rng.random() < 0.7:
            records += payment_history(rng, q, moment)
        if rng.random() < 0.45:
            records += _loans(rng, q, moment)
        for _ in range(poisson(rng, 0.06 * math.exp(-q))):
            decided = moment - timedelta(days=rng.randint(1, 4 * 365))
            records.append(
                {
                    "record_type": "court_judgment",
                    "status": "unperformed",
                    "decided_on": decided.isoformat(),
                    "fields": {},
                }
            )
        listings = (
            [{"list": "dishonest_judgment_debtors", "status": "active"}]
            if rng.random() < sigmoid(-4.5 - 1.5 * q)
            else []
        )
        bad = rng.random() < sigmoid(-2.4 - 1.4 * q)
        out.append(
            {
                "person": i,
                "records": records,
                "listings": listings,
                sc.TARGET: sc.BAD if bad else sc.GOOD,
            }
        )
    return out


BLACK_LISTS = ("dishonest_judgment_debtors", "high_consumption_restrictions")


def rows_of(
    files: Sequence[Mapping[str, Any]], moment: date = date(2026, 6, 1)
) -> list[dict[str, Any]]:
    """Training rows: the inputs and outcome of each generated file thick enough to score."""
    rows = [
        {**features_of(f["records"], f["listings"], BLACK_LISTS, moment), sc.TARGET: f[sc.TARGET]}
        for f in files
    ]
    return [r for r in rows if enough_history(r)]


def train(seed: int = SEED, n: int = N_PERSONS) -> sc.Model:
    """Fit on 70% of the generated persons with enough history, measure on the other 30%."""
    rows = rows_of(generate(n, seed))
    data = {
        "name": "generated registry files of persons (socialcredit.analytics.persons)",
        "persons": n,
        "scored": len(rows),
        "bad": sum(sc.is_bad(rows)),
        "seed": seed,
        "min_history_months": MIN_HISTORY_MONTHS,
        "process": "see the module docstring of socialcredit/analytics/persons.py",
    }
    return train_generated(
        rows,
        MODEL_ID,
        CANDIDATES,
        NUMERIC,
        seed,
        data,
        "python -m socialcredit.analytics.persons",
        # rows_of keeps the files thick enough to score: the others were too thin
        {"not_enough_history": n - len(rows)},
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Retrain on the generated persons and rewrite the saved model (``--check``)."""
    return registry_training.main(
        argv,
        train,
        MODEL_ID,
        lambda m: f"; {m.metrics['not_enough_history']} of {N_PERSONS} too thin to score",
    )


if __name__ == "__main__":
    raise SystemExit(main())
