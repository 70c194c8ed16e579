"""A correction over real HTTP, on both databases: an agency checked the organisation and a
lender read its report; the subject objects and the court corrects the listing. The court was
told of the objection, each earlier reader receives a correction notice at a real SMTP server
or a real webhook receiver, the subject's file names who was told, and a credit report issued
before says "superseded" at /report/verify."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import ingest, notices
from socialcredit.services.access import create_principal
from socialcredit.services.notices import Channels, deliver_due
from socialcredit.services.sources import issue_token
from tests.fixtures.rows import ORG, judgment, numbered
from tests.integration.test_notices import Mailbox, Receiver, smtp, webhook  # noqa: F401

pytestmark = pytest.mark.e2e
OP = "test:operator"


def client(server: str, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server, timeout=30, headers=headers)


def test_a_correction_over_http(
    reg: Registry,
    clock: FixedClock,
    server: str,
    smtp: tuple[Mailbox, int],  # noqa: F811
    webhook: tuple[Receiver, str],  # noqa: F811
) -> None:
    box, port = smtp
    rec, url = webhook
    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    court = issue_token(reg, "court", "court gateway", OP)
    caac = create_principal(reg, "agency", "CAAC", actor=OP, measures=["restrict_air_travel"])
    bank = create_principal(reg, "lender", "Example Bank", actor=OP)
    me = create_principal(reg, "subject", "the company", actor=OP, subject=ORG)
    notices.set_principal_contact(
        reg, caac["principal_id"], email="checks@caac.example", webhook_url=None, actor=OP
    )
    notices.set_principal_contact(reg, bank["principal_id"], email=None, webhook_url=url, actor=OP)
    notices.set_source_contact(
        reg, "court", email="objections@court.example", webhook_url=None, actor=OP
    )
    clock.set(parse_moment("2026-03-02T09:00"))
    with (
        client(server, caac["token"]) as agency,
        client(server, bank["token"]) as lender,
        client(server, me["token"]) as subject,
        client(server, court) as source,
        client(server) as public,
    ):
        r = agency.get("/v1/checks", params={"subject": ORG, "measure": "restrict_air_travel"})
        assert r.json()["restricted"] is True
        r = subject.post(
            "/v1/consents",
            json={"subject": ORG, "lender": bank["principal_id"], "purpose": "loan_application"},
        )
        assert r.status_code == 201, r.text
        assert lender.get(f"/v1/lending/reports/{ORG}").status_code == 200
        page = public.get(f"/org/{ORG}/report.html", params={"lang": "en"}).text
        code = re.search(r"\b" + ORG + r"-\d{14}-[A-Z0-9]+\b", page)
        assert code, "the report shows its verification code"

        clock.set(parse_moment("2026-03-03T09:00"))
        listing = subject.get("/v1/me/file").json()["listings"][0]
        r = subject.post(
            "/v1/objections",
            json={"subject": ORG, "listing_id": listing["id"], "grounds": "paid in full"},
        )
        oid = r.json()["id"]
        clock.set(parse_moment("2026-03-04T09:00"))
        r = source.post(
            f"/v1/objections/{oid}/decision", json={"outcome": "corrected", "reason": "paid"}
        )
        assert r.status_code == 200, r.text

        file = subject.get("/v1/me/file").json()
        (fix,) = file["corrections"]
        assert sorted(fix["told"]) == ["agency:CAAC", "lender:Example Bank"]
        deliver_due(reg, Channels(smtp_host="127.0.0.1", smtp_port=port))
        to = {m["To"]: m for m in box.messages}
        assert "objection-filed" in to["objections@court.example"]["Subject"]
        assert "correction" in to["checks@caac.example"]["Subject"]
        hooks = [json.loads(x["body"]) for x in rec.requests]
        assert [h["kind"] for h in hooks] == ["correction"]

        r = public.get("/report/verify", params={"code": code.group(0), "lang": "en"})
        assert r.status_code == 200 and "Superseded" in r.text
