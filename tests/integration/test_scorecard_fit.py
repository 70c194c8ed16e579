"""The data loop: a scorecard refitted on the loan outcomes lenders reported to the registry
(``socialcredit scorecard fit --outcomes-from-registry``), written as a new version, put in use
by naming it in the pack, and scoring under its own id."""

from __future__ import annotations

import dataclasses
import math
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from socialcredit.analytics.scorecard import load_model
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.errors import InvalidInput
from socialcredit.identifiers.uscc import build_uscc
from socialcredit.policy.load import PACKS_DIR
from socialcredit.services import consents, ingest, lending
from socialcredit.services.access import authenticate, create_principal
from socialcredit.services.scorecard_fit import fit_from_registry
from tests.fixtures.rows import numbered, payment

N = 160


def loan(rid: str, period: str, code: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "source_record_id": rid,
        "record_type": "loan_performance",
        "subject_id": code,
        "subject_name": name,
        "authority": "某某银行北京分行",
        "decision_ref": f"贷后报告 {rid}",
        "decided_on": f"{period}-28",
        "legal_basis": "《征信业管理条例》第二十九条",
        "status": "recorded",
        "loan_id": f"LN-{code}",
        "granted_on": "2025-12-01",
        "amount_yuan": "500000",
        "period": period,
        "performance": "current",
        **fields,
    }


def _registry_with_outcomes(reg: Registry, clock: FixedClock) -> list[str]:
    """N organisations: a year of social-insurance payments before 2026, paid late as often
    as their (hidden) reliability says, then five months of a loan, defaulted as often as it
    says too."""
    rng = random.Random(7)
    pays, loans, codes = [], [], []
    for i in range(N):
        code = build_uscc("9", "1", "110105", f"{20000000 + i:08d}")
        name = f"北京第{i}号贸易有限公司"
        codes.append(code)
        q = rng.gauss(0, 1)
        for m in range(1, 13):
            late = rng.random() < 1 / (1 + math.exp(1.2 + 1.6 * q))
            pays.append(
                payment(f"SI-{i}-{m}", f"2025-{m:02d}", code, subject_name=name,
                        paid="late" if late else "on_time", days_late=20 if late else 0)
            )  # fmt: skip
        default = rng.random() < 1 / (1 + math.exp(1.6 + 2.0 * q))
        for m in range(2, 7):
            dead = default and m >= 5
            loans.append(
                loan(f"LP-{i}-{m}", f"2026-{m:02d}", code, name,
                     **({"performance": "default", "days_past_due": 95} if dead else {}))
            )  # fmt: skip
    clock.set(parse_moment("2026-08-03T09:00"))
    assert ingest.ingest(reg, numbered(pays), "hrss", actor="hrss").rejected == 0
    assert ingest.ingest(reg, numbered(loans), "lenders", actor="lenders").rejected == 0
    return codes


def test_a_refit_on_reported_outcomes_is_a_new_version_that_scores(
    reg: Registry, clock: FixedClock, tmp_path: Path
) -> None:
    codes = _registry_with_outcomes(reg, clock)
    out = fit_from_registry(reg, "organisation", parse_moment("2026-01-01", reg.tz), "6m")
    assert out["model"] == "registry_smb_v1_fit_20260101" and out["subjects"] == N
    assert 10 <= out["bad"] < N // 2
    assert Path(out["path"]).parent == reg.settings.models_dir
    assert "late_payments_12m" in out["inputs"]  # what the outcomes were learnt from
    assert out["metrics"]["test_auc"] > 0.65, out
    model = load_model(out["model"], reg.settings.models_dir)
    assert model.provenance["data"]["name"].startswith("the registry's own outcomes")

    # the pack puts it in use by naming it; every score then names it
    pack = tmp_path / "pack"
    shutil.copytree(PACKS_DIR / "cn-national", pack)
    lending_yaml = pack / "lending.yaml"
    lending_yaml.write_text(
        lending_yaml.read_text(encoding="utf-8").replace(
            "organisation: registry_smb_v1", f"organisation: {out['model']}"
        ),
        encoding="utf-8",
    )
    reg2 = Registry(dataclasses.replace(reg.settings, pack_path=pack), clock=clock)
    try:
        bank = create_principal(reg2, "lender", "Example Bank", actor="op")
        me = create_principal(reg2, "subject", "the company", actor="op", subject=codes[0])
        consents.grant(
            reg2,
            authenticate(reg2, me["token"]),
            codes[0],
            lender=bank["principal_id"],
            purpose="loan_application",
        )
        scored = lending.score(reg2, authenticate(reg2, bank["token"]), codes[0], {})
        assert scored["model"] == out["model"]
        assert scored["score"] == sum(scored["points_by_feature"].values())
    finally:
        reg2.close()


def test_too_few_outcomes_or_a_window_not_over_are_refused(
    reg: Registry, clock: FixedClock
) -> None:
    clock.set(parse_moment("2026-08-03T09:00"))
    with pytest.raises(InvalidInput, match="too few outcomes"):
        fit_from_registry(reg, "organisation", parse_moment("2026-01-01", reg.tz), "6m")
    with pytest.raises(InvalidInput, match="after now"):
        fit_from_registry(reg, "person", parse_moment("2026-06-01", reg.tz), "12m")
    with pytest.raises(InvalidInput, match="person or organisation"):
        fit_from_registry(reg, "household", parse_moment("2026-01-01", reg.tz), "6m")


def test_the_command_fits_and_says_why_it_will_not(
    reg: Registry, clock: FixedClock, env: dict[str, str], tmp_path: Path
) -> None:
    import json
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "socialcredit", "scorecard", "fit", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )

    common = ("--kind", "organisation", "--as-of", "2026-01-01", "--window", "6m")
    refused = run(*common)
    assert refused.returncode == 2 and "--outcomes-from-registry" in refused.stderr
    empty = run(*common, "--outcomes-from-registry")
    assert empty.returncode == 2 and "too few outcomes" in empty.stderr
    _registry_with_outcomes(reg, clock)
    done = run(*common, "--outcomes-from-registry")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["model"] == "registry_smb_v1_fit_20260101" and Path(out["path"]).is_file()
