"""The signed-in pages in a real browser: a court clerk uploads a file with errors and sees
them row by row, a reviewer links a queued row to its subject, and the subject files an
objection (with an attachment) and sees the deadline for the answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import worklists
from socialcredit.services.access import create_principal
from socialcredit.services.subjects import subject_file
from tests.e2e.conftest import axe_violations
from tests.fixtures.rows import ORG, ORG_NAME, judgment

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]
PASSWORD = "correct horse battery"


def sign_in(page: Any, username: str) -> None:
    page.goto("/signin")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


@pytest.fixture
def accounts(reg: Registry) -> None:
    create_principal(
        reg,
        "source",
        "朝阳法院录入员",
        actor="test:admin",
        source="court",
        username="clerk",
        password=PASSWORD,
    )
    create_principal(
        reg, "reviewer", "复核员", actor="test:admin", username="reviewer", password=PASSWORD
    )


def test_upload_errors_then_reviewer_resolves(
    page: Any, reg: Registry, accounts: None, tmp_path: Path
) -> None:
    bad_code = judgment("R2", "91110000600037341M")  # wrong check character
    no_authority = {k: v for k, v in judgment("R3").items() if k != "authority"}
    no_code = {**judgment("R4"), "subject_id": ""}  # goes to the review queue
    upload = tmp_path / "court-2026-02.jsonl"
    upload.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [judgment("R1"), bad_code, no_authority, no_code]
        ),
        encoding="utf-8",
    )

    page.goto("/console")  # signed out: sent to sign in, then back
    page.wait_for_url("**/signin?next=/console")
    sign_in(page, "clerk")
    page.wait_for_url("**/console")
    page.get_by_label("文件").set_input_files(str(upload))
    page.get_by_role("button", name="提交").click()
    report = page.locator("#report")
    report.wait_for()
    assert "court-2026-02.jsonl" in report.inner_text()
    rejects = page.locator("table.rejects tbody tr")
    assert rejects.count() == 2
    first, second = rejects.nth(0).inner_text(), rejects.nth(1).inner_text()
    assert first.startswith("2") and "subject_id" in first and "check character" in first
    assert second.startswith("3") and "authority" in second
    assert axe_violations(page) == []
    page.get_by_role("button", name="退出 (朝阳法院录入员)").click()

    sign_in(page, "reviewer")
    page.wait_for_url("**/console")
    item = page.locator("article.queue-item", has_text="R4")
    assert ORG_NAME in item.inner_text()
    assert axe_violations(page) == []
    item.get_by_label("其他主体（新主体将予登记）：其代码（统一社会信用代码 / 公民身份号码）").fill(
        ORG
    )
    item.get_by_role("button", name="关联到该主体").click()
    page.wait_for_url("**/console?done=resolved#queue")
    assert page.locator("article.queue-item", has_text="R4").count() == 0
    assert worklists.review_items(reg)["open"] == 0
    records = {r["source_record_id"] for r in subject_file(reg, ORG)["records"]}
    assert {"R1", "R4"} <= records


def test_subject_objects_and_sees_deadline(
    page: Any, reg: Registry, clock: FixedClock, tmp_path: Path
) -> None:
    from socialcredit.services import ingest
    from tests.fixtures.rows import numbered

    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    create_principal(
        reg, "subject", ORG_NAME, actor="test:admin", subject=ORG, username="org", password=PASSWORD
    )
    clock.set(parse_moment("2026-02-03T10:00"))
    sign_in(page, "org")
    page.wait_for_url("**/me")
    assert ORG_NAME in page.locator("h1").inner_text()
    assert "失信被执行人名单" in page.locator("#listings ~ article").first.inner_text()
    assert axe_violations(page) == []

    evidence = tmp_path / "receipt.txt"
    evidence.write_text("已全额履行", encoding="utf-8")
    page.get_by_label("您的理由").fill("判决已于2026年1月30日全部履行。")
    page.get_by_label("附件（最多 5 个文件）").set_input_files(str(evidence))
    page.get_by_role("button", name="提交异议").click()
    page.wait_for_url("**/me?done=objection#objections")
    assert "异议已提交" in page.locator(".notice").inner_text()
    row = page.locator("tr.objection")
    assert row.count() == 1
    (objection,) = subject_file(reg, ORG)["objections"]
    deadline = row.locator(".deadline").inner_text()
    assert deadline.startswith(objection["deadline"][:4] + "年")  # shown, in the reader's language
    assert objection["attachments"] and objection["attachments"][0]["name"] == "receipt.txt"
    # the read of the file by its own subject is in "who looked at my file"
    assert "您本人的账户" in page.locator("#reads ~ table").first.inner_text()


def test_clerk_issues_a_listing_by_form_then_ends_it(
    page: Any, reg: Registry, accounts: None, clock: FixedClock
) -> None:
    """The clerk records a judgment by hand (a wrong code first: the error is shown by its field
    and nothing typed is lost), the listing it proposes shows in the console, the subject's
    objection reaches the clerk's inbox, and the clerk ends the listing by recording the
    judgment performed with the reference of that decision."""
    from socialcredit.services import objections

    sign_in(page, "clerk")
    page.wait_for_url("**/console")
    form = page.locator("#record-form")
    form.get_by_label("本机关记录编号").fill("F-1")
    form.get_by_label("主体代码（统一社会信用代码 / 公民身份号码）").fill("91110000600037341M")
    form.get_by_label("主体名称").fill(ORG_NAME)
    form.get_by_label("决定机关").fill("北京市朝阳区人民法院")
    form.get_by_label("决定文号").fill("（2026）京0105执77号")
    form.get_by_label("决定日期").fill("2026-01-15")
    form.get_by_label("法律依据").fill(
        "《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条"
    )
    form.get_by_label("失信情形").select_option("able_but_refuses")
    form.get_by_label("纳入失信名单决定书文号").fill("（2026）京0105执77号之一")
    form.get_by_role("button", name="记录", exact=True).click()

    error = page.locator("#e-subject_id")
    error.wait_for()
    assert "check character" in error.inner_text()
    code = form.get_by_label("主体代码（统一社会信用代码 / 公民身份号码）")
    assert code.get_attribute("aria-invalid") == "true"
    assert form.get_by_label("决定文号").input_value() == "（2026）京0105执77号"  # kept
    assert axe_violations(page) == []
    code.fill(ORG)
    form.get_by_role("button", name="记录", exact=True).click()
    page.locator("#recorded").wait_for()
    assert "已记录" in page.locator("#recorded").inner_text()

    listing = page.locator("#listings article.listing")
    assert listing.count() == 1
    assert "失信被执行人名单" in listing.inner_text() and "F-1" in listing.inner_text()

    (entry,) = subject_file(reg, ORG)["listings"]
    objections.file_objection(
        reg, ORG, grounds="已履行完毕。", actor="subject:test", listing_id=entry["listing_id"]
    )
    page.goto("/console")
    assert "已履行完毕。" in page.locator("#inbox").inner_text()
    assert axe_violations(page) == []

    clock.set(parse_moment("2026-04-01T10:00"))  # the listing is active by now
    page.goto("/console")  # and the session of two months ago has lapsed
    page.wait_for_url("**/signin?next=/console")
    sign_in(page, "clerk")
    page.wait_for_url("**/console")
    page.locator("#listings article.listing summary").click()
    end = page.locator("#listings article.listing form")
    assert axe_violations(page) == []  # with the form open
    end.get_by_label("记录的新状态").select_option("performed")
    end.get_by_label("履行日期").fill("2026-03-30")
    end.get_by_label("移出名单决定的文号").fill("（2026）京0105执77号之二")
    end.get_by_role("button", name="移出名单", exact=True).click()
    page.wait_for_url("**/console?done=ended#listings")
    assert page.locator("#listings article.listing").count() == 0
    (ended,) = subject_file(reg, ORG)["listings"]
    assert ended["status"] == "ended" and ended["end_reason"] == "performed"
    assert ended["end_decision_ref"] == "（2026）京0105执77号之二"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_statement_copy_and_evidence_in_the_browser(
    page: Any, reg: Registry, clock: FixedClock, accounts: None, tmp_path: Path, lang: str
) -> None:
    """The subject adds a statement and downloads the copy of its file; the court clerk sees
    the objection's attachment on the decision page and opens it. Each page axe-clean, in
    Chinese and in English."""
    import zipfile

    from socialcredit.services import ingest, objections
    from tests.fixtures.rows import numbered

    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    create_principal(
        reg, "subject", ORG_NAME, actor="test:admin", subject=ORG, username="org", password=PASSWORD
    )
    clock.set(parse_moment("2026-02-03T10:00"))
    listing = subject_file(reg, ORG)["listings"][0]
    objections.file_objection(
        reg,
        ORG,
        listing_id=listing["id"],
        grounds="已履行",
        actor="subject",
        files=[("履行凭证.txt", "已全额履行".encode())],
    )
    words = {
        "zh": ("用户名", "密码", "登录", "您的声明", "提交声明", "主体本人的声明",
               "下载关于我的全部信息副本", "附件"),
        "en": ("Username", "Password", "Sign in", "Your statement", "Add the statement",
               "The subject's statement", "Download a copy of everything held about me",
               "Attachments"),
    }[lang]  # fmt: skip
    page.goto(f"/signin?lang={lang}")
    page.get_by_label(words[0]).fill("org")
    page.get_by_label(words[1]).fill(PASSWORD)
    page.get_by_role("button", name=words[2]).click()
    page.wait_for_url("**/me")
    said = "The judgment was performed in full on 30 January."
    page.get_by_label(words[3], exact=True).fill(said)
    page.get_by_role("button", name=words[4]).click()
    page.wait_for_url("**/me?done=statement#statements")
    assert said in page.locator("tr.statement").first.inner_text()
    assert axe_violations(page) == []
    with page.expect_download() as dl:
        page.get_by_role("link", name=words[6]).click()
    archive = tmp_path / "copy.zip"
    dl.value.save_as(archive)
    with zipfile.ZipFile(archive) as z:
        assert {"file.json", "file.pdf", "log.json", "calendar.ics"} <= set(z.namelist())
        assert said in z.read("file.json").decode("utf-8")
    # the public profile shows the statement beside the listing once it is in force
    clock.set(parse_moment("2026-03-02T10:00"))
    page.goto(f"/org/{ORG}?lang={lang}")
    assert said in page.locator("blockquote.statement").inner_text()
    assert words[5] in page.locator("blockquote.statement").inner_text()
    assert axe_violations(page) == []

    # the court clerk decides the objection with its evidence in view
    page.context.clear_cookies()
    page.goto(f"/signin?lang={lang}")
    page.get_by_label(words[0]).fill("clerk")
    page.get_by_label(words[1]).fill(PASSWORD)
    page.get_by_role("button", name=words[2]).click()
    page.wait_for_url("**/console")
    box = page.locator("article.objection")
    assert words[7] in box.inner_text() and "履行凭证.txt" in box.inner_text()
    assert axe_violations(page) == []
    with page.expect_download() as dl:
        box.get_by_role("link", name="履行凭证.txt").click()
    got = tmp_path / "evidence.txt"
    dl.value.save_as(got)
    assert got.read_text(encoding="utf-8") == "已全额履行"
    assert dl.value.suggested_filename == "履行凭证.txt"


def test_a_subject_s_file_reads_at_phone_width(page: Any, reg: Registry, clock: FixedClock) -> None:
    """At 390 px the page does not run off the screen, and the records table scrolls within
    itself instead of squeezing its record type to one character a line."""
    from socialcredit.services import ingest
    from tests.fixtures.rows import numbered

    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    create_principal(
        reg, "subject", ORG_NAME, actor="test:admin", subject=ORG, username="org", password=PASSWORD
    )
    clock.set(parse_moment("2026-02-03T10:00"))
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "org")
    page.wait_for_url("**/me")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                && !e.closest('.wide'))
        .map(e => e.tagName + '.' + e.className + ':' + (e.textContent || '').slice(0, 40))
        .slice(0, 5)"""
    )
    assert overflow <= 0, f"the page is {overflow} px wider than the screen: {wide}"
    first_cell = page.locator("#records ~ .wide table tbody tr td").first
    assert first_cell.inner_text().startswith("未履行")
    # a Chinese character is about 16 px: four or more of them a line
    assert first_cell.bounding_box()["width"] >= 60
    assert axe_violations(page) == []
