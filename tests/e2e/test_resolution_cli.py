"""Resolution from the command line, as separate processes on SQLite and PostgreSQL: a market
regulator's file registers organisations with their address and legal representative; a
court's file names three of them without a code; ``socialcredit ingest`` links, proposes or
leaves each as the policy's thresholds say, and the listing lands on the right organisation;
``socialcredit resolve undo`` takes it off again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_story_cli import sc_process, write_jsonl
from tests.fixtures.rows import penalty
from tests.integration.test_resolution_queue import codeless_judgment, population

pytestmark = pytest.mark.e2e


def test_ingest_links_proposes_or_leaves_rows_then_undo(
    env: dict[str, str], tmp_path: Path
) -> None:
    orgs = population()
    samr = [
        penalty(
            f"SAMR-{i:04d}",
            o["code"],
            severity="minor",
            subject_name=o["name"],
            subject_address=o["address"],
            subject_legal_representative=o["rep"],
        )
        for i, o in enumerate(orgs)
    ]
    a, b = orgs[5], orgs[12]
    court = [
        codeless_judgment(
            "CT-X-001",
            a["name"].removesuffix("有限公司"),
            subject_address=a["address"],
            subject_legal_representative=a["rep"],
        ),
        codeless_judgment("CT-Y-002", b["name"].replace("有限公司", "股份有限公司")),
        codeless_judgment(
            "CT-Z-003", "哈尔滨北极星冷链运输有限公司", subject_legal_representative="孙悦"
        ),
    ]
    at = ("--as-of", "2026-02-01")
    ran = sc_process(
        env, "ingest", str(write_jsonl(tmp_path / "samr.jsonl", samr)), "--source", "samr", *at,
        "--json", cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    ran = sc_process(
        env, "ingest", str(write_jsonl(tmp_path / "court.jsonl", court)), "--source", "court",
        *at, "--json", cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)
    assert out["queued_for_review"] == 3
    found = out["resolution"]
    assert (found["linked"], found["review"], found["unresolved"]) == (1, 1, 1)

    shown = sc_process(env, "subject", "show", a["code"], *at, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    file = json.loads(shown.stdout)
    assert "CT-X-001" in shown.stdout
    assert any(x["list"] == "dishonest_judgment_debtors" for x in file["listings"])

    queue = json.loads(sc_process(env, "review", "list", "--json", *at, cwd=tmp_path).stdout)
    by_id = {i["source_record_id"]: i for i in queue["items"]}
    assert set(by_id) == {"CT-Y-002", "CT-Z-003"}
    assert by_id["CT-Y-002"]["finding"]["candidates"][0]["subject_id"] == b["code"]
    assert by_id["CT-Z-003"]["finding"]["decision"] == "unresolved"

    undo = sc_process(
        env, "resolve", "undo", "court", "CT-X-001", "--reason", "a namesake", *at, cwd=tmp_path
    )
    assert undo.returncode == 0, undo.stderr
    assert json.loads(undo.stdout)["subject_id"] == a["code"]
    file = json.loads(sc_process(env, "subject", "show", a["code"], *at, cwd=tmp_path).stdout)
    assert "court/CT-X-001" not in {r["record"] for r in file["records"]}
    told = [n for n in file["notices"] if n["kind"] == "link-undone"]
    assert told and told[0]["record"] == "court/CT-X-001" and "a namesake" in told[0]["en"]
    assert all(x["status"] == "ended" for x in file["listings"])
    queue = json.loads(sc_process(env, "review", "list", "--json", *at, cwd=tmp_path).stdout)
    assert "CT-X-001" in {i["source_record_id"] for i in queue["items"]}
