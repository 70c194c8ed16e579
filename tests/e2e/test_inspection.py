"""Inspection draws are reproducible from their seed, follow the pack's shares and respect
conflicts of interest."""

from __future__ import annotations

import json
import math
from pathlib import Path

import yaml

from socialcredit.generate import generate
from tests.e2e.test_story_cli import sc


def test_draw_is_reproducible_and_follows_policy(env: dict[str, str], tmp_path: Path) -> None:
    generate(300, tmp_path / "data", seed=5)
    for name, source in (("samr.csv", "samr"), ("court.jsonl", "court")):
        r = sc(
            env,
            "ingest",
            str(tmp_path / "data" / name),
            "--source",
            source,
            "--as-of",
            "2026-10-01",
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stderr
    orgs = [
        json.loads(line)
        for line in (tmp_path / "data" / "subjects.jsonl").open()
        if json.loads(line)["kind"] == "organisation"
    ]
    conflicted = [o["subject_id"] for o in orgs]  # Inspector Li may inspect none of them
    plan = {
        "id": "2026-Q4-all",
        "name": "Q4 random inspections",
        "method": "samr_risk",
        "population": {"division_prefix": "", "entity_types": ["91", "92", "93"]},
        "inspectors": [
            {"id": "I1", "name": "Inspector Li", "regions": [""], "conflicts": conflicted},
            {"id": "I2", "name": "Inspector Wang", "regions": [""]},
            {"id": "I3", "name": "Inspector Zhao", "regions": [""]},
        ],
    }
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")

    def run(seed: int, as_of: str = "2026-12-01") -> str:
        r = sc(
            env,
            "inspect",
            "draw",
            "--plan",
            str(plan_file),
            "--seed",
            str(seed),
            "--as-of",
            as_of,
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    first, again, other = run(7), run(7), run(8)
    assert first == again  # byte for byte
    assert first != other
    result = json.loads(first)
    # the digest is a function of the plan's content: a redraw later the same day (nothing
    # recorded between) is the same plan with the same digest, though drawn at another moment
    later = json.loads(run(7, "2026-12-01T17:30"))
    assert later["as_of"] != result["as_of"] and later["drawn"] == result["drawn"]
    assert later["digest"] == result["digest"]
    shares = result["shares"]
    drawn = result["drawn"] + result["unassigned"]
    for level, n in result["population"].items():
        expected = math.floor(shares.get(level, 0) * n + 0.5)
        assert sum(1 for d in drawn if d["level"] == level) == expected
    assert sum(result["population"].values()) > 50
    assert result["drawn"] and not result["unassigned"]
    for d in result["drawn"]:
        assert [i["id"] for i in d["inspectors"]] == ["I2", "I3"]
    # publish: the published plan is the printed one, and a plan id is published once
    r = sc(
        env,
        "inspect",
        "draw",
        "--plan",
        str(plan_file),
        "--seed",
        "7",
        "--as-of",
        "2026-12-01",
        "--publish",
        cwd=tmp_path,
    )
    assert r.returncode == 0 and r.stdout == first
    r = sc(
        env,
        "inspect",
        "draw",
        "--plan",
        str(plan_file),
        "--seed",
        "7",
        "--as-of",
        "2026-12-02",
        "--publish",
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "already published" in r.stderr
    from socialcredit.bootstrap import Registry
    from socialcredit.config import Settings
    from socialcredit.services.inspection import published

    reg = Registry(Settings.from_env(env))
    assert published(reg, "2026-Q4-all")["digest"] == result["digest"]
    assert published(reg)[0]["seed"] == 7
    reg.close()
    # results come back as records of the regulator, public within their publicity
    drawn = result["drawn"][0]["subject"]
    rows = tmp_path / "results.jsonl"
    rows.write_text(
        json.dumps(
            {
                "source_record_id": "INS-1",
                "record_type": "inspection_result",
                "subject_id": drawn,
                "subject_name": "x",
                "authority": "市场监督管理局",
                "decision_ref": "京市监查〔2026〕1号",
                "decided_on": "2026-12-10",
                "legal_basis": "《企业信息公示暂行条例》第十四条",
                "status": "published",
                "plan_id": "2026-Q4-all",
                "outcome": "compliant",
            },
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    r = sc(
        env,
        "ingest",
        str(rows),
        "--source",
        "samr",
        "--as-of",
        "2026-12-10",
        "--json",
        cwd=tmp_path,
    )
    assert json.loads(r.stdout)["accepted"] == 1
    r = sc(
        env,
        "inspect",
        "draw",
        "--plan",
        str(tmp_path / "missing.yaml"),
        "--seed",
        "1",
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "cannot be read" in r.stderr
