"""The public portal in a real browser: Debian's Chromium driven by Playwright, against a real
uvicorn server over the test's registry. Accessibility is checked with axe-core on each page."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import ingest
from tests.e2e.conftest import axe_violations
from tests.e2e.test_pages_in_chinese import IDENTIFIER, INTERNAL_ID
from tests.fixtures.rows import ORG, ORG2, ORG_NAME, judgment, numbered, tax_rating

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture
def listed(reg: Registry, clock: FixedClock) -> None:
    """ORG on the dishonest-debtor list (past its notice period) and an A-level taxpayer."""
    ingest.ingest(reg, numbered([judgment(), judgment("BJ-2", ORG2)]), "court", actor="court")
    ingest.ingest(reg, numbered([tax_rating("TAX-1")]), "tax", actor="tax")
    clock.set(parse_moment("2026-03-02T10:00"))


def test_search_profile_and_pdf_report(page: Any, listed: None, reg: Registry) -> None:
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert axe_violations(page) == []

    page.get_by_role("searchbox").fill("某某科技")  # part of the name: results come while typing
    result = page.locator("#results a", has_text=ORG_NAME)
    result.wait_for()
    assert "/search?q=" in page.url  # the address follows the search, so it can be shared
    assert page.locator("#results .tag.black").count() == 1
    result.click()

    page.wait_for_url(f"**/org/{ORG}")
    assert page.locator("h1").inner_text() == ORG_NAME
    black = page.locator("article.listing.black")
    assert "失信被执行人" in black.inner_text()
    assert "（2026）京0105执1234号之一" in black.inner_text()
    assert "如何移出" in black.inner_text()
    assert axe_violations(page) == []

    with page.expect_download() as dl:
        page.get_by_role("link", name="下载信用报告（PDF）").click()
    download = dl.value
    assert download.suggested_filename.startswith(f"credit-report-{ORG}-")
    pdf = pypdf.PdfReader(io.BytesIO(download.path().read_bytes()))
    text = "".join(p.extract_text() for p in pdf.pages).replace(" ", "")
    assert ORG in text and "信用报告" in text and "（2026）京0105执1234号之一" in text

    # the verification code printed in the report shows the same report again
    page.goto(f"/org/{ORG}/report.html")
    code = page.locator(".verify strong").inner_text()
    assert code in text
    page.goto("/report/verify")
    page.get_by_label("验证码").fill(code)
    page.get_by_role("button", name="核验").click()
    assert "真实" in page.locator(".outcome").inner_text()
    assert page.locator("h2", has_text=ORG_NAME).count() == 1
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    page.goto(f"/report/verify?code={forged}")
    assert "没有以此验证码出具的报告" in page.locator(".error").inner_text()


def test_language_switch_and_not_found(page: Any, listed: None) -> None:
    page.goto(f"/org/{ORG}")
    assert page.get_by_role("heading", name="公示期内的记录").count() == 1
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Records within their publicity period").count() == 1
    assert "dishonest judgment debtors" in page.locator("article.listing.black h3").inner_text()
    # the choice is remembered on the next page, although the browser prefers Chinese
    page.goto("/check")
    assert page.get_by_role("heading", name="Point-of-service check").count() == 1
    assert axe_violations(page) == []

    # an unknown or malformed code is a 404 page in the reader's language, never a 500
    r = page.goto("/org/91110000600037341X")
    assert r is not None and r.status == 404
    assert page.locator("h1").inner_text() == "Not found"
    r = page.goto("/org/not-a-code?lang=zh")
    assert r is not None and r.status == 404
    assert page.locator("h1").inner_text() == "未找到"
    assert "统一社会信用代码" in page.locator(".error").inner_text()
    assert axe_violations(page) == []
    r = page.goto("/no/such/page")
    assert r is not None and r.status == 404 and page.locator("h1").inner_text() == "未找到"


def test_check_page_answers_for_organisations(page: Any, listed: None) -> None:
    page.goto(f"/check?subject={ORG}&measure=restrict_air_travel&lang=zh")
    assert "受限" in page.locator(".outcome").inner_text()
    page.goto(f"/check?subject={ORG2}&measure=restrict_air_travel")
    assert "受限" in page.locator(".outcome").inner_text()


def test_open_data_downloads(listed: None, server: str, clock: FixedClock) -> None:
    import csv
    import json

    import httpx

    with httpx.Client(base_url=server, timeout=60) as http:
        r = http.get("/open-data/", headers={"Accept-Language": "en"})
        assert r.status_code == 200 and "listings.csv" in r.text
        manifest = http.get("/open-data/manifest.json").json()
        assert manifest["day"] == "2026-03-02"
        rows = {f["name"]: f["rows"] for f in manifest["files"]}
        assert rows["listings.csv"] == 3  # two judgment debtors and one A-level taxpayer

        r = http.get("/open-data/listings.csv")
        assert r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith("\ufeff".encode())
        table = list(csv.DictReader(r.content.decode("utf-8-sig").splitlines()))
        assert {(x["subject"], x["list"]) for x in table} == {
            (ORG, "dishonest_judgment_debtors"),
            (ORG2, "dishonest_judgment_debtors"),
            (ORG, "a_level_taxpayers"),
        }
        entities = [
            json.loads(line) for line in http.get("/open-data/entities.ftm.json").text.splitlines()
        ]
        sanctions = [e for e in entities if e["schema"] == "Sanction"]
        ids = {e["id"] for e in entities}
        assert len(sanctions) == 2 and all(s["properties"]["entity"][0] in ids for s in sanctions)
        assert http.get("/open-data/../../etc/passwd").status_code == 404
        assert http.get("/open-data/nothing.csv").status_code == 404

        # the export is made once a day: a listing ended later today shows tomorrow
        again = http.get("/open-data/manifest.json").json()
        assert again == manifest
        clock.set(parse_moment("2026-03-03T10:00"))
        assert http.get("/open-data/manifest.json").json()["day"] == "2026-03-03"


def test_transparency_page(page: Any, listed: None) -> None:
    page.goto("/transparency")
    assert page.locator("h1").inner_text() == "透明度"
    charts = page.locator("section.chart figure svg")
    # no objection and no repair in the period: a sentence says so instead of a chart of zeros
    assert charts.count() == 2
    assert page.locator("#objections_by_outcome p.empty").inner_text() == "所选期间内没有异议。"
    assert page.locator("#repairs_by_decision p.empty").count() == 1
    assert charts.first.get_attribute("role") == "img" and charts.first.get_attribute("aria-label")
    # three listings in force: two judgment debtors (past their notice period) and a red list
    assert "3" in page.locator(".cards b").first.inner_text()
    assert axe_violations(page) == []
    page.goto("/transparency?lang=en")
    assert page.locator("h1").inner_text() == "Transparency"
    assert "Beijing" in (page.locator("#active_by_province table").text_content() or "")


def test_supervision_page_in_the_browser(page: Any, listed: None) -> None:
    page.goto("/supervision")
    assert page.locator("h1").inner_text() == "信用风险分类监管"
    # two organisations have grades: every count is below the threshold, so no chart is drawn
    # and every cell says so
    assert page.locator("section.chart figure svg").count() == 0
    assert "没有达到 5 的计数" in page.locator("#samr_risk").inner_text()
    page.locator("#samr_risk details summary").first.click()
    assert "少于 5" in (page.locator("#samr_risk table").first.text_content() or "")
    assert "尚未公布抽查计划" in page.locator("#plan").inner_text()
    assert axe_violations(page) == []


def test_the_footer_leads_to_the_log_page_not_to_json(page: Any, listed: None) -> None:
    page.goto("/")
    page.get_by_role("link", name="校验事件日志").click()
    page.wait_for_url("**/log")
    assert page.locator("h1").inner_text() == "事件日志"
    assert "哈希链校验通过" in page.locator(".outcome").inner_text()
    assert len(page.locator("dl.identity dd.code").first.inner_text()) == 64  # the head hash
    assert axe_violations(page) == []
    page.goto("/log?lang=en")
    assert "The chain verifies" in page.locator(".outcome").inner_text()


def test_public_pages_fit_a_phone(page: Any, listed: None) -> None:
    """At 390 px no public page runs off the screen (charts and wide tables scroll within
    themselves), in either language."""
    page.set_viewport_size({"width": 390, "height": 844})
    paths = [
        "/",
        f"/org/{ORG}",
        f"/org/{ORG}/report.html",
        "/search?q=某某",
        "/transparency",
        "/supervision",
        "/check",
        "/open-data/",
        "/report/verify",
        "/log",
    ]
    for lang in ("zh", "en"):
        for path in paths:
            page.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
            over = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            wide = page.evaluate(
                """() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth
                        && !(e.parentElement && e.parentElement.closest('.wide, figure')))
                .map(e => e.tagName + ':' + (e.textContent || '').trim().slice(0, 30))
                .slice(-3)
                .concat((() => {
                  const out = [];
                  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
                  while (w.nextNode()) {
                    const n = w.currentNode;
                    if (n.parentElement.closest('.wide, figure')) continue;
                    const r = document.createRange(); r.selectNodeContents(n);
                    const b = r.getBoundingClientRect();
                    if (b.right > window.innerWidth) out.push('text:' + n.textContent.trim().slice(0, 30) + '@' + b.right);
                  }
                  return out.slice(0, 3);
                })())"""
            )
            assert over <= 0, f"{path} ({lang}) is {over} px wider than a phone: {wide}"
            if lang == "zh":  # the translation rule, on the text the browser shows
                text = page.locator("body").inner_text()
                assert not IDENTIFIER.findall(text), (path, IDENTIFIER.findall(text))
                assert not INTERNAL_ID.findall(text), (path, INTERNAL_ID.findall(text))
