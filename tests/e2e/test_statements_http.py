"""The subject's statement beside an entry, over real HTTP on both databases: shown on the
public profile, the credit report (HTML and PDF) and the lender's report, marked as the
subject's; checked like any input; refused by a reviewer with a reason the subject is told;
withdrawn; kept out of the public view once the entry leaves it; rebuilt from the log."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from pypdf import PdfReader

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import audit, ingest
from socialcredit.services.access import create_principal
from tests.fixtures.rows import ORG, PERSON, numbered, penalty

pytestmark = pytest.mark.e2e

OP = "test:operator"
SAID = "罚款已于2026年2月1日缴清，行政复议仍在审理中。"


def client(server: str, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server, timeout=30, headers=headers)


def test_a_statement_is_shown_wherever_its_entry_is(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    ingest.ingest(reg, numbered([penalty("P-1"), penalty("P-2", severity="general")]), "samr",
                  actor="samr")  # fmt: skip
    clock.set(parse_moment("2026-03-02"))
    me_tok = create_principal(reg, "subject", "the company", actor=OP, subject=ORG)["token"]
    rev_tok = create_principal(reg, "reviewer", "Reviewer Li", actor=OP)["token"]
    bank = create_principal(reg, "lender", "Example Bank", actor=OP)
    with (
        client(server, me_tok) as me,
        client(server, rev_tok) as rev,
        client(server, bank["token"]) as lender,
        client(server) as public,
    ):
        listing = next(
            x for x in me.get(f"/v1/file/{ORG}").json()["listings"] if x["status"] == "active"
        )
        r = me.post(
            "/v1/statements",
            json={"subject": ORG, "listing_id": listing["id"], "statement": SAID},
        )
        assert r.status_code == 201, r.text
        first = r.json()
        assert first["status"] == "shown" and first["legal_basis"]
        r = me.post(
            "/v1/statements",
            json={"subject": ORG, "record": "samr/P-2", "statement": "Appeal lodged on 3 March."},
        )
        assert r.status_code == 201, r.text
        on_record = r.json()["id"]

        # shown on the public profile (API and page), marked as the subject's
        profile = public.get(f"/v1/subjects/{ORG}").json()
        (shown,) = [x for x in profile["listings"] if x["statement"]]
        assert shown["statement"]["statement"] == SAID and shown["statement"]["by_subject"]
        (rec,) = [x for x in profile["records"] if x["statement"]]
        assert rec["statement"]["statement"] == "Appeal lodged on 3 March."
        page = public.get(f"/org/{ORG}", params={"lang": "zh"}).text
        assert SAID in page and "主体本人的声明" in page
        assert "Appeal lodged on 3 March." in public.get(f"/org/{ORG}/report.html").text
        pdf = public.get(f"/org/{ORG}/report.pdf", params={"lang": "en"})
        assert pdf.status_code == 200
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "Appeal lodged on 3 March." in text

        # and in the lender's report, under the subject's consent
        r = me.post(
            "/v1/consents",
            json={"subject": ORG, "lender": bank["principal_id"], "purpose": "loan_application"},
        )
        assert r.status_code == 201, r.text
        report = lender.get(f"/v1/lending/reports/{ORG}").json()
        assert any((x["statement"] or {}).get("statement") == SAID for x in report["listings"])
        assert any(
            (x["statement"] or {}).get("statement") == "Appeal lodged on 3 March."
            for x in report["records"]
        )

        # checked like any input: too long, another person's number, a telephone number
        for text, why in (
            ("字" * 201, "at most 200"),
            (" ".join(["word"] * 101), "at most 100"),
            (f"The debt is {PERSON}'s, not ours.", "identity number"),
            ("Call 13800138000 for the receipt.", "telephone number"),
            ("我们是汉族和回族员工的企业", "ethnicity"),
        ):
            r = me.post(
                "/v1/statements",
                json={"subject": ORG, "listing_id": listing["id"], "statement": text},
            )
            assert r.status_code == 422 and why in r.json()["message"], (text, r.text)

        # a reviewer refuses one that names a third party; the subject is told why
        assert {s["id"] for s in rev.get("/v1/statements").json()["statements"]} == {
            first["id"],
            on_record,
        }
        r = rev.post(
            f"/v1/statements/{on_record}/refusal", json={"reason": "names a private person"}
        )
        assert r.status_code == 200 and r.json()["status"] == "refused"
        file = me.get(f"/v1/file/{ORG}").json()
        refused = next(s for s in file["statements"] if s["id"] == on_record)
        assert (refused["status"], refused["reason"]) == ("refused", "names a private person")
        assert any(n["kind"] == "statement-refused" for n in file["notices"])
        assert not any(x["statement"] for x in public.get(f"/v1/subjects/{ORG}").json()["records"])

        # a new statement on the listing takes the place of the first; then it is withdrawn
        r = me.post(
            "/v1/statements",
            json={"subject": ORG, "listing_id": listing["id"], "statement": "Paid in full."},
        )
        assert r.json()["replaces"] == first["id"]
        second = r.json()["id"]
        (shown,) = [
            x for x in public.get(f"/v1/subjects/{ORG}").json()["listings"] if x["statement"]
        ]
        assert shown["statement"]["statement"] == "Paid in full."
        clock.set(parse_moment("2026-03-03"))
        assert me.post(f"/v1/statements/{second}/withdrawal").json()["status"] == "withdrawn"
        assert not any(x["statement"] for x in public.get(f"/v1/subjects/{ORG}").json()["listings"])
        # the past is answered as it was
        past = public.get(f"/v1/subjects/{ORG}", params={"as_of": "2026-03-02T12:00"}).json()
        assert any(x["statement"] for x in past["listings"])

    assert audit.verify_chain(reg).ok
    assert audit.rebuild(reg) >= 0
    before = audit.fingerprint(reg)
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before


def test_a_copy_of_everything_held_and_the_calendar(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    """PIPL Art. 45 over HTTP: the subject downloads one archive (its file as JSON and as a
    PDF, its log entries with their proofs, its calendar); the delivery is then in its file;
    the calendar feed lists the dates that matter."""
    import zipfile

    import icalendar

    ingest.ingest(reg, numbered([penalty("P-1")]), "samr", actor="samr")
    clock.set(parse_moment("2026-03-02"))
    me_tok = create_principal(reg, "subject", "the company", actor=OP, subject=ORG)["token"]
    with client(server, me_tok) as me, client(server) as public:
        listing = me.get("/v1/me/file").json()["listings"][0]
        me.post(
            "/v1/objections", json={"subject": ORG, "listing_id": listing["id"], "grounds": "x"}
        )
        r = me.get("/v1/me/export")
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            names = set(z.namelist())
            held = json.loads(z.read("file.json"))
            trail = json.loads(z.read("log.json"))
            pdf_text = "".join(
                p.extract_text() for p in PdfReader(io.BytesIO(z.read("file.pdf"))).pages
            )
            cal = icalendar.Calendar.from_ical(z.read("calendar.ics"))
        assert names == {"manifest.json", "file.json", "file.pdf", "log.json", "calendar.ics"}
        assert held["records"][0]["source_record_id"] == "P-1" and held["objections"]
        assert trail and all(e["hash_verified"] for e in trail)
        assert "京朝市监罚〔2026〕12号" in pdf_text
        whats = {str(e.get("categories").cats[0]) for e in cal.walk("VEVENT")}
        assert {"publicity_ends", "listing_ends", "objection_deadline"} <= whats
        # the objection's date names what it disputes, not the objection's internal id
        answer = next(
            str(e.get("summary"))
            for e in cal.walk("VEVENT")
            if str(e.get("categories").cats[0]) == "objection_deadline"
        )
        assert listing["decision_ref"] in answer and "异议" in answer
        assert not any(o["id"] in answer for o in held["objections"])
        # the delivery is on file, with the archive's digest
        copies = [x for x in me.get("/v1/me/file").json()["reads"] if x["kind"] == "copy"]
        assert copies and copies[-1]["why"]["sha256"] == r.headers["x-content-sha256"]
        r = me.get("/v1/me/calendar.ics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
        assert b"BEGIN:VEVENT" in r.content
        assert public.get("/v1/me/export").status_code == 401
