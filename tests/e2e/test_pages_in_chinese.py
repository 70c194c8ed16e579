"""Every label a reader sees comes from the catalogue or the pack's names: the pages rendered
in Chinese show no identifier of the code (``in_force``, ``court_judgment``,
``dishonest_judgment_debtors``) and no English sentence, for the public, the subject, a
reviewer, an agency and a lender, over a registry with listings, objections, statements,
grades and reads, and the source's forms, whose fields and values the pack labels."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from socialcredit.api.app import create_app
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import checks, ingest, listings, objections, statements, subjects
from socialcredit.services.access import create_principal
from socialcredit.web.session import COOKIE
from tests.fixtures.rows import ORG, ORG2, PERSON, judgment, numbered, penalty, tax_rating

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

IDENTIFIER = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
# the registry's own ids of listings, objections, queue items, repairs and statements
INTERNAL_ID = re.compile(r"\b[LOQRS][0-9a-f]{31}\b")
ENGLISH = re.compile(r"\b[A-Za-z]{3,}(?: [a-z]{2,}){3,}\b")  # four English words in a row


def visible(page: str) -> str:
    page = re.sub(r"(?s)<(script|style|pre)[^>]*>.*?</\1>", " ", page)
    page = re.sub(r"(?s)<[^>]+>", " ", page)
    return html.unescape(page)


def test_pages_in_chinese_show_no_identifier_and_no_english(
    reg: Registry, clock: FixedClock
) -> None:
    ingest.ingest(
        reg,
        numbered([judgment(), judgment("J2", PERSON, conduct="evades_enforcement")]),
        "court",
        actor="court",
    )
    ingest.ingest(
        reg, numbered([penalty("P-1"), penalty("P-2", ORG2, severity="general")]), "samr",
        actor="samr",
    )  # fmt: skip
    ingest.ingest(reg, numbered([tax_rating("T-1")]), "tax", actor="tax")
    # a row without a code, which waits for a reviewer with the resolution's reasons
    codeless = penalty("P-Q", "", subject_legacy_code="87988293-9")
    queued = ingest.ingest(reg, numbered([codeless]), "samr", actor="samr")
    assert queued.queued == 1
    clock.set(parse_moment("2026-03-02T09:00"))
    listings.advance(reg, "sweep")
    op = "test:operator"
    tokens = {
        "subject": create_principal(reg, "subject", "某公司", actor=op, subject=ORG)["token"],
        "reviewer": create_principal(reg, "reviewer", "复核员", actor=op)["token"],
        "source": create_principal(reg, "source", "录入员", actor=op, source="court")["token"],
        "agency": create_principal(
            reg, "agency", "民航", actor=op, measures=["restrict_air_travel"]
        )["token"],
        "lender": create_principal(reg, "lender", "某银行", actor=op)["token"],
    }
    checks.answer(reg, ORG, "restrict_air_travel", reader="agency:民航")
    lid = subjects.subject_file(reg, ORG)["listings"][0]["id"]
    person_lid = subjects.subject_file(reg, PERSON)["listings"][0]["id"]
    objections.file_objection(reg, ORG, listing_id=lid, grounds="已履行", actor="s")
    statements.file_statement(reg, ORG, listing_id=lid, text="判决已全部履行", actor="s")
    pages = {
        None: [
            "/",
            f"/org/{ORG}",
            f"/org/{ORG}/report.html",
            "/transparency",
            "/supervision",
            "/check",
            f"/check?subject={ORG}&measure=restrict_air_travel",
            "/open-data/",
            "/search?q=北京",
            "/report/verify",
            "/log",
            f"/listing/{person_lid}",
            "/signin",
        ],
        "subject": ["/me"],
        "reviewer": ["/console"],
        "source": ["/console"],
        "agency": ["/console"],
        "lender": ["/lender"],
    }
    # every record type's form, by a clerk of a source competent for it
    for sid, src in reg.pack.sources.items():
        tokens[f"source:{sid}"] = create_principal(
            reg, "source", f"{sid} 录入员", actor=op, source=sid
        )["token"]
        pages[f"source:{sid}"] = [f"/console?type={rt}" for rt in src.competent_for]
    with TestClient(create_app(reg)) as client:
        for role, paths in pages.items():
            cookies = {COOKIE: tokens[role]} if role else {}
            for path in paths:
                client.cookies.clear()
                for k, v in cookies.items():
                    client.cookies.set(k, v)
                url = path + ("&" if "?" in path else "?") + "lang=zh"
                r = client.get(url, follow_redirects=False)
                assert r.status_code == 200, (role, path)
                text = visible(r.text)
                assert not IDENTIFIER.findall(text), (role, path, IDENTIFIER.findall(text))
                assert not ENGLISH.findall(text), (role, path, ENGLISH.findall(text))
                assert not INTERNAL_ID.findall(text), (role, path, INTERNAL_ID.findall(text))
