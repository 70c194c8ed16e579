"""`socialcredit stats`, `backup` and `restore` as an operator runs them, as separate
processes: back up, restore into a new empty database, and the counts agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_story_cli import sc_process, write_jsonl
from tests.fixtures.rows import PERSON, judgment

pytestmark = pytest.mark.e2e


def test_backup_and_restore_from_the_command_line(
    env: dict[str, str], tmp_path: Path, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the services' tests cover PostgreSQL; one database is enough here")
    rows = write_jsonl(tmp_path / "court.jsonl", [judgment("BJ-1"), judgment("BJ-2", PERSON)])
    ran = sc_process(
        env, "ingest", str(rows), "--source", "court", "--as-of", "2026-02-01", cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr
    before = sc_process(env, "stats", "--as-of", "2026-03-01", cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    counts = json.loads(before.stdout)
    assert counts["subjects"] == 2 and counts["records"] == 2 and counts["events"] > 4
    assert counts["listings_active"] == counts["listings_active_by_list"].get(
        "dishonest_judgment_debtors", 0
    )
    early = json.loads(sc_process(env, "stats", "--as-of", "2026-01-01", cwd=tmp_path).stdout)
    assert early["subjects"] == 0 and early["events"] == 0

    path = tmp_path / "registry.scbak"
    ran = sc_process(env, "backup", str(path), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["events"] == counts["events"]

    other = {**env, "SOCIALCREDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    ran = sc_process(other, "restore", str(path), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["chain_ok"] is True
    after = json.loads(sc_process(other, "stats", "--as-of", "2026-03-01", cwd=tmp_path).stdout)
    assert after == counts
    again = sc_process(other, "restore", str(path), cwd=tmp_path)
    assert again.returncode == 2 and "already holds events" in " ".join(again.stderr.split())
    missing = sc_process(other, "restore", str(tmp_path / "nope.scbak"), cwd=tmp_path)
    assert missing.returncode == 2 and "no such backup file" in " ".join(missing.stderr.split())
