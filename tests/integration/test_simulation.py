"""A simulated policy change reports exactly the entities a hand check finds, and changes
nothing in the registry."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.identifiers.uscc import build_uscc
from socialcredit.policy import default_pack_path
from socialcredit.services import audit, ingest
from socialcredit.services.simulation import simulate
from tests.fixtures.rows import ORG, ORG2, numbered, penalty

ORG3 = build_uscc("9", "1", "440305", "MA5GKQ7B")


def test_simulation_reports_exactly_the_hand_checked_subjects(
    reg: Registry, clock: FixedClock, tmp_path: Path
) -> None:
    clock.set(parse_moment("2026-03-01"))
    ingest.ingest(
        reg,
        numbered(
            [
                penalty("P-1", ORG, field="environment"),  # serious, environment
                penalty("P-2", ORG2, field="food"),  # serious, food
                {
                    **penalty("P-3", ORG3, severity="general", field="environment"),
                    "subject_name": "深圳某某环保科技有限公司",
                },  # general, environment
            ]
        ),
        "samr",
        actor="samr",
    )
    draft = tmp_path / "draft"
    shutil.copytree(default_pack_path(), draft)
    # hand-made change 1: serious environmental penalties also put a firm on the serious list
    f = draft / "lists" / "serious_illegal_dishonest.yaml"
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    data["entry"]["where"]["field_of_law"].append("environment")
    f.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    # hand-made change 2: general penalties weigh 20 points instead of 10 in the risk classes
    g = draft / "grading" / "samr_risk.yaml"
    method = yaml.safe_load(g.read_text(encoding="utf-8"))
    for ind in method["indicators"]:
        if ind["id"] == "general_penalty":
            ind["points"] = -20
    g.write_text(yaml.safe_dump(method, allow_unicode=True), encoding="utf-8")

    before = audit.fingerprint(reg)
    result = simulate(reg, draft, tmp_path / "report")
    assert audit.fingerprint(reg) == before  # nothing changed

    assert result["entered"]["serious_illegal_dishonest"] == 1
    assert result["subjects"]["entered"]["serious_illegal_dishonest"] == [ORG]
    assert all(n == 0 for n in result["left"].values())
    # ORG3: 100 - 10 = 90 (B) today; 100 - 20 = 80 (C) under the draft. ORG and ORG2 keep theirs.
    changed = result["subjects"]["changed_class"]["samr_risk"]
    assert [(c["subject"], c["from"], c["to"]) for c in changed] == [(ORG3, "B", "C")]
    assert result["changed_class"] == {"samr_risk": 1, "tax_credit": 0}
    assert result["breakdown"]["entered"]["serious_illegal_dishonest"]["by_region"] == {"北京市": 1}
    report = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "serious_illegal_dishonest" in report and "<svg" in report
    assert (tmp_path / "report" / "by_region.svg").exists()


def test_simulating_a_version_names_the_records_it_takes_out_of_publicity(
    reg: Registry, clock: FixedClock, tmp_path: Path
) -> None:
    """Before Order No. 107 takes effect, a simulation of its version shows the warnings it
    would take out of public view on 2025-12-25 (the lighter rule reaches decided records from
    that day) and leaves the fines, which it does not change, alone."""
    clock.set(parse_moment("2025-11-01"))
    ingest.ingest(
        reg,
        numbered(
            [
                penalty("W-1", severity="general", penalty_kind="warning", decided_on="2025-06-01"),
                penalty("F-1", severity="general", penalty_kind="fine", decided_on="2025-06-01"),
                # a warning whose publicity ended before the order: nothing to take out
                penalty(
                    "W-2", ORG2, severity="minor", penalty_kind="warning", decided_on="2025-06-01"
                ),
            ]
        ),
        "samr",
        actor="samr",
    )
    before = audit.fingerprint(reg)
    result = simulate(reg, "2025-12-25", tmp_path / "report")
    assert result["effective_from"] == result["publicity_on"] == "2025-12-25"
    assert result["policy"] == "version 2025-12-25 of cn-national"
    assert result["unpublished"] == 1 and result["shortened"] == 0
    (item,) = result["records"]["unpublished"]
    assert (item["until_before"], item["until_after"], item["version"]) == (
        "2026-06-01",
        "2025-12-25",
        "2025-12-25",
    )
    assert "would leave publicity" in (tmp_path / "report" / "report.html").read_text("utf-8")
    assert audit.fingerprint(reg) == before  # nothing was written
    # a day that is no version is refused with the versions there are
    import pytest

    from socialcredit.errors import InvalidInput

    with pytest.raises(InvalidInput, match="versions: 2025-12-25"):
        simulate(reg, "2026-07-01")
