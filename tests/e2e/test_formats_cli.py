"""The national formats from the command line: ``formats list``, ``formats show`` and
``ingest --format auto``, as a clerk would run them (a separate process, real files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from socialcredit.bootstrap import Registry
from tests.e2e.test_story_cli import sc_process

pytestmark = pytest.mark.e2e

PENALTIES = (
    Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "double_publicity_penalty.csv"
)


def test_formats_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    listed = sc_process(env, "formats", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "double_publicity_penalty" in listed.stdout
    shown = sc_process(env, "formats", "show", "double_publicity_penalty", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "罚款金额（万元）" in shown.stdout and "x 10000" in shown.stdout
    unknown = sc_process(env, "formats", "show", "nope", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown format" in unknown.stderr

    r = sc_process(
        env,
        "ingest",
        str(PENALTIES),
        "--source",
        "samr",
        "--format",
        "auto",
        "--json",
        "--no-resolve",
        "--as-of",
        "2026-02-01",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert (summary["accepted"], summary["rejected"]) == (3, 1)
    # each problem by the source's own column and the row the source sees
    assert {(x["field"], x["row"]) for x in summary["rejects"]} == {("处罚决定日期", 7)}

    exported = sc_process(
        env,
        "export",
        "--format",
        "double_publicity_penalty",
        "--out",
        str(tmp_path / "out"),
        "--as-of",
        "2026-02-01",
        cwd=tmp_path,
    )
    assert exported.returncode == 0, exported.stderr
    result = json.loads(exported.stdout)
    # of the three accepted penalties, the two organisations': the person's warning is not
    # public (a person is published only while on a black list)
    assert (result["written"], result["persons_masked"], result["left_out"]) == (2, 0, 0), result
    text = (tmp_path / "out" / "double_publicity_penalty.csv").read_text("utf-8-sig")
    assert text.startswith("行政相对人名称,行政相对人类别,") and "京朝市监罚〔2026〕101号" in text
    bad = sc_process(env, "export", "--format", "nope", "--out", str(tmp_path), cwd=tmp_path)
    assert bad.returncode == 2 and "unknown format 'nope'" in bad.stderr


def test_a_national_format_file_over_http(reg: Registry, server: str) -> None:
    """POST /v1/uploads: the file's bytes as the body, its name and format in the query."""
    import httpx

    from socialcredit.services.sources import issue_token

    token = issue_token(reg, "samr", label="samr system", actor="op")
    auth = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server, timeout=60, headers=auth) as client:
        r = client.post(
            "/v1/uploads",
            params={"file_name": "处罚.csv", "format": "auto"},
            content=PENALTIES.read_bytes(),
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["format"] == "double_publicity_penalty" and body["accepted"] == 3
        assert {x["field"] for x in body["rejects"]} == {"处罚决定日期"}
        bad = client.post("/v1/uploads", params={"file_name": "x.xlsx"}, content=b"not excel")
        assert bad.status_code == 422 and "Excel" in bad.json()["message"]
        assert (
            client.post("/v1/uploads", params={"file_name": "x.exe"}, content=b"x").status_code
            == 422
        )


def test_a_national_format_file_through_the_console(reg: Registry, server: str) -> None:
    import re

    import httpx

    from socialcredit.services.access import create_principal

    password = "pearl lantern orbit"
    create_principal(
        reg,
        "source",
        "市场监管录入员",
        actor="op",
        source="samr",
        username="samr",
        password=password,
    )
    with httpx.Client(base_url=server, timeout=60) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text)
        assert token
        signed = client.post(
            "/signin", data={"username": "samr", "password": password, "csrf": token.group(1)}
        )
        assert signed.status_code == 303
        console = client.get("/console")
        assert "双公示" in console.text  # the format is offered
        csrf = re.search(r'name="csrf" value="([^"]+)"', console.text)
        assert csrf
        r = client.post(
            "/console/upload",
            data={"csrf": csrf.group(1), "format": "auto"},
            files={"file": ("处罚.csv", PENALTIES.read_bytes(), "text/csv")},
        )
        assert r.status_code == 200, r.text[:500]
        assert "处罚决定日期" in r.text  # rejects by the file's columns
