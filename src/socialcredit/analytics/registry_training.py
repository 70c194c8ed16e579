"""What the two scorecards on registry data share (``smb`` for organisations, ``persons``):
fitting on generated files and measuring on a held-out split, the saved model's provenance,
and the ``python -m`` entry that rewrites or checks the saved model."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import scorecard as sc


def train_generated(
    rows: Sequence[Mapping[str, Any]],
    model_id: str,
    candidates: Sequence[str],
    numeric: Sequence[str],
    seed: int,
    data: dict[str, Any],
    command: str,
    extra_metrics: Mapping[str, Any] | None = None,
) -> sc.Model:
    """Fit on 70% of ``rows`` (split by outcome with ``seed``), measure on the other 30%;
    ``data`` describes the rows in the model's provenance."""
    train_idx, test_idx = sc.split(rows, seed)
    train_rows = [rows[i] for i in train_idx]
    test_rows = [rows[i] for i in test_idx]
    model = sc.fit(train_rows, candidates, numeric, model_id)
    scores = [model.score(r)["score"] for r in rows]
    test_scores = [scores[i] for i in test_idx]
    metrics = {
        "train_auc": round(sc.auc(sc.is_bad(train_rows), [scores[i] for i in train_idx]), 4),
        "test_auc": round(sc.auc(sc.is_bad(test_rows), test_scores), 4),
        "test_ks": round(sc.ks(sc.is_bad(test_rows), test_scores), 4),
        "test_approval_rate": round(sum(s >= model.cutoff for s in test_scores) / len(test_idx), 4),
        **(extra_metrics or {}),
    }
    provenance = {
        "data": data,
        "split": {"method": "stratified by outcome", "test_size": sc.TEST_SIZE, "seed": seed},
        **model.provenance,
        "command": command,
    }
    return sc.Model(
        features=model.features,
        cutoff=model.cutoff,
        model_id=model_id,
        metrics=metrics,
        provenance=provenance,
    )


def main(
    argv: Sequence[str] | None,
    train: Callable[[], sc.Model],
    model_id: str,
    tail: Callable[[sc.Model], str] = lambda _m: "",
) -> int:
    """Retrain and rewrite the saved model; with ``--check``, only compare (exit 1 if it
    differs from a fresh training)."""
    args = list(sys.argv[1:] if argv is None else argv)
    model = train()
    path = sc.model_path(model_id)
    if "--check" in args:
        same = path.exists() and path.read_text(encoding="utf-8") == model.to_json()
        sys.stdout.write(f"{path}: {'up to date' if same else 'differs from a fresh training'}\n")
        return 0 if same else 1
    path.write_text(model.to_json(), encoding="utf-8")
    m = model.metrics
    sys.stdout.write(
        f"wrote {path}: {len(model.features)} inputs, test AUC {m['test_auc']}, "
        f"KS {m['test_ks']}, approval {m['test_approval_rate']}, cut-off {model.cutoff}"
        f"{tail(model)}\n"
    )
    return 0
