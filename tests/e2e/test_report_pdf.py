"""The credit report's PDF as a printed document: on every page the report and its
verification code at the top and "page N / M" at the bottom, the table's header repeated, the
division named as a place, statuses in the reader's language, a QR code of the verification
address; in Chinese and in English."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from socialcredit.api.app import create_app
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import ingest, reports
from socialcredit.web import i18n
from tests.fixtures.rows import ORG, numbered, penalty

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.mark.parametrize(
    ("lang", "page_word", "status"), [("zh", "页", "生效中"), ("en", "Page", "in force")]
)
def test_every_page_carries_the_report_and_its_number(
    reg: Registry, clock: FixedClock, lang: str, page_word: str, status: str
) -> None:
    first_day = date(2025, 12, 1)
    rows = [
        penalty(
            f"P-{i}",
            severity="general",
            decision_ref=f"京朝市监罚〔2026〕{1000 + i}号",
            decided_on=(first_day + timedelta(days=i)).isoformat(),
        )
        for i in range(40)
    ]
    ingest.ingest(reg, numbered(rows), "samr", actor="samr")
    clock.set(parse_moment("2026-03-01T09:00"))
    code = reports.credit_report(reg, ORG)["verification_code"]
    with TestClient(create_app(reg)) as client:
        r = client.get(f"/org/{ORG}/report.pdf", params={"lang": lang})
    assert r.status_code == 200
    pdf = PdfReader(io.BytesIO(r.content))
    n = len(pdf.pages)
    assert n >= 2, "the test needs a report of several pages"
    for i, page in enumerate(pdf.pages, start=1):
        text = page.extract_text()
        assert code in text, f"page {i} lacks the verification code"
        assert re.search(rf"{page_word}\s*{i}\s*/\s*{n}", text), f"page {i} lacks its number"
    # no row is split across pages: each row's reference is on one page, with its own date
    texts = [re.sub(r"\s", "", p.extract_text()) for p in pdf.pages]
    i18n.use(lang)
    for i in range(40):
        ref = f"京朝市监罚〔2026〕{1000 + i}号"
        day = re.sub(r"\s", "", i18n.fday(first_day + timedelta(days=i)))
        on = [k for k, t in enumerate(texts) if ref in t]
        assert len(on) == 1, f"{ref} is on pages {on}"
        assert day in texts[on[0]], f"the row of {ref} is split from its date {day}"
    first = pdf.pages[0].extract_text()
    assert "北京市" in first.replace(" ", "")  # the division as a place, not 110000 alone
    assert status.replace(" ", "") in re.sub(r"\s", "", first) and "in_force" not in first

    # the QR code is drawn on the first page: its modules are hundreds of line segments more
    # than a page of the table alone has
    def segments(k: int) -> int:
        return len(re.findall(rb" l\n", pdf.pages[k].get_contents().get_data()))

    assert segments(0) > segments(1) + 150


def test_a_report_asked_for_in_the_minute_of_registration(reg: Registry, clock: FixedClock) -> None:
    """Dated to the second: a report asked for seconds after its subject was registered shows
    it (dated to the minute, it read the file before the registration); a code of the old
    form (to the minute) still verifies."""
    clock.set(parse_moment("2026-03-01T09:00:20"))
    ingest.ingest(reg, numbered([penalty("P-1")]), "samr", actor="samr")
    clock.set(parse_moment("2026-03-01T09:00:40"))
    report = reports.credit_report(reg, ORG)
    assert report["records"] and report["verification_code"].split("-")[1] == "20260301090040"
    assert reports.verify(reg, report["verification_code"])["records"]
    stamp = "202603010905"
    old = f"{ORG}-{stamp}-{reg.protector.seal(reports.PURPOSE, f'{ORG}|{stamp}')}"
    clock.set(parse_moment("2026-03-01T10:00"))
    assert reports.verify(reg, old)["issued_at"].startswith("2026-03-01T09:05")
