"""The full lifecycle under each bundled pack: record -> listing -> check -> objection -> exit.

The same story runs under the default pack (China's national rules) and under the EU's Early
Detection and Exclusion System, a second jurisdiction written as pack data alone: its own
identifiers (VAT numbers, read by python-stdnum), language (English only), time zone, calendar
and country. In process, through Typer's CliRunner and the ASGI client, on both databases.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from socialcredit.api.app import create_app
from socialcredit.bootstrap import Registry
from socialcredit.cli import app
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.config import Settings
from socialcredit.policy.load import load_pack
from socialcredit.services.access import create_principal
from socialcredit.services.sources import issue_token
from tests.fixtures.rows import ORG, ORG2, judgment

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Story:
    pack: str
    source: str
    measure: str
    first: str  # a subject that objects
    second: str  # a subject whose listing ends by its record's status
    row: Callable[..., dict[str, Any]]
    exit_row: Callable[[str], dict[str, Any]]
    filed: str  # when the rows are filed
    active: str  # a moment at which their listings apply
    later: str  # the objection, its decision and the exit, in this order from here
    invalid: str  # a code the pack's scheme refuses
    unknown: str  # a valid code of no registered organisation
    languages: tuple[str, ...]
    country: str


def _edes_row(rid: str, subject: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source_record_id": rid,
        "record_type": "exclusion_decision",
        "subject_id": subject,
        "subject_name": "Example Contractor SA" if subject.startswith("BE") else "Beispiel GmbH",
        "authority": "Directorate-General for Budget",
        "decision_ref": f"EDES-2026-{rid}",
        "decided_on": "2026-01-20",
        "legal_basis": "Regulation (EU, Euratom) 2024/2509 Art. 138(1)(c)",
        "status": "in_force",
        "ground": "grave_professional_misconduct",
        "final_judgment": "false",
        "panel_recommendation_ref": f"PANEL-2026-{rid}",
    }
    row.update(extra)
    return row


UK = str(Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "uk-debarment")


def _uk_row(rid: str, subject: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source_record_id": f"D-{rid}",
        "record_type": "debarment_decision",
        "subject_id": subject,
        "subject_name": "Acme Widgets Ltd",
        "authority": "Cabinet Office",
        "decision_ref": f"DL-2026-{rid}",
        "decided_on": "2026-01-15",
        "legal_basis": "Procurement Act 2023 s. 62",
        "status": "in_force",
        "ground": "mandatory",
    }
    row.update(extra)
    return row


STORIES = {
    "cn-national": Story(
        pack="cn-national",
        source="court",
        measure="restrict_air_travel",
        first=ORG,
        second=ORG2,
        row=lambda rid, subject: judgment(f"BJ-{rid}", subject),
        exit_row=lambda subject: judgment(
            "BJ-2", subject, status="performed", performed_on="2026-04-09"
        ),
        filed="2026-02-01T09:00",
        active="2026-03-02T09:00",  # after the month's notice
        later="2026-04-10T10:00",
        invalid="91110000600037341M",
        unknown="91350100M000100Y43",
        languages=("zh", "en"),
        country="cn",
    ),
    "eu-edes": Story(
        pack="eu-edes",
        source="authorising_officers",
        measure="exclude_from_award_procedures",
        first="BE0403170701",
        second="DE136695976",
        row=lambda rid, subject: _edes_row(rid, subject),
        exit_row=lambda subject: _edes_row("2", subject, status="revised", revised_on="2026-04-09"),
        filed="2026-02-01T09:00",
        active="2026-02-01T09:30",  # heard before the decision: no notice period
        later="2026-04-10T10:00",
        invalid="BE0403170702",
        unknown="FR40303265045",
        languages=("en",),
        country="eu",
    ),
    # a six-file pack of a third jurisdiction, numbers read by a pattern (tests/fixtures)
    "uk-debarment": Story(
        pack=UK,
        source="cabinet_office",
        measure="excluded_from_procurement",
        first="09446231",
        second="SC123456",
        row=lambda rid, subject: _uk_row(rid, subject),
        exit_row=lambda subject: _uk_row("2", subject, status="revoked"),
        filed="2026-02-01T09:00",
        active="2026-02-01T09:30",
        later="2026-04-10T10:00",
        invalid="1234567",
        unknown="12345678",
        languages=("en",),
        country="gb",
    ),
}


@pytest.fixture(params=list(STORIES))
def story(request: pytest.FixtureRequest) -> Story:
    return STORIES[request.param]


def _rows(s: Story) -> list[dict[str, Any]]:
    return [s.row("1", s.first), s.row("2", s.second)]


def _later(s: Story, minutes: int) -> str:
    return parse_moment(s.later).replace(minute=minutes).strftime("%Y-%m-%dT%H:%M")


def test_the_lifecycle_through_the_command_line(
    story: Story, env: dict[str, str], tmp_path: Path
) -> None:
    s = story
    clean = {k: None for k in os.environ if k.startswith("SOCIALCREDIT_")}

    def sc(*args: str) -> Any:
        return CliRunner().invoke(
            app, ["--pack", s.pack, *args], env={**clean, **env}, catch_exceptions=False
        )

    def jsonl(name: str, rows: list[dict[str, Any]]) -> str:
        p = tmp_path / name
        p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
        return str(p)

    r = sc("ingest", jsonl("rows.jsonl", _rows(s)), "--source", s.source, "--as-of", s.filed)
    assert r.exit_code == 0, r.stderr
    r = sc(
        "ingest", jsonl("rows2.jsonl", _rows(s)), "--source", s.source, "--as-of", s.filed,
        "--json",
    )  # fmt: skip
    assert json.loads(r.stdout)["unchanged"] == 2

    def check(subject: str, when: str) -> dict[str, Any]:
        r = sc("check", subject, s.measure, "--as-of", when)
        assert r.exit_code == 0, r.stderr
        return json.loads(r.stdout)  # type: ignore[no-any-return]

    answer = check(s.first, s.active)
    assert answer["outcome"] == "restricted", answer
    assert answer["rules"]["pack"] == Path(s.pack).name
    assert set(answer["measure_name"]) == set(s.languages)
    (listing,) = answer["listings"]
    assert listing["legal_basis"]
    assert set(listing["list_name"]) == set(s.languages)
    assert check(s.second, s.active)["outcome"] == "restricted"
    assert check(s.unknown, s.active)["outcome"] == "unknown_subject"
    r = sc("check", s.invalid, s.measure)
    assert r.exit_code == 2 and "not a valid identifier" in r.stderr

    # the first subject objects and the source corrects the listing
    r = sc(
        "objection", "file", s.first, "--listing", listing["listing_id"],
        "--grounds", "the ground was not made out", "--as-of", _later(s, 0),
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    oid = json.loads(r.stdout)["id"]
    r = sc(
        "objection", "decide", oid, "--outcome", "corrected", "--reason", "facts not established",
        "--as-of", _later(s, 1),
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert check(s.first, _later(s, 2))["outcome"] == "allowed"

    # the second subject's record changes status: its listing ends by the pack's exit rule
    r = sc(
        "ingest", jsonl("exit.jsonl", [s.exit_row(s.second)]), "--source", s.source,
        "--as-of", _later(s, 3), "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["listings_ended"] == 1
    assert check(s.second, _later(s, 4))["outcome"] == "allowed"
    assert check(s.second, s.active)["outcome"] == "restricted"  # the past stays as it was

    r = sc("audit", "verify")
    assert r.exit_code == 0 and "chain verified" in r.stdout
    r = sc("rebuild")
    assert r.exit_code == 0 and "NO" not in r.stdout


def test_the_lifecycle_over_http(story: Story, env: dict[str, str]) -> None:
    s = story
    clock = FixedClock(parse_moment(s.filed))
    pack = load_pack(s.pack)
    reg = Registry(Settings.from_env(env), clock=clock, pack=pack)
    tz = reg.tz
    try:
        op = "test:operator"
        source = issue_token(reg, s.source, "gateway", op)
        agency = create_principal(reg, "agency", "Agency", actor=op, measures=[s.measure])
        subject = create_principal(reg, "subject", "the firm", actor=op, subject=s.first)
        with TestClient(create_app(reg)) as http:
            src = {"Authorization": f"Bearer {source}"}
            ag = {"Authorization": f"Bearer {agency['token']}"}
            me = {"Authorization": f"Bearer {subject['token']}"}
            r = http.post("/v1/records", json={"rows": _rows(s)}, headers=src)
            assert r.status_code == 200, r.text
            assert r.json()["listings_notified"] == 2

            def check(code: str) -> dict[str, Any]:
                r = http.get(
                    "/v1/checks", params={"subject": code, "measure": s.measure}, headers=ag
                )
                assert r.status_code == 200, r.text
                return r.json()  # type: ignore[no-any-return]

            clock.set(parse_moment(s.active, tz))
            body = check(s.first)
            assert body["outcome"] == "restricted"
            assert set(body["how_to_resolve"]) == set(s.languages)
            assert body["as_of"].endswith(parse_moment(s.active, tz).strftime("%z")[:3] + ":00")
            r = http.get("/v1/checks", params={"subject": s.invalid, "measure": s.measure},
                         headers=ag)  # fmt: skip
            assert r.status_code == 422 and r.json()["error"] == "invalid_identifier", r.text

            listing = http.get(f"/v1/file/{s.first}", headers=me).json()["listings"][0]
            clock.set(parse_moment(_later(s, 0), tz))
            r = http.post(
                "/v1/objections",
                json={"subject": s.first, "listing_id": listing["id"], "grounds": "not made out"},
                headers=me,
            )
            assert r.status_code == 201, r.text
            oid = r.json()["id"]
            assert check(s.first)["listings"][0]["disputed"] is True
            clock.set(parse_moment(_later(s, 1), tz))
            r = http.post(
                f"/v1/objections/{oid}/decision",
                json={"outcome": "corrected", "reason": "facts not established"},
                headers=src,
            )
            assert r.status_code == 200, r.text
            assert check(s.first)["outcome"] == "allowed"

            clock.set(parse_moment(_later(s, 3), tz))
            r = http.post("/v1/records", json={"rows": [s.exit_row(s.second)]}, headers=src)
            assert r.status_code == 200 and r.json()["listings_ended"] == 1, r.text
            assert check(s.second)["outcome"] == "allowed"

            # the public pages speak the pack's languages, and only them
            page = http.get(f"/org/{s.second}", headers={"Accept-Language": "de, fr"})
            assert page.status_code == 200
            assert page.headers["content-language"].startswith(s.languages[0])
            has_han = any("\u4e00" <= ch <= "\u9fff" for ch in page.text)
            assert has_han == ("zh" in s.languages)
    finally:
        reg.close()


def test_the_open_data_names_the_packs_country(story: Story, env: dict[str, str]) -> None:
    from socialcredit.services import opendata

    s = story
    clock = FixedClock(parse_moment(s.filed))
    reg = Registry(Settings.from_env(env), clock=clock, pack=load_pack(s.pack))
    try:
        from socialcredit.services.ingest import ingest

        ingest(reg, enumerate(_rows(s), start=1), s.source, actor="test")
        clock.set(parse_moment(s.active, reg.tz))
        entities = list(opendata.ftm_entities(reg))
        sanctions = [e for e in entities if e["schema"] == "Sanction"]
        assert sanctions and all(e["properties"]["country"] == [s.country] for e in sanctions)
        firms = [e for e in entities if e["schema"] in ("Company", "Organization")]
        assert firms and all(e["properties"]["jurisdiction"] == [s.country] for e in firms)
    finally:
        reg.close()
