"""Due process over real HTTP, stepping through time; and every endpoint against every role."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest

from socialcredit.api.app import create_app
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import audit, ingest, listings, opendata
from socialcredit.services.access import create_principal
from socialcredit.services.reads import public_reads
from socialcredit.services.sources import issue_token
from tests.fixtures.app_routes import routes
from tests.fixtures.rows import ORG, ORG2, ORG_NAME, judgment, numbered, penalty

pytestmark = pytest.mark.e2e


def accounts(reg: Registry) -> dict[str, str | None]:
    """One credential per role: the smallest set the matrix needs."""
    op = "test:operator"
    return {
        "public": None,
        "source": issue_token(reg, "court", "court gateway", op),
        "samr": issue_token(reg, "samr", "samr gateway", op),
        "agency": create_principal(
            reg, "agency", "CAAC", actor=op, measures=["restrict_air_travel"]
        )["token"],
        "reviewer": create_principal(reg, "reviewer", "Reviewer Wang", actor=op)["token"],
        "subject": create_principal(reg, "subject", "the company", actor=op, subject=ORG)["token"],
        "other_subject": create_principal(reg, "subject", "another", actor=op, subject=ORG2)[
            "token"
        ],
        "auditor": create_principal(reg, "auditor", "Audit office", actor=op)["token"],
        "lender": create_principal(reg, "lender", "Example Bank", actor=op)["token"],
    }


def client(server: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server, timeout=30, headers=headers)


def test_due_process_scenarios_over_http(reg: Registry, clock: FixedClock, server: str) -> None:
    tok = accounts(reg)
    ingest.ingest(reg, numbered([judgment(), judgment("J-2", ORG2)]), "court", actor="court")
    ingest.ingest(reg, numbered([penalty("P-1", ORG2)]), "samr", actor="samr")
    clock.set(parse_moment("2026-03-02"))
    listings.advance(reg, "sweep")
    with (
        client(server, tok["subject"]) as me,
        client(server, tok["agency"]) as caac,
        client(server, tok["reviewer"]) as rev,
        client(server, tok["source"]) as court,
        client(server, tok["other_subject"]) as other,
    ):
        file = me.get(f"/v1/file/{ORG}").json()
        (listing,) = file["listings"]
        assert caac.get(
            "/v1/checks", params={"subject": ORG, "measure": "restrict_air_travel"}
        ).json()["restricted"]
        # an objection decided "corrected" ends the listing; the next check says allowed
        r = me.post(
            "/v1/objections",
            json={
                "subject": ORG,
                "listing_id": listing["id"],
                "grounds": "paid in full on 20 February",
                "attachments": [
                    {
                        "name": "receipt.pdf",
                        "content_base64": base64.b64encode(b"%PDF-1.4 receipt").decode(),
                    }
                ],
            },
        )
        assert r.status_code == 201, r.text
        oid = r.json()["id"]
        assert rev.get("/v1/objections").json()["objections"][0]["id"] == oid
        (att,) = rev.get("/v1/objections").json()["objections"][0]["attachments"]
        assert att["name"] == "receipt.pdf" and att["size"] == 16
        # the evidence is seen by those who decide: a download, checked against its digest,
        # and a read of the subject's file
        url = f"/v1/objections/{oid}/attachments/{att['sha256']}"
        r = rev.get(url)
        assert r.status_code == 200 and r.content == b"%PDF-1.4 receipt"
        assert r.headers["content-type"] == "application/pdf"
        assert r.headers["content-disposition"].startswith('attachment; filename="receipt.pdf"')
        assert r.headers["x-content-type-options"] == "nosniff"
        assert court.get(url).status_code == 200  # the court decides it: its record
        assert other.get(url).status_code == 404  # another subject learns nothing
        assert caac.get(url).status_code == 403
        assert any(
            x["kind"] == "evidence" and x["why"]["objection_id"] == oid
            for x in me.get(f"/v1/file/{ORG}").json()["reads"]
        )
        r = me.post(
            "/v1/objections",
            json={
                "subject": ORG,
                "record": "court/BJ-2026-0001",
                "grounds": "x",
                "attachments": [{"name": "a", "content_base64": "!!"}],
            },
        )
        assert r.status_code == 422 and "base64" in r.json()["message"]
        clock.set(parse_moment("2026-03-05"))
        r = court.post(
            f"/v1/objections/{oid}/decision",
            json={"outcome": "corrected", "reason": "payment verified"},
        )
        assert r.status_code == 200, r.text
        assert (
            caac.get(
                "/v1/checks", params={"subject": ORG, "measure": "restrict_air_travel"}
            ).json()["restricted"]
            is False
        )
        # the other company's objection is rejected: the listing stays, with the reasons on file
        lid2 = other.get(f"/v1/file/{ORG2}").json()["listings"]
        court_listing = next(x for x in lid2 if x["list"] == "dishonest_judgment_debtors")
        oid2 = other.post(
            "/v1/objections",
            json={"subject": ORG2, "listing_id": court_listing["id"], "grounds": "cannot pay"},
        ).json()["id"]
        r = court.post(
            f"/v1/objections/{oid2}/decision",
            json={"outcome": "rejected", "reason": "assets were found"},
        )
        assert r.json()["status"] == "rejected"
        f2 = other.get(f"/v1/file/{ORG2}").json()
        assert f2["objections"][0]["reason"] == "assets were found"
        assert caac.get(
            "/v1/checks", params={"subject": ORG2, "measure": "restrict_air_travel"}
        ).json()["restricted"]
        # an objection the source lets run past its deadline is escalated to a reviewer
        samr_listing = next(x for x in lid2 if x["list"] == "serious_illegal_dishonest")
        oid3 = other.post(
            "/v1/objections",
            json={"subject": ORG2, "listing_id": samr_listing["id"], "grounds": "wrong address"},
        ).json()["id"]
        clock.set(parse_moment("2026-04-10"))
        assert listings.advance(reg, "sweep").escalated == 1
        inbox = rev.get("/v1/objections").json()["objections"]
        assert [o["status"] for o in inbox if o["id"] == oid3] == ["escalated"]
        rev.post(
            f"/v1/objections/{oid3}/decision",
            json={"outcome": "rejected", "reason": "address verified on site"},
        )
        # repair refused with a reason, then approved: the next check says allowed
        clock.set(parse_moment("2027-03-10"))
        ingest.ingest(
            reg, numbered([penalty("P-1", ORG2, performed_on="2026-06-01")]), "samr", actor="samr"
        )
        r = other.post(
            "/v1/repairs",
            json={"subject": ORG2, "listing_id": samr_listing["id"], "evidence": "fine paid"},
        )
        assert r.status_code == 201 and r.json()["eligible"], r.text
        rid = r.json()["id"]
        r = rev.post(
            f"/v1/repairs/{rid}/decision", json={"approve": False, "reason": "harm not remedied"}
        )
        assert r.json()["reapply_from"]
        clock.set(parse_moment("2027-06-11"))
        rid2 = other.post(
            "/v1/repairs",
            json={
                "subject": ORG2,
                "listing_id": samr_listing["id"],
                "evidence": "customers refunded",
            },
        ).json()["id"]
        r = rev.post(f"/v1/repairs/{rid2}/decision", json={"approve": True, "reason": "remedied"})
        assert r.json()["listing_ended"]
        samr_agency = create_principal(
            reg, "agency", "Honours office", actor="op", measures=["no_honours"]
        )["token"]
        with client(server, samr_agency) as mof:
            assert (
                mof.get(
                    "/v1/checks",
                    params={"subject": ORG2, "measure": "no_honours"},
                ).json()["restricted"]
                is False
            )
        # the self-view shows who looked: the agency's checks and the reads of the file
        reads = other.get(f"/v1/file/{ORG2}").json()["reads"]
        whos = {(r["who"], r["kind"]) for r in reads}
        assert ("agency:CAAC", "check") in whos and ("agency:Honours office", "check") in whos
        # a subject's account is named by its opaque id, never by a name (purge could not
        # redact an event's actor)
        assert any(w.startswith("subject:U") and k == "file" for w, k in whos)
        assert not any("another" in w for w, _ in whos)


ALLOWED = {
    ("GET", "/v1/checks"): {"agency"},
    ("POST", "/v1/checks"): {"agency"},
    ("POST", "/v1/records"): {"source"},
    ("POST", "/v1/uploads"): {"source"},
    ("GET", "/v1/subjects/{code}"): "everyone",
    ("GET", "/v1/listings/{listing_id}"): "everyone",
    ("GET", "/v1/audit/head"): "everyone",
    ("DELETE", "/v1/sessions"): {"source", "agency", "reviewer", "subject", "auditor", "lender"},
    ("GET", "/v1/lists"): "everyone",
    ("GET", "/v1/search"): "everyone",
    ("GET", "/v1/measures"): "everyone",
    ("GET", "/v1/audit/chain"): "everyone",
    ("GET", "/healthz"): "everyone",
    ("POST", "/v1/sessions"): "everyone",
    ("GET", "/v1/file/{code}"): {"subject", "reviewer", "auditor"},
    ("GET", "/v1/me/file"): {"subject"},
    ("GET", "/v1/me/export"): {"subject"},
    ("GET", "/v1/me/calendar.ics"): {"subject"},
    ("GET", "/v1/audit/export"): {"subject", "auditor"},
    ("GET", "/v1/audit/proofs/{seq}"): {"subject", "auditor"},
    ("POST", "/v1/objections"): {"subject"},
    ("GET", "/v1/objections"): {"reviewer"},
    ("POST", "/v1/objections/{objection_id}/decision"): {"source", "reviewer", "subject"},
    ("GET", "/v1/objections/{objection_id}/attachments/{sha256}"): {
        "source",
        "reviewer",
        "subject",
    },
    ("POST", "/v1/repairs"): {"subject"},
    ("POST", "/v1/repairs/{repair_id}/decision"): {"reviewer"},
    ("POST", "/v1/statements"): {"subject"},
    ("GET", "/v1/statements"): {"reviewer"},
    ("POST", "/v1/statements/{statement_id}/refusal"): {"reviewer"},
    ("POST", "/v1/statements/{statement_id}/withdrawal"): {"subject"},
    ("GET", "/v1/review-queue"): {"reviewer"},
    ("POST", "/v1/review-queue/{item_id}/decision"): {"reviewer"},
    ("POST", "/v1/links/undo"): {"reviewer"},
    ("GET", "/v1/merge-proposals"): {"reviewer"},
    ("POST", "/v1/merge-proposals/{proposal_id}/decision"): {"reviewer"},
    ("POST", "/v1/resolution/run"): {"reviewer"},
    ("GET", "/v1/inspection-plans"): "everyone",
    ("GET", "/v1/inspection-plans/{plan_id}"): "everyone",
    ("GET", "/v1/lenders"): "everyone",
    ("POST", "/v1/consents"): {"subject"},
    ("POST", "/v1/consents/sources"): {"subject"},
    ("GET", "/v1/consents"): {"subject", "lender"},
    ("POST", "/v1/consents/{consent_id}/revoke"): {"subject"},
    ("GET", "/v1/lending/reports/{code}"): {"lender"},
    ("POST", "/v1/lending/scores"): {"lender"},
    ("POST", "/v1/lending/verify"): "everyone",
}
ROLES = ("public", "source", "agency", "reviewer", "subject", "auditor", "lender")


def test_every_endpoint_against_every_role(reg: Registry, clock: FixedClock, server: str) -> None:
    endpoints = {
        (m, r.path)
        for r in routes(create_app(reg).routes)
        for m in getattr(r, "methods", ()) or ()
        if r.path.startswith("/v1") or r.path == "/healthz"
    }
    assert endpoints == set(ALLOWED), "every endpoint needs its row in the role matrix"
    tok = accounts(reg)
    ingest.ingest(reg, numbered([judgment(), penalty("P-1")]), "court", actor="court")
    ingest.ingest(reg, numbered([penalty("P-1")]), "samr", actor="samr")
    clock.set(parse_moment("2026-03-02"))
    with client(server, tok["reviewer"]) as rev:
        lst = rev.get(f"/v1/file/{ORG}").json()["listings"]
    court_lid = next(x["id"] for x in lst if x["list"] == "dishonest_judgment_debtors")
    samr_lid = next(x["id"] for x in lst if x["list"] == "serious_illegal_dishonest")
    with client(server, tok["public"]) as anyone:
        (bank,) = anyone.get("/v1/lenders").json()
    org_fact = next(e["seq"] for e in audit.export_subject(reg, ORG) if "fact" in e)

    def fresh_consent() -> str:
        with client(server, tok["subject"]) as me:
            r = me.post(
                "/v1/consents",
                json={"subject": ORG, "lender": bank["lender"], "purpose": "loan_application"},
            )
            return str(r.json()["consent_id"])

    fresh_consent()  # the lender's standing consent

    def fresh_objection() -> str:
        with client(server, tok["subject"]) as me:
            r = me.post(
                "/v1/objections", json={"subject": ORG, "listing_id": court_lid, "grounds": "x"}
            )
            if r.status_code == 400 or r.status_code == 422:
                open_ = client(server, tok["reviewer"]).get("/v1/objections").json()
                return str(open_["objections"][0]["id"])
            return str(r.json()["id"])

    def request(role: str, method: str, path: str) -> httpx.Response:
        token = tok[role]
        body: dict[str, Any] | None = None
        params: dict[str, str] = {}
        url = path
        if path == "/v1/checks":
            params = {"subject": ORG, "measure": "restrict_air_travel"}
            body = {"measure": "restrict_air_travel", "subjects": [ORG]}
        elif path == "/v1/records":
            body = {"rows": [judgment("M-1")]}
        elif path == "/v1/uploads":
            params = {"file_name": "rows.csv"}
        elif "{code}" in path:
            url = path.replace("{code}", ORG)
        elif path == "/v1/audit/export":
            params = {"subject": ORG}
        elif "{seq}" in path:
            url = path.replace("{seq}", str(org_fact))
        elif path == "/v1/sessions":
            # a name per role: five failures for one name would slow the sixth (429)
            body = {"username": f"nobody-{role}", "password": "not-a-password"}
        elif "{listing_id}" in path:
            url = path.replace("{listing_id}", court_lid)
        elif path == "/v1/objections" and method == "POST":
            body = {"subject": ORG, "listing_id": samr_lid, "grounds": "matrix"}
        elif "{objection_id}" in path:
            url = path.replace("{objection_id}", fresh_objection()).replace("{sha256}", "0" * 64)
            body = {"outcome": "withdrawn" if role == "subject" else "rejected", "reason": "m"}
        elif path == "/v1/repairs" and method == "POST":
            body = {"subject": ORG, "listing_id": samr_lid, "evidence": "paid"}
        elif path == "/v1/statements" and method == "POST":
            body = {"subject": ORG, "listing_id": samr_lid, "statement": "The fine is paid."}
        elif "{statement_id}" in path:
            with client(server, tok["subject"]) as me:
                r = me.post(
                    "/v1/statements",
                    json={"subject": ORG, "listing_id": court_lid, "statement": "Paid."},
                )
            url = path.replace("{statement_id}", r.json()["id"])
            body = {"reason": "names another person"}
        elif path == "/v1/consents" and method == "POST":
            body = {"subject": ORG, "lender": bank["lender"], "purpose": "loan_application"}
        elif path == "/v1/consents/sources":
            body = {"subject": ORG, "source": "hrss", "record_types": ["social_insurance_payment"]}
        elif "{consent_id}" in path:
            url = path.replace("{consent_id}", fresh_consent())
        elif path == "/v1/lending/scores":
            body = {"subject": ORG}
        elif path == "/v1/lending/verify":
            body = {"report_id": "R0", "seal": {"sha256": "0", "mac": "0"}}
        elif "{plan_id}" in path or "{plan_id}" in path:
            url = path.replace("{plan_id}", "2026-Q4")  # none published: 404 for everyone alike
        elif "{item_id}" in path:
            url = path.replace("{item_id}", "Q0")  # no such item: 404 for a reviewer
            body = {"action": "reject", "reason": "m"}
        elif "{proposal_id}" in path:
            url = path.replace("{proposal_id}", "M0")  # no such proposal: 404 for a reviewer
            body = {"action": "keep_apart", "reason": "m"}
        elif path == "/v1/links/undo":
            body = {"record": "court/none", "reason": "m"}  # no such record: 404 for a reviewer
        elif "{repair_id}" in path:
            with client(server, tok["subject"]) as me:
                r = me.post(
                    "/v1/repairs", json={"subject": ORG, "listing_id": samr_lid, "evidence": "x"}
                )
            url = path.replace("{repair_id}", r.json()["id"])
            body = {"approve": False, "reason": "m"}
        with client(server, token) as http:
            if method == "GET":
                return http.get(url, params=params)
            if method == "DELETE":
                return http.delete(url, params=params)
            return http.post(url, params=params, json=body)

    for (method, path), allowed in ALLOWED.items():
        for role in ROLES:
            r = request(role, method, path)
            may = allowed == "everyone" or role in allowed
            if path == "/v1/sessions" and method == "POST":
                assert r.status_code == 401  # a wrong password, for everyone alike
                continue
            if may:
                assert r.status_code not in (401, 403), (method, path, role, r.text)
            else:
                assert r.status_code in (401, 403, 404), (method, path, role, r.status_code)
                assert ORG_NAME not in r.text and not re.search(r"listing_id|records", r.text)
    # a subject speaks only for itself: another subject's file is "not found"
    with client(server, tok["other_subject"]) as other:
        r = other.get(f"/v1/file/{ORG}")
        assert r.status_code == 404 and ORG_NAME not in r.text
        r = other.post(
            "/v1/objections", json={"subject": ORG, "listing_id": court_lid, "grounds": "x"}
        )
        assert r.status_code == 404


def test_publicity_and_purge_over_http(reg: Registry, clock: FixedClock, server: str) -> None:
    from socialcredit.services import purge
    from tests.fixtures.rows import PERSON

    ingest.ingest(
        reg, numbered([penalty("P-9", severity="minor", field="other")]), "samr", actor="samr"
    )
    person = judgment("BJ-7", PERSON, conduct=None, listing_ref=None)
    ingest.ingest(reg, numbered([person]), "court", actor="court")
    with client(server, None) as public:
        # minor penalty decided 2026-01-10: public until 2026-04-10, not on that day
        r = public.get(f"/v1/subjects/{ORG}", params={"as_of": "2026-04-09T23:59"})
        assert len(r.json()["records"]) == 1
        r = public.get(f"/v1/subjects/{ORG}", params={"as_of": "2026-04-10"})
        assert r.json()["records"] == []
        # a person who is on no list does not appear publicly at all
        assert public.get(f"/v1/subjects/{PERSON}").status_code == 404
        clock.set(parse_moment("2036-02-01"))
        assert purge.purge(reg, actor="system:purge").subjects == 1
        chain = public.get("/v1/audit/chain").json()
        assert chain["ok"] is True and chain["events_checked"] > 5


def test_a_person_signs_in_and_reads_only_their_own_file(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    from tests.fixtures.rows import PERSON

    ingest.ingest(
        reg,
        numbered([judgment("BJ-7", PERSON, conduct="evades_enforcement")]),
        "court",
        actor="court",
    )
    create_principal(
        reg,
        "subject",
        "Zhang San",
        actor="op",
        subject=PERSON,
        username="zhangsan",
        password="a long pass phrase",
    )
    with client(server, None) as anon:
        assert (
            anon.post(
                "/v1/sessions", json={"username": "zhangsan", "password": "wrong pass phrase"}
            ).status_code
            == 401
        )
        r = anon.post(
            "/v1/sessions", json={"username": "zhangsan", "password": "a long pass phrase"}
        )
        assert r.status_code == 200 and r.json()["role"] == "subject"
        session = r.json()["token"]
    with client(server, session) as me:
        # the number never goes in a URL; the subject reads its own file at /v1/me/file, staff
        # by the subject id
        assert me.get(f"/v1/file/{PERSON}").status_code == 422
        file = me.get("/v1/me/file").json()
        assert file["subject"] == "**************002X" and file["listings"]
        by_id = me.get(f"/v1/file/{reg.protector.subject_key(PERSON)}").json()
        assert by_id["subject"] == file["subject"] and by_id["listings"] == file["listings"]
        assert me.get(f"/v1/file/{ORG}").status_code == 404
    # the public reads a listed person's profile (active from 1 March); the person sees it
    clock.set(parse_moment("2026-03-05"))
    (listing,) = [x for x in opendata.public_listings(reg) if x["subject_kind"] == "person"]
    with client(server, None) as anon:
        # never by number (the same 404 for every number); from the list, by its listing
        assert anon.get(f"/v1/subjects/{PERSON}").status_code == 404
        assert anon.get(f"/v1/listings/{listing['listing_id']}").status_code == 200
        session = anon.post(
            "/v1/sessions", json={"username": "zhangsan", "password": "a long pass phrase"}
        ).json()["token"]
    public_reads(reg).flush()  # the server's sweep does this every 15 s
    with client(server, session) as me:
        reads = me.get("/v1/me/file").json()["reads"]
        assert ("public", "public-count") in {(x["who"], x["kind"]) for x in reads}
    # a session lasts twelve hours
    clock.set(parse_moment("2026-03-05T12:01"))
    with client(server, session) as me:
        assert me.get("/v1/me/file").status_code == 401
