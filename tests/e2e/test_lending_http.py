"""Credit for financing over real HTTP: consent, the lender's report, reads the subject sees,
revocation, disputes, payment records that need the subject's consent, and scores with reasons."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import ingest
from socialcredit.services.access import create_principal
from socialcredit.services.consents import NO_CONSENT
from socialcredit.services.sources import issue_token
from tests.fixtures.rows import ORG, ORG2, PERSON, numbered, payment

pytestmark = pytest.mark.e2e

OP = "test:operator"

#: An application the German Credit scorecard declines (long, large, no history of repaying).
WEAK_APPLICANT: dict[str, Any] = {
    "status_of_existing_checking_account": "... < 0 DM",
    "duration_in_month": 48,
    "credit_history": "all credits at this bank paid back duly",
    "purpose": "car (new)",
    "credit_amount": 12000,
    "savings_account_and_bonds": "... < 100 DM",
    "present_employment_since": "... < 1 year",
    "installment_rate_in_percentage_of_disposable_income": 4,
    "other_debtors_or_guarantors": "none",
    "property": "unknown / no property",
    "other_installment_plans": "bank",
    "housing": "rent",
}


def client(server: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server, timeout=30, headers=headers)


def months(n: int, start: str = "2024-02") -> list[str]:
    y, m = int(start[:4]), int(start[5:7])
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def test_lender_reads_only_under_consent_and_the_subject_sees_it(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    bank = create_principal(reg, "lender", "Example Bank", actor=OP)
    other_bank = create_principal(reg, "lender", "Other Bank", actor=OP)
    me_tok = create_principal(reg, "subject", "the company", actor=OP, subject=ORG)["token"]
    # 24 months of contributions: 20 on time, 3 late, the last one in arrears
    paid = ["on_time"] * 20 + ["late"] * 3 + ["in_arrears"]
    rows = [
        payment(f"SI-{p}", p, paid=k, days_late=12 if k == "late" else 0)
        for p, k in zip(months(24), paid, strict=True)
    ]
    rows[-1]["decided_on"] = "2026-01-20"  # the arrears of 2026-01, recorded at once
    s = ingest.ingest(reg, numbered(rows), "hrss", actor="hrss")
    assert s.accepted == 24, s.as_dict()
    ingest.ingest(reg, numbered([payment("SI-X", "2025-12", ORG2)]), "hrss", actor="hrss")
    clock.set(parse_moment("2026-02-02T10:00"))

    with (
        client(server, bank["token"]) as lender,
        client(server, other_bank["token"]) as other,
        client(server, me_tok) as me,
        client(server, None) as public,
    ):
        # no consent: 403 and nothing else, the same for a subject that exists or not
        for code in (ORG, ORG2, "91350100M000100Y43", "not-a-code"):
            r = lender.get(f"/v1/lending/reports/{code}")
            assert r.status_code == 403, r.text
            assert r.json()["message"] == NO_CONSENT
            assert "Example" not in r.text and "records" not in r.text
        assert public.get(f"/v1/lending/reports/{ORG}").status_code == 401
        assert me.get(f"/v1/lending/reports/{ORG}").status_code == 403

        lenders = public.get("/v1/lenders").json()
        assert {x["name"] for x in lenders} == {"Example Bank", "Other Bank"}
        r = me.post(
            "/v1/consents",
            json={"subject": ORG, "lender": bank["principal_id"], "purpose": "loan_application"},
        )
        assert r.status_code == 201, r.text
        consent = r.json()
        assert consent["status"] == "active" and consent["grantee_name"] == "Example Bank"
        # a subject cannot consent for another subject, nor beyond the pack's maximum period
        assert (
            me.post(
                "/v1/consents",
                json={
                    "subject": ORG2,
                    "lender": bank["principal_id"],
                    "purpose": "loan_application",
                },
            ).status_code
            == 404
        )
        r = me.post(
            "/v1/consents",
            json={
                "subject": ORG,
                "lender": bank["principal_id"],
                "purpose": "loan_application",
                "until": "2028-01-01",
            },
        )
        assert r.status_code == 422 and "at most 1y" in r.text

        r = lender.get(f"/v1/lending/reports/{ORG}")
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["subject"]["subject"] == ORG
        assert report["consent"]["consent_id"] == consent["consent_id"]
        assert (
            len([x for x in report["records"] if x["record_type"] == "social_insurance_payment"])
            == 24
        )
        by = {(p["record_type"], p["window"]): p for p in report["payment_behaviour"]}
        si12 = by[("social_insurance_payment", "12m")]
        # 12 months back from February 2026: 2025-03 .. 2026-02 -> periods 2025-03 .. 2026-01
        assert (si12["periods"], si12["on_time"], si12["late"], si12["in_arrears"]) == (11, 7, 3, 1)
        assert si12["on_time_share"] == round(7 / 11, 4) and si12["longest_delay_days"] == 12
        si24 = by[("social_insurance_payment", "24m")]
        # 24 months: 2024-03 .. 2026-02, so the first period (2024-02) falls outside
        assert (si24["periods"], si24["on_time"]) == (23, 19)
        assert by[("social_insurance_payment", "36m")]["periods"] == 24
        assert by[("utility_payment", "36m")]["periods"] == 0
        # the report is sealed: it verifies as issued, and not once altered
        v = public.post("/v1/lending/verify", json=report).json()
        assert v["valid"] is True
        forged = {**report, "disputed_records": 0, "records": report["records"][1:]}
        assert public.post("/v1/lending/verify", json=forged).json()["valid"] is False
        # another lender still has no consent
        assert other.get(f"/v1/lending/reports/{ORG}").status_code == 403

        # the subject sees who read its file, when, under which consent and why
        file = me.get(f"/v1/file/{ORG}").json()
        (seen,) = [x for x in file["reads"] if x["kind"] == "lender-report"]
        assert seen["who"] == "lender:Example Bank"
        assert seen["why"]["consent_id"] == consent["consent_id"]
        assert seen["why"]["purpose"] == "loan_application"
        assert seen["why"]["report_id"] == report["report_id"]
        assert [c["consent_id"] for c in file["consents"]] == [consent["consent_id"]]
        assert file["consents"][0]["status"] == "active"
        assert [c["consent_id"] for c in me.get("/v1/consents").json()] == [consent["consent_id"]]
        held = lender.get("/v1/consents").json()
        assert [(c["consent_id"], c["subject"]) for c in held] == [(consent["consent_id"], ORG)]

        # a disputed record is flagged in the lender's report until the objection is decided
        r = me.post(
            "/v1/objections",
            json={"subject": ORG, "record": "hrss/SI-2026-01", "grounds": "paid on 3 February"},
        )
        assert r.status_code == 201, r.text
        report = lender.get(f"/v1/lending/reports/{ORG}").json()
        flagged = [x for x in report["records"] if x["disputed"]]
        assert [x["source_record_id"] for x in flagged] == ["SI-2026-01"]
        assert report["disputed_records"] == 1
        assert flagged[0]["dispute"]["objection_id"] == r.json()["id"]
        assert by[("social_insurance_payment", "12m")]["disputed"] == 0  # before the objection
        again = {(p["record_type"], p["window"]): p for p in report["payment_behaviour"]}
        assert again[("social_insurance_payment", "12m")]["disputed"] == 1

        # an organisation is scored on its file: the inputs are what the report shows
        r = lender.post("/v1/lending/scores", json={"subject": ORG})
        assert r.status_code == 200, r.text
        sc = r.json()
        assert sc["model"] == "registry_smb_v1"
        assert sc["inputs"]["late_payments_12m"] == 3 and sc["inputs"]["arrears_24m"] == 1
        assert sc["score"] == sum(sc["points_by_feature"].values())
        named = {x["feature"] for x in sc["reasons"]}
        assert {"late_payments_12m", "arrears_24m"} <= named

        # revocation holds at once: the very next read is refused
        r = me.post(f"/v1/consents/{consent['consent_id']}/revoke")
        assert r.status_code == 200 and r.json()["status"] == "revoked"
        r = lender.get(f"/v1/lending/reports/{ORG}")
        assert r.status_code == 403 and r.json()["message"] == NO_CONSENT
        assert lender.get("/v1/consents").json()[0]["subject"] is None
        # nobody else may revoke (or learn of) a subject's consent
        assert lender.post(f"/v1/consents/{consent['consent_id']}/revoke").status_code == 403
        reads = [
            x for x in me.get(f"/v1/file/{ORG}").json()["reads"] if x["kind"] == "lender-report"
        ]
        assert len(reads) == 2  # the two reports read under the consent, none after it
        assert lender.post("/v1/lending/scores", json={"subject": ORG}).status_code == 403


def test_objection_decided_clears_the_dispute_flag(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    bank = create_principal(reg, "lender", "Example Bank", actor=OP)
    me_tok = create_principal(reg, "subject", "the company", actor=OP, subject=ORG)["token"]
    hrss_tok = issue_token(reg, "hrss", "hrss gateway", OP)
    clock.set(parse_moment("2026-03-01T09:00"))
    s = ingest.ingest(
        reg, numbered([payment("SI-1", "2026-01", paid="in_arrears")]), "hrss", actor="hrss"
    )
    assert s.accepted == 1, s.as_dict()
    with (
        client(server, bank["token"]) as lender,
        client(server, me_tok) as me,
        client(server, hrss_tok) as hrss,
    ):
        me.post(
            "/v1/consents",
            json={"subject": ORG, "lender": bank["principal_id"], "purpose": "credit_line_review"},
        ).raise_for_status()
        objection = me.post(
            "/v1/objections", json={"subject": ORG, "record": "hrss/SI-1", "grounds": "paid"}
        ).json()
        assert lender.get(f"/v1/lending/reports/{ORG}").json()["disputed_records"] == 1
        r = hrss.post(
            f"/v1/objections/{objection['id']}/decision",
            json={"outcome": "rejected", "reason": "no payment received"},
        )
        assert r.status_code == 200, r.text
        report = lender.get(f"/v1/lending/reports/{ORG}").json()
        assert report["disputed_records"] == 0
        (rec,) = report["records"]
        assert rec["disputed"] is False and rec["fields"]["payment"] == "in_arrears"


def test_personal_payment_records_need_the_persons_consent_and_scores_carry_reasons(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    bank = create_principal(reg, "lender", "Example Bank", actor=OP)
    # a person is registered by a first record that needs no consent
    from tests.fixtures.rows import judgment

    ingest.ingest(
        reg,
        numbered(
            [
                judgment(
                    "J-P",
                    PERSON,
                    status="performed",
                    conduct=None,
                    listing_ref=None,
                    performed_on="2026-01-20",
                )
            ]
        ),
        "court",
        actor="court",
    )
    person_tok = create_principal(reg, "subject", "Zhang San", actor=OP, subject=PERSON)["token"]
    clock.set(parse_moment("2026-03-20T09:00"))
    row = payment("U-1", "2026-01", PERSON, record_type="utility_payment", paid="late", days_late=5)
    s = ingest.ingest(reg, numbered([row]), "utilities", actor="utilities")
    assert s.accepted == 0 and s.rejected == 1
    assert "consent" in s.rejects[0].reason and "utilities" in s.rejects[0].reason
    with client(server, person_tok) as me, client(server, bank["token"]) as lender:
        r = me.post(
            "/v1/consents/sources",
            json={"subject": PERSON, "source": "utilities", "record_types": ["utility_payment"]},
        )
        assert r.status_code == 201, r.text
        # a type that needs no consent, or another source's, is refused with what may be named
        r2 = me.post(
            "/v1/consents/sources",
            json={"subject": PERSON, "source": "court", "record_types": ["court_judgment"]},
        )
        assert r2.status_code == 422
        assert ingest.ingest(reg, numbered([row]), "utilities", actor="utilities").accepted == 1
        me.post(f"/v1/consents/{r.json()['consent_id']}/revoke").raise_for_status()
        row2 = payment("U-2", "2026-02", PERSON, record_type="utility_payment")
        assert ingest.ingest(reg, numbered([row2]), "utilities", actor="utilities").rejected == 1

        # scoring needs the person's consent too; a declined applicant gets the reasons
        body = {"subject": PERSON, "applicant": WEAK_APPLICANT}
        assert lender.post("/v1/lending/scores", json=body).status_code == 403
        me.post(
            "/v1/consents",
            json={"subject": PERSON, "lender": bank["principal_id"], "purpose": "loan_application"},
        ).raise_for_status()
        r = lender.post("/v1/lending/scores", json=body)
        assert r.status_code == 200, r.text
        score = r.json()
        # one month of payments: a thin file is "not enough history", never a low score; the
        # application form the lender sent is not read (the registry's file is)
        assert score["model"] == "registry_person_v1" and score["enough_history"] is False
        assert score["score"] is None and score["approved"] is None
        assert score["history_needed"] == 5 and score["inputs"]["late_payments_12m"] == 1
        assert "Not enough history" in score["reasons"][0]["text"]
        # prohibited data is refused, not silently dropped
        bad = {"subject": PERSON, "applicant": {**WEAK_APPLICANT, "ethnicity": "x"}}
        assert lender.post("/v1/lending/scores", json=bad).status_code == 422
        # the person sees the scoring in its file; the score itself is nowhere in the registry
        file = me.get("/v1/me/file").json()
        assert [x["kind"] for x in file["reads"] if x["who"] == "lender:Example Bank"] == [
            "lending-score"
        ]
        assert "score" not in str([x["why"] for x in file["reads"]]).replace("lending-score", "")
        # the person is named by the subject id its consent lists, never by the number
        assert lender.get(f"/v1/lending/reports/{PERSON}").status_code == 422
        (held,) = [c for c in lender.get("/v1/consents").json() if c["subject"]]
        assert held["subject"].startswith("P-") and PERSON not in str(held)
        report = lender.get(f"/v1/lending/reports/{held['subject']}").json()
        assert report["subject"]["name"] != "张三"  # masked, as everywhere
        assert [
            x["source_record_id"]
            for x in report["records"]
            if x["record_type"] == "utility_payment"
        ] == ["U-1"]


def test_an_actively_listed_dishonest_debtor_is_declined_with_the_listing_first(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    """Whatever its score, an organisation actively on the dishonest judgment debtors' list is
    declined, that listing its first reason with the memorandum that restricts financing; once
    the listing ends, the scorecard alone decides again."""
    from socialcredit.services import listings
    from tests.fixtures.rows import judgment

    bank = create_principal(reg, "lender", "Example Bank", actor=OP)
    me_tok = create_principal(reg, "subject", "the company", actor=OP, subject=ORG)["token"]
    rows = [payment(f"SI-{p}", p) for p in months(24)]  # a spotless payment history
    ingest.ingest(reg, numbered(rows), "hrss", actor="hrss")
    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    clock.set(parse_moment("2026-03-02T09:00"))
    listings.advance(reg, "sweep")
    with client(server, bank["token"]) as lender, client(server, me_tok) as me:
        me.post(
            "/v1/consents",
            json={"subject": ORG, "lender": bank["principal_id"], "purpose": "loan_application"},
        ).raise_for_status()
        r = lender.post("/v1/lending/scores", json={"subject": ORG, "applicant": {}})
        assert r.status_code == 200, r.text
        score = r.json()
        (active,) = [x for x in me.get("/v1/me/file").json()["listings"] if x["status"] == "active"]
        assert score["score"] >= score["cutoff"]  # the scorecard alone would approve it
        assert score["approved"] is False
        assert score["declined_by_listing"] == [active["listing_id"]]
        first = score["reasons"][0]
        assert first["feature"] == "listing" and first["listing_id"] == active["listing_id"]
        assert any("发改财金〔2016〕141号" in c for c in first["legal_basis"])
        assert first["how_to_resolve"] and first["text"]

        ingest.amend(
            reg, "court", "BJ-2026-0001", {"status": "performed", "performed_on": "2026-03-01"},
            actor="court",
        )  # fmt: skip
        after = lender.post("/v1/lending/scores", json={"subject": ORG, "applicant": {}}).json()
        assert after["declined_by_listing"] == []
        assert all(x["feature"] != "listing" for x in after["reasons"])
        assert after["approved"] is (after["score"] >= after["cutoff"])


def register_person(reg: Registry) -> str:
    """PERSON registered by a first record that needs no consent (a performed judgment), and
    the token of the person's own account."""
    from tests.fixtures.rows import judgment

    row = judgment("J-P", PERSON, status="performed", conduct=None, listing_ref=None,
                   performed_on="2026-01-20")  # fmt: skip
    ingest.ingest(reg, numbered([row]), "court", actor="court")
    return str(create_principal(reg, "subject", "Zhang San", actor=OP, subject=PERSON)["token"])


def loan_row(rid: str, period: str, subject: str, **fields: Any) -> dict[str, Any]:
    return {
        "source_record_id": rid,
        "record_type": "loan_performance",
        "subject_id": subject,
        "subject_name": "张三" if subject == PERSON else "北京某某科技有限公司",
        "authority": "某某银行北京分行",
        "decision_ref": f"贷后报告 {rid}",
        "decided_on": f"{period}-28",
        "legal_basis": "《征信业管理条例》第二十九条",
        "status": "recorded",
        "loan_id": "L-2025-001",
        "granted_on": "2025-06-01",
        "amount_yuan": "200000",
        "period": period,
        "performance": "current",
        **fields,
    }


def test_a_lender_furnishes_loan_performance_under_the_persons_consent(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    """The data loop: a lender's system reports, month by month, how a credit it granted is
    repaid; about a person only while the person consents to that lender sharing it, and the
    person sees each report in their file and may object to it like any record."""
    me_tok = register_person(reg)
    bank_system = issue_token(reg, "lenders", "bank gateway", OP)
    clock.set(parse_moment("2026-03-20T09:00"))
    rows = [
        loan_row("L1-2026-01", "2026-01", PERSON),
        loan_row("L1-2026-02", "2026-02", PERSON, performance="past_due", days_past_due=17),
    ]
    with client(server, bank_system) as bank, client(server, me_tok) as me:
        r = bank.post("/v1/records", json={"rows": rows})
        assert r.status_code == 200, r.text
        refused = r.json()
        assert refused["accepted"] == 0 and refused["rejected"] == 2
        assert "consent" in refused["rejects"][0]["reason"]
        me.post(
            "/v1/consents/sources",
            json={"subject": PERSON, "source": "lenders", "record_types": ["loan_performance"]},
        ).raise_for_status()
        r = bank.post("/v1/records", json={"rows": rows})
        assert r.json()["accepted"] == 2, r.text
        file = me.get("/v1/me/file").json()
        mine = [x for x in file["records"] if x["record_type"] == "loan_performance"]
        assert sorted(x["fields"]["performance"] for x in mine) == ["current", "past_due"]
        # a report the person disputes is objected to like any record
        r = me.post(
            "/v1/objections",
            json={"subject": PERSON, "record": "lenders/L1-2026-02", "grounds": "paid on time"},
        )
        assert r.status_code == 201, r.text
        # only the lenders' source furnishes it
        court = issue_token(reg, "court", "court gateway", OP)
        with client(server, court) as c:
            out = c.post("/v1/records", json={"rows": [loan_row("X", "2026-02", ORG)]}).json()
        assert out["accepted"] == 0 and out["rejected"] == 1


def test_a_person_is_scored_on_the_registry_s_file_with_the_loans_lenders_reported(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    """The person's scorecard reads what the registry holds under consent: a year of loan
    performance a lender reported scores; a lender's report of days past due costs points and
    is the first reason; the score, its inputs and the read are the person's to see."""
    me_tok = register_person(reg)
    bank = create_principal(reg, "lender", "Example Bank", actor=OP)
    bank_system = issue_token(reg, "lenders", "bank gateway", OP)
    clock.set(parse_moment("2026-03-20T09:00"))
    periods = months(12, "2025-03")
    with (
        client(server, me_tok) as me,
        client(server, bank_system) as system,
        client(server, bank["token"]) as lender,
    ):
        me.post(
            "/v1/consents/sources",
            json={"subject": PERSON, "source": "lenders", "record_types": ["loan_performance"]},
        ).raise_for_status()
        me.post(
            "/v1/consents",
            json={"subject": PERSON, "lender": bank["principal_id"], "purpose": "loan_application"},
        ).raise_for_status()
        clean = [loan_row(f"L-{p}", p, PERSON) for p in periods]
        assert system.post("/v1/records", json={"rows": clean}).json()["accepted"] == 12
        good = lender.post("/v1/lending/scores", json={"subject": PERSON}).json()
        assert good["enough_history"] is True and good["model"] == "registry_person_v1"
        assert good["score"] == sum(good["points_by_feature"].values())
        assert good["inputs"]["loan_max_days_past_due_24m"] == 0
        # the lender reports three months 75 days past due: the score falls, and says why
        late = [
            loan_row(f"L-{p}", p, PERSON, performance="past_due", days_past_due=75)
            for p in periods[-3:]
        ]
        assert system.post("/v1/records", json={"rows": late}).json()["amended"] == 3
        worse = lender.post("/v1/lending/scores", json={"subject": PERSON}).json()
        assert worse["inputs"]["loan_max_days_past_due_24m"] == 75
        assert worse["score"] < good["score"]
        assert worse["reasons"][0]["feature"] == "loan_max_days_past_due_24m"
        # prohibited data sent along is refused, not silently dropped
        bad = {"subject": PERSON, "applicant": {"religion": "x"}}
        assert lender.post("/v1/lending/scores", json=bad).status_code == 422
        reads = [x for x in me.get("/v1/me/file").json()["reads"] if x["kind"] == "lending-score"]
        assert len(reads) == 2
        # the person sees what lowered the score, never the score or its points
        assert reads[-1]["why"]["reasons"][0] == "loan_max_days_past_due_24m"
        assert str(worse["score"]) not in str(reads[-1]["why"]) and "points" not in str(reads)


def test_a_lender_furnishes_a_file_in_its_own_columns(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    """Loan performance through the formats' machinery: a lender's monthly file with its own
    headers (借据号, 还款状态, 逾期天数, ...) read by the pack's mapping, for a consenting person;
    a status the mapping does not know is the row's problem, named by its column."""
    me_tok = register_person(reg)
    bank_system = issue_token(reg, "lenders", "bank gateway", OP)
    clock.set(parse_moment("2026-03-20T09:00"))
    csv = (
        "借款人名称,证件号码,借款人类型,借据号,发放日期,贷款金额（元）,报告期,还款状态,逾期天数,"
        "报告日期,贷款机构\n"
        f"张三,{PERSON},个人,JJ-1,2025年6月1日,200000,2026-02,逾期,17,2026年3月5日,某某银行\n"
        f"张三,{PERSON},个人,JJ-1,2025年6月1日,200000,2026-01,关注,0,2026年2月5日,某某银行\n"
    ).encode("utf-8-sig")
    with client(server, me_tok) as me, client(server, bank_system) as bank:
        me.post(
            "/v1/consents/sources",
            json={"subject": PERSON, "source": "lenders", "record_types": ["loan_performance"]},
        ).raise_for_status()
        r = bank.post(
            "/v1/uploads",
            params={"file_name": "loans-2026-02.csv", "format": "auto"},
            content=csv,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["format"] == "lender_loan_performance"
        assert out["accepted"] == 1 and out["rejected"] == 1
        assert out["rejects"][0]["field"] == "还款状态" and "关注" in out["rejects"][0]["reason"]
        (mine,) = [
            x for x in me.get("/v1/me/file").json()["records"]
            if x["record_type"] == "loan_performance"
        ]  # fmt: skip
        assert mine["fields"]["performance"] == "past_due"
        assert mine["fields"]["days_past_due"] in (17, "17")
