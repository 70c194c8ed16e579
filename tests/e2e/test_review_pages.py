"""The review queue page in a real browser: the model's candidates side by side with the row
(name, address, legal representative, code, probability, each comparison's Bayes factor); the
reviewer accepts a candidate, then undoes the link from the page, and the row is back."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from socialcredit.bootstrap import Registry
from socialcredit.db import records
from socialcredit.services import ingest, resolution, worklists
from socialcredit.services.access import create_principal
from tests.e2e.conftest import axe_violations
from tests.e2e.test_portal_signed_in import PASSWORD, sign_in
from tests.fixtures.rows import numbered
from tests.integration.test_resolution_queue import codeless_judgment, population, register

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def subject_of(reg: Registry, rid: str) -> str | None:
    with reg.engine.connect() as conn:
        return conn.execute(
            select(records.c.subject_id).where(records.c.source_record_id == rid)
        ).scalar_one_or_none()


def test_reviewer_compares_accepts_and_undoes(page: Any, reg: Registry) -> None:
    create_principal(
        reg, "reviewer", "复核员", actor="test:admin", username="reviewer", password=PASSWORD
    )
    orgs = population()
    register(reg, orgs)
    b = orgs[12]
    row = codeless_judgment("CT-Y-002", b["name"].replace("有限公司", "股份有限公司"))
    ingest.ingest(reg, numbered([row]), "court", actor="test:court")

    sign_in(page, "reviewer")
    page.wait_for_url("**/console")
    # the model has not seen it yet: the reviewer has it evaluated from the page
    page.get_by_role("button", name="由模型评估新的待复核项").click()
    page.wait_for_url("**/console?done=evaluated#queue")
    item = page.locator("article.queue-item", has_text="CT-Y-002")
    table = item.locator("table")
    assert "该行与各候选逐项对照" in table.locator("caption").inner_text()
    first = table.locator("thead th").nth(2).inner_text()
    assert first == "候选 1"
    body = table.inner_text()
    assert b["name"] in body and b["address"] in body and b["rep"] in body and b["code"] in body
    # comparisons, levels and Bayes factors as a reviewer reads them (they read "name",
    # "Exact match on name" and "5.21e+03")
    assert "贝叶斯因子：名称" in body and "贝叶斯因子：组织形式" in body
    assert re.search(r"×[\d,.]+ 相同", body) and re.search(r"÷[\d,.]+ 不同", body)
    assert not re.search(r"\d\.?\d*e[+-]\d", body), body
    assert "Exact match" not in body and "NULL" not in body and "Null" not in body
    assert axe_violations(page) == []

    item.get_by_role("button", name="接受候选 1").click()
    page.wait_for_url("**/console?done=resolved#queue")
    assert subject_of(reg, "CT-Y-002") == b["code"]
    assert worklists.review_items(reg)["open"] == 0

    undo = page.locator("#undo")
    undo.get_by_label("记录（来源/来源记录编号）").fill("court/CT-Y-002")
    undo.get_by_label("关联错误的理由").fill("法院确认系同名的另一公司")
    undo.get_by_role("button", name="撤销此关联").click()
    page.wait_for_url("**/console?done=undone#queue")
    assert subject_of(reg, "CT-Y-002") is None
    back = page.locator("article.queue-item", has_text="CT-Y-002")
    assert "法院确认系同名的另一公司" in back.inner_text()
    # an unknown record: the error is shown, nothing changes
    undo = page.locator("#undo")
    undo.get_by_label("记录（来源/来源记录编号）").fill("court/NOPE")
    undo.get_by_label("关联错误的理由").fill("x")
    undo.get_by_role("button", name="撤销此关联").click()
    assert "no record court/NOPE" in page.locator("p.error").inner_text()
    assert resolution.open_items(reg, again=True)[0].source_record_id == "CT-Y-002"


def test_reviewer_merges_a_proposed_pair(page: Any, reg: Registry) -> None:
    from socialcredit.services import dedupe
    from tests.fixtures.rows import judgment
    from tests.integration.test_resolution_queue import ghost_of

    create_principal(
        reg, "reviewer", "复核员", actor="test:admin", username="reviewer", password=PASSWORD
    )
    orgs = population()
    register(reg, orgs)
    a = orgs[5]
    ghost = ghost_of(a, 1)
    row = judgment(
        "CT-G-001",
        ghost,
        subject_name=a["name"],
        subject_address=a["address"],
        subject_legal_representative=a["rep"],
    )
    ingest.ingest(reg, numbered([row]), "court", actor="test:court")
    assert dedupe.propose(reg)["proposed"] == 1

    sign_in(page, "reviewer")
    page.wait_for_url("**/console")
    section = page.locator("#merges")
    body = section.locator("table").inner_text()
    assert a["code"] in body and ghost in body and a["address"] in body
    assert axe_violations(page) == []
    section.get_by_label("决定理由").fill("代码录入错误")
    section.get_by_role("button", name=f"合并，保留 {a['code']}").click()
    page.wait_for_url("**/console?done=merged#merges")
    assert subject_of(reg, "CT-G-001") == a["code"]
    assert "暂无拟合并的主体" in page.locator("#merges").inner_text()
