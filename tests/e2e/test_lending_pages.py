"""Credit sharing in a real browser: a company consents on its portal page, the lender reads the
report page and downloads it as a PDF, the company sees the read and revokes, and the lender's
next attempt is refused."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from pypdf import PdfReader

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import ingest
from socialcredit.services.access import create_principal
from tests.e2e.conftest import axe_violations
from tests.fixtures.rows import ORG, numbered, payment

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]
PASSWORD = "correct horse battery"


def sign_in(page: Any, username: str) -> None:
    page.goto("/signin?lang=en")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_consent_report_pdf_and_revocation_in_the_browser(
    page: Any, reg: Registry, clock: FixedClock
) -> None:
    op = "test:admin"
    create_principal(reg, "lender", "Example Bank", actor=op, username="bank", password=PASSWORD)
    create_principal(
        reg, "subject", "the company", actor=op, subject=ORG, username="co", password=PASSWORD
    )
    clock.set(parse_moment("2026-03-01T09:00"))
    rows = [payment("SI-1", "2025-12"), payment("SI-2", "2026-01", paid="late", days_late=9)]
    assert ingest.ingest(reg, numbered(rows), "hrss", actor="hrss").accepted == 2

    sign_in(page, "bank")
    page.wait_for_url("**/lender")
    assert "No subject has consented to you yet." in page.inner_text("main")
    page.goto(f"/lender/reports/{ORG}")
    assert "no valid consent" in page.inner_text("main")
    page.get_by_role("button", name="Sign out (Example Bank)").click()

    sign_in(page, "co")
    page.wait_for_url("**/me")
    page.get_by_label("Lender").select_option(label="Example Bank")
    page.get_by_label("Purpose").select_option(label="Assessing a loan application")
    page.get_by_role("button", name="Consent", exact=True).click()
    page.wait_for_url("**/me?done=consent#consents")
    assert "Your consent is recorded." in page.inner_text("main")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Sign out (the company)").click()

    sign_in(page, "bank")
    page.wait_for_url("**/lender")
    page.get_by_role("link", name="Read the report").click()
    page.wait_for_url(f"**/lender/reports/{ORG}")
    main = page.inner_text("main")
    assert "Lender's credit report" in main and "Payment behaviour" in main
    assert "缴费凭证 SI-2" in main
    assert axe_violations(page) == []
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download this report (PDF)").click()
    pdf = PdfReader(io.BytesIO(Path(dl.value.path()).read_bytes()))
    text = "".join(p.extract_text() for p in pdf.pages)
    assert "Lender's credit report" in text and "Example Bank" in text
    # the paper can be checked: its number, full digest and seal (and the QR code of the
    # address that checks them) say whether the registry sealed it
    flat = re.sub(r"\s", "", text)
    report_id = re.search(r"Report(R[0-9a-f]{31})", flat)
    digest = re.search(r"SHA-256([0-9a-f]{64})", flat)
    seal = re.search(r"seal([A-Za-z0-9]{16,64})·verify", flat)
    assert report_id and digest and seal, flat[:400]
    qr_segments = len(re.findall(rb" l\n", pdf.pages[0].get_contents().get_data()))
    assert qr_segments > 150
    ok = {"report": report_id[1], "sha256": digest[1], "mac": seal[1]}
    page.goto(f"/report/verify/lender?{urlencode(ok)}")
    main = page.inner_text("main")
    assert "Genuine" in main and "Example Bank" not in main and "北京" not in main
    assert axe_violations(page) == []
    page.goto(f"/report/verify/lender?{urlencode({**ok, 'sha256': '0' * 64})}")
    assert "Not genuine" in page.inner_text("main")
    page.goto("/lender")
    page.get_by_role("button", name="Sign out (Example Bank)").click()

    sign_in(page, "co")
    page.wait_for_url("**/me")
    reads = page.locator("#reads + table tbody tr")
    kinds = [reads.nth(i).inner_text() for i in range(reads.count())]
    assert sum("Lender: Example Bank" in k and "a lender's report" in k for k in kinds) == 2
    assert not any("lender-report" in k or "loan_application" in k for k in kinds)
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_url("**/me?done=revoked#consents")
    assert "revoked" in page.locator("#consents + table").inner_text()
    page.get_by_role("button", name="Sign out (the company)").click()

    sign_in(page, "bank")
    page.goto(f"/lender/reports/{ORG}")
    assert "no valid consent" in page.inner_text("main")
