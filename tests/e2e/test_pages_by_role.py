"""Every signed-in page against every role, over HTTP: a role the page is not for is sent to
sign in (303) before anything is read or written, and the matrix must name every such page."""

from __future__ import annotations

import httpx
import pytest

from socialcredit.api.app import create_app
from socialcredit.bootstrap import Registry
from socialcredit.services import audit, ingest
from socialcredit.services.access import create_principal
from socialcredit.web.session import COOKIE
from tests.fixtures.app_routes import routes
from tests.fixtures.rows import ORG, judgment, numbered

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

STAFF = {"source", "reviewer", "agency", "auditor"}
#: (method, path) -> the roles the page serves
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("GET", "/console"): STAFF,
    ("POST", "/console/upload"): {"source"},
    ("GET", "/console/uploads/{upload_id}/rejects.csv"): {"source"},
    ("POST", "/console/record"): {"source"},
    ("POST", "/console/amend"): {"source"},
    ("POST", "/console/review/{item_id}"): {"reviewer"},
    ("POST", "/console/resolution"): {"reviewer"},
    ("POST", "/console/links/undo"): {"reviewer"},
    ("POST", "/console/merges/{proposal_id}"): {"reviewer"},
    ("POST", "/console/objections/{objection_id}"): {"reviewer", "source"},
    ("GET", "/console/objections/{objection_id}/attachments/{sha256}"): {"reviewer", "source"},
    ("POST", "/console/check"): {"agency"},
    ("GET", "/me"): {"subject"},
    ("GET", "/me/proofs/{seq}"): {"subject"},
    ("POST", "/me/objections"): {"subject"},
    ("POST", "/me/statements"): {"subject"},
    ("POST", "/me/statements/{statement_id}/withdraw"): {"subject"},
    ("GET", "/me/export"): {"subject"},
    ("GET", "/me/calendar.ics"): {"subject"},
    ("POST", "/me/repairs"): {"subject"},
    ("POST", "/me/consents"): {"subject"},
    ("POST", "/me/consents/{consent_id}/revoke"): {"subject"},
    ("GET", "/lender"): {"lender"},
    ("GET", "/lender/reports/{code}"): {"lender"},
    ("GET", "/lender/reports/{code}/pdf"): {"lender"},
}
ROLES = ("public", "source", "reviewer", "agency", "auditor", "subject", "lender")


def sessions(reg: Registry) -> dict[str, str | None]:
    op = "test:operator"
    return {
        "public": None,
        "source": create_principal(reg, "source", "法院录入员", actor=op, source="court")["token"],
        "reviewer": create_principal(reg, "reviewer", "复核员", actor=op)["token"],
        "agency": create_principal(
            reg, "agency", "民航", actor=op, measures=["restrict_air_travel"]
        )["token"],
        "auditor": create_principal(reg, "auditor", "审计", actor=op)["token"],
        "subject": create_principal(reg, "subject", "某公司", actor=op, subject=ORG)["token"],
        "lender": create_principal(reg, "lender", "某银行", actor=op)["token"],
    }


def test_every_page_against_every_role(reg: Registry, server: str) -> None:
    pages = {
        (m, r.path)
        for r in routes(create_app(reg).routes)
        for m in getattr(r, "methods", ()) or ()
        if r.path.startswith(("/console", "/me", "/lender")) and m != "HEAD"
    }
    assert pages == set(ALLOWED), "every signed-in page needs its row in the role matrix"
    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")  # the subject's file
    fact = next(e["seq"] for e in audit.export_subject(reg, ORG) if "fact" in e)
    tokens = sessions(reg)
    for role in ROLES:
        cookies = {COOKIE: tokens[role]} if tokens[role] else {}
        with httpx.Client(base_url=server, cookies=cookies, timeout=30) as http:
            for (method, path), allowed in sorted(ALLOWED.items()):
                url = path.replace("{item_id}", "x").replace("{objection_id}", "x")
                url = url.replace("{consent_id}", "x").replace("{code}", ORG)
                url = url.replace("{proposal_id}", "x").replace("{seq}", str(fact))
                url = url.replace("{statement_id}", "x").replace("{sha256}", "0" * 64)
                data = {"action": "resolve", "outcome": "rejected", "reason": "r"}
                data |= {"target": "x", "grounds": "g", "evidence": "e", "statement": "s"}
                data |= {"lender": "x", "purpose": "loan_application"}
                post = method == "POST"
                files = {"file": ("rows.csv", b"source_record_id\n")} if post else None
                r = http.request(method, url, data=data if post else None, files=files)
                sent_to_sign_in = r.status_code == 303 and r.headers["location"].startswith(
                    "/signin?next="
                )
                assert sent_to_sign_in == (role not in allowed), (role, method, path, r.status_code)
                if role in allowed and "attachments" in path:
                    assert r.status_code == 404, (role, path)  # past the role check: no such
                elif role in allowed and path.startswith("/lender/reports"):
                    # past the role check: without the subject's consent, refused
                    assert r.status_code == 403, (role, path)
                elif role in allowed:
                    # past the role check: a form without its token is refused, a page is shown
                    assert r.status_code == (200 if method == "GET" else 403), (role, path)
