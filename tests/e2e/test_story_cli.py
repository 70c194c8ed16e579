"""The registry core's story through the command line, as a clerk would run it.

A court uploads unperformed judgments; the listing activates after the notice period; a
ticketing check answers "restricted" with its reasons; the court records performance and the
restriction ends; the log verifies and rebuilds. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from socialcredit.cli import app
from tests.fixtures.rows import ORG, PERSON, judgment

pytestmark = pytest.mark.e2e


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def sc(env: dict[str, str], *args: str, cwd: Path) -> Ran:
    """Run a command in this process (Typer's runner, the real app, the given environment)."""
    clean = {k: None for k in os.environ if k.startswith("SOCIALCREDIT_")}
    result = CliRunner().invoke(app, list(args), env={**clean, **env}, catch_exceptions=False)
    return Ran(result.exit_code, result.stdout, result.stderr)


def sc_process(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed command as a separate process, as a clerk's shell would."""
    return subprocess.run(
        [sys.executable, "-m", "socialcredit", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def write_jsonl(path: Path, rows: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_court_story_through_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    court = write_jsonl(
        tmp_path / "court.jsonl",
        [
            judgment(),
            judgment("BJ-7", PERSON, conduct="evades_enforcement", listing_ref=None),
            {**judgment("BJ-8"), "subject_id": ""},
            {**judgment("BJ-9"), "ethnicity": "汉"},
        ],
    )
    r = sc(
        env,
        "ingest",
        str(court),
        "--source",
        "court",
        "--as-of",
        "2026-02-01T09:00",
        "--json",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert (summary["accepted"], summary["queued_for_review"], summary["rejected"]) == (2, 1, 1)
    assert summary["rejects"] == [
        {"row": 4, "field": "ethnicity", "reason": summary["rejects"][0]["reason"]}
    ]
    assert "prohibited" in summary["rejects"][0]["reason"]

    def check(subject: str, when: str) -> dict:  # type: ignore[type-arg]
        r = sc(env, "check", subject, "restrict_air_travel", "--as-of", when, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)  # type: ignore[no-any-return]

    assert check(ORG, "2026-02-15")["restricted"] is False
    answer = check(ORG, "2026-03-01T09:00")
    assert answer["restricted"] is True
    (listing,) = answer["listings"]
    assert listing["list"] == "dishonest_judgment_debtors"
    assert listing["decision_ref"] == "（2026）京0105执1234号之一"
    assert listing["legal_basis"] and listing["since"].startswith("2026-03-01")
    assert listing["until"].startswith("2031-03-01")
    assert answer["how_to_resolve"]["en"]
    # the person's listing waits for the court's written decision
    assert check(PERSON, "2026-03-02")["restricted"] is False

    r = sc(env, "lists", "advance", "--as-of", "2026-03-02", cwd=tmp_path)
    assert r.returncode == 0 and "1 listings activated" in r.stdout

    performed = write_jsonl(
        tmp_path / "performed.jsonl", [judgment(status="performed", performed_on="2026-04-09")]
    )
    r = sc(
        env,
        "ingest",
        str(performed),
        "--source",
        "court",
        "--as-of",
        "2026-04-10T10:00",
        "--json",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["listings_ended"] == 1
    assert check(ORG, "2026-04-10T10:01")["restricted"] is False
    assert check(ORG, "2026-04-10T09:59")["restricted"] is True  # the past stays as it was

    r = sc(env, "subject", "show", ORG, "--as-of", "2026-03-15", cwd=tmp_path)
    assert json.loads(r.stdout)["listings"][0]["status"] == "active"
    r = sc(env, "subject", "show", ORG, "--purpose", "audit of the listing", cwd=tmp_path)
    assert json.loads(r.stdout)["listings"][0]["end_reason"] == "performed"
    # an operator's reads are recorded like anyone's: the next file shows them
    reads = json.loads(sc(env, "subject", "show", ORG, cwd=tmp_path).stdout)["reads"]
    assert any(
        x["who"].startswith("cli:operator") and x["why"].get("purpose") == "audit of the listing"
        for x in reads
    )

    r = sc(env, "audit", "verify", cwd=tmp_path)
    assert r.returncode == 0 and "chain verified" in r.stdout
    r = sc(env, "rebuild", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "NO" not in r.stdout

    r = sc(env, "review", "list", cwd=tmp_path)
    assert "BJ-8" in r.stdout


def test_command_line_errors_are_clear(env: dict[str, str], tmp_path: Path) -> None:
    r = sc(env, "check", "91110000600037341M", "restrict_air_travel", cwd=tmp_path)
    assert r.returncode == 2 and "check character" in r.stderr and "Traceback" not in r.stderr
    r = sc(env, "check", ORG, "no_such_measure", cwd=tmp_path)
    assert r.returncode == 2 and "unknown measure" in r.stderr
    r = sc(env, "check", ORG, "restrict_air_travel", "--as-of", "yesterday", cwd=tmp_path)
    assert r.returncode == 2 and "YYYY-MM-DD" in r.stderr
    r = sc(env, "ingest", str(tmp_path / "missing.csv"), "--source", "court", cwd=tmp_path)
    assert r.returncode == 2 and "cannot be read" in r.stderr
    r = sc(env, "ingest", str(tmp_path / "x.csv"), "--source", "bank", cwd=tmp_path)
    assert r.returncode == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"source_record_id": "1"\nnot json\n', encoding="utf-8")
    r = sc(env, "ingest", str(bad), "--source", "court", "--json", cwd=tmp_path)
    assert r.returncode == 0
    assert json.loads(r.stdout)["rejected"] == 2


def test_help_reads_like_a_tool(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALCREDIT_")}
    env["SOCIALCREDIT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'help.db'}"
    r = sc_process(env, "--help", cwd=tmp_path)
    assert r.returncode == 0
    for command in ("ingest", "check", "rebuild", "audit", "generate", "serve", "demo"):
        assert command in r.stdout
    for args in (("ingest", "--help"), ("check", "--help"), ("audit", "verify", "--help")):
        r = sc(env, *args, cwd=tmp_path)
        assert r.returncode == 0 and "Example:" in r.stdout


def test_check_as_a_separate_process(env: dict[str, str], tmp_path: Path) -> None:
    court = write_jsonl(tmp_path / "court.jsonl", [judgment()])
    r = sc_process(
        env, "ingest", str(court), "--source", "court", "--as-of", "2026-02-01", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    r = sc_process(env, "check", ORG, "restrict_air_travel", "--as-of", "2026-03-02", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["restricted"] is True
    r = sc_process(env, "check", "nonsense", "restrict_air_travel", cwd=tmp_path)
    assert r.returncode == 2 and "not a valid identifier" in r.stderr


def test_every_command_documents_itself_with_an_example() -> None:
    import typer.main

    def walk(cmd: Any, path: str) -> list[tuple[str, Any]]:
        if hasattr(cmd, "commands"):  # a group
            return [x for name, sub in cmd.commands.items() for x in walk(sub, f"{path} {name}")]
        return [(path, cmd)]

    commands = walk(typer.main.get_command(app), "socialcredit")
    assert len(commands) >= 15
    for path, cmd in commands:
        assert cmd.help and "Example:" in cmd.help and path in cmd.help, f"{path} has no example"
        for param in cmd.params:
            if param.param_type_name == "option" and param.name != "help":
                assert getattr(param, "help", None), f"{path} {param.name} has no help"


def test_objection_and_repair_through_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    from tests.fixtures.rows import penalty

    samr = write_jsonl(tmp_path / "samr.jsonl", [penalty("P-1")])
    assert (
        sc(
            env, "ingest", str(samr), "--source", "samr", "--as-of", "2026-02-01", cwd=tmp_path
        ).returncode
        == 0
    )
    file = json.loads(sc(env, "file", ORG, "--as-of", "2026-03-01", cwd=tmp_path).stdout)
    (listing,) = file["listings"]
    assert listing["list"] == "serious_illegal_dishonest" and listing["status"] == "active"
    r = sc(
        env,
        "objection",
        "file",
        ORG,
        "--listing",
        listing["id"],
        "--grounds",
        "wrong firm",
        "--as-of",
        "2026-03-01",
        cwd=tmp_path,
    )
    filed = json.loads(r.stdout)
    assert filed["status"] == "open" and filed["deadline"]
    r = sc(env, "objection", "list", "--as-of", "2026-03-30", "--json", cwd=tmp_path)
    (waiting,) = json.loads(r.stdout)["objections"]
    assert waiting["id"] == filed["id"] and waiting["overdue"] is True
    r = sc(
        env,
        "objection",
        "decide",
        filed["id"],
        "--outcome",
        "rejected",
        "--reason",
        "same registration number",
        "--as-of",
        "2026-03-30",
        cwd=tmp_path,
    )
    assert json.loads(r.stdout)["status"] == "rejected"
    r = sc(
        env,
        "repair",
        "apply",
        ORG,
        "--listing",
        listing["id"],
        "--evidence",
        "fine paid",
        "--as-of",
        "2026-04-01",
        cwd=tmp_path,
    )
    applied = json.loads(r.stdout)
    assert applied["eligible"] is False and applied["reasons"]
    r = sc(
        env,
        "repair",
        "decide",
        applied["id"],
        "--approve",
        "--reason",
        "x",
        "--as-of",
        "2026-04-02",
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "ineligible, not pending" in r.stderr
    r = sc(
        env, "check", ORG, "exclude_government_procurement", "--as-of", "2026-04-02", cwd=tmp_path
    )
    assert json.loads(r.stdout)["restricted"] is True


def test_audit_export_gives_the_subjects_trail(env: dict[str, str], tmp_path: Path) -> None:
    court = write_jsonl(tmp_path / "court.jsonl", [judgment(), judgment("X-2", PERSON)])
    sc(env, "ingest", str(court), "--source", "court", "--as-of", "2026-02-01", cwd=tmp_path)
    r = sc(env, "audit", "export", "--subject", ORG, cwd=tmp_path)
    trail = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["type"] for e in trail] == [
        "subject-registered",
        "record-accepted",
        "listing-proposed",
        "listing-notified",
        "grade-assigned",
        "grade-assigned",
    ]  # samr_risk and tax_credit, event-driven    assert all(e["hash_verified"] for e in trail)
    assert PERSON not in r.stdout and "P-" not in json.dumps([e["payload"] for e in trail])


def test_grade_command_explains_the_level(env: dict[str, str], tmp_path: Path) -> None:
    from tests.fixtures.rows import penalty

    samr = write_jsonl(tmp_path / "samr.jsonl", [penalty("P-1", field="environment")])
    sc(env, "ingest", str(samr), "--source", "samr", "--as-of", "2026-02-01", cwd=tmp_path)
    r = sc(env, "grade", ORG, "--method", "samr_risk", "--as-of", "2026-02-01", cwd=tmp_path)
    g = json.loads(r.stdout)
    assert g["method"] == "samr_risk" and g["level"] == "C" and g["points"] < 85
    (factor,) = g["factors"]
    assert factor["record"] == "samr/P-1" and factor["rule"] == "serious_penalty"
    assert factor["points"] < 0 and factor["legal_basis"]
    assert g["to_improve"]["level"] == "B" and g["to_improve"]["on"]
    r = sc(env, "grade", ORG, "--method", "social_score", cwd=tmp_path)
    assert r.returncode == 2 and "unknown grading method" in r.stderr
    file = json.loads(sc(env, "file", ORG, "--as-of", "2026-02-01", cwd=tmp_path).stdout)
    assert {x["method"] for x in file["grades"]} == {"samr_risk", "tax_credit"}


def test_a_source_token_is_revoked_by_its_id(env: dict[str, str], tmp_path: Path) -> None:
    """A leaked token is revoked from the command line by the id `sources tokens` shows (the
    token itself was shown once); the API refuses it at once, the other token still works."""
    from fastapi.testclient import TestClient

    from socialcredit.api.app import create_app
    from socialcredit.bootstrap import Registry
    from socialcredit.config import Settings

    r = sc(env, "sources", "token", "court", "--label", "old gateway", cwd=tmp_path)
    leaked = r.stdout.strip()
    kept = sc(
        env, "sources", "token", "court", "--label", "new gateway", cwd=tmp_path
    ).stdout.strip()
    listing = sc(env, "sources", "tokens", cwd=tmp_path).stdout
    assert "old gateway" in listing and "new gateway" in listing
    import hashlib

    token_id = hashlib.sha256(leaked.encode()).hexdigest()[:12]
    assert token_id in listing
    r = sc(env, "sources", "revoke", token_id, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"id": token_id, "source": "court", "label": "old gateway"}
    r = sc(env, "sources", "revoke", token_id, cwd=tmp_path)
    assert r.returncode == 2 and "already revoked" in r.stderr
    r = sc(env, "sources", "revoke", "not-a-token", cwd=tmp_path)
    assert r.returncode == 2

    reg = Registry(Settings.from_env(env))
    try:
        with TestClient(create_app(reg)) as http:
            body = {"rows": [judgment()]}
            refused = http.post(
                "/v1/records", json=body, headers={"Authorization": f"Bearer {leaked}"}
            )
            assert refused.status_code == 401
            ok = http.post("/v1/records", json=body, headers={"Authorization": f"Bearer {kept}"})
            assert ok.status_code == 200, ok.text
    finally:
        reg.close()
