"""A source's console shows the listings resting on its records a page at a time, with a
filter by list and a search by code, name, decision reference or record id: a court with
thousands of listings gets a page a person can use (it was one page of every listing)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from socialcredit.api.app import create_app
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.identifiers.uscc import build_uscc
from socialcredit.services import ingest
from socialcredit.services.access import create_principal
from socialcredit.services.worklists import SOURCE_LISTINGS_PAGE
from socialcredit.web.session import COOKIE
from tests.e2e.test_pages_in_chinese import visible
from tests.fixtures.rows import judgment, numbered

pytestmark = [pytest.mark.e2e]

N = SOURCE_LISTINGS_PAGE * 2 + 3


def _code(i: int) -> str:
    return build_uscc("9", "1", "110105", f"{10000000 + i:08d}")


def test_listings_come_a_page_at_a_time_and_can_be_found(reg: Registry, clock: FixedClock) -> None:
    rows = [
        judgment(
            f"BJ-{i}",
            _code(i),
            listing_ref=f"（2026）京0105执{1000 + i}号之一",
            subject_name=f"北京第{i}号科技有限公司",
        )
        for i in range(N)
    ]
    summary = ingest.ingest(reg, numbered(rows), "court", actor="court")
    assert summary.rejected == 0, summary.rejects
    clock.set(parse_moment("2026-03-02T10:00"))
    token = create_principal(reg, "source", "录入员", actor="op", source="court")["token"]
    with TestClient(create_app(reg)) as client:
        client.cookies.set(COOKIE, token)

        def shown(**params: str) -> tuple[str, list[str]]:
            r = client.get("/console", params={"lang": "zh", **params})
            assert r.status_code == 200
            text = visible(r.text)
            return text, re.findall(r"BJ-\d+", text)

        text, ids = shown()
        assert f"({N})" in text and "第 1 页，共 3 页" in text and "下一页" in text
        assert len(set(ids)) == SOURCE_LISTINGS_PAGE
        text, last = shown(page="3")
        assert len(set(last)) == 3 and "上一页" in text and "下一页" not in text
        assert not set(last) & set(ids)
        # beyond the last page: the last page
        assert shown(page="99")[1] == last

        _text, found = shown(q=_code(7))
        assert set(found) == {"BJ-7"}
        _text, found = shown(q="执1012号")
        assert set(found) == {"BJ-12"}
        _text, found = shown(q="第31号科技")
        assert set(found) == {"BJ-31"}
        text, found = shown(q="无此企业")
        assert found == [] and "没有符合条件的名单列入" in text
        text, found = shown(list="dishonest_judgment_debtors")
        assert "失信被执行人名单" in text and len(set(found)) == SOURCE_LISTINGS_PAGE
        _text, found = shown(list="abnormal_operations")
        assert found == []
