"""The organisation profile opens with its registration details, as the national enterprise
credit information publicity system shows them: the latest registration row of the market
regulator, each field named in the reader's language, the status as the register words it."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from socialcredit.api.app import create_app
from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import ingest
from tests.fixtures.rows import ORG, ORG_NAME, numbered, penalty

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def registration(rid: str, decided_on: str, **fields: str) -> dict[str, str]:
    return {
        "source_record_id": rid,
        "record_type": "business_registration",
        "subject_id": ORG,
        "subject_name": ORG_NAME,
        "authority": "北京市朝阳区市场监督管理局",
        "decision_ref": f"（京朝）登字〔{decided_on[:4]}〕第{rid}号",
        "decided_on": decided_on,
        "legal_basis": "《企业信息公示暂行条例》第六条",
        "status": "recorded",
        "legal_representative": "李四",
        "entity_type": "有限责任公司（自然人投资或控股）",
        "registered_capital": "100万元人民币",
        "established_on": "2015-04-01",
        "registration_status": "in_operation",
        "address": "北京市朝阳区某某路1号",
        "business_scope": "技术开发、技术咨询",
        **fields,
    }


def test_the_profile_opens_with_the_registration_details(reg: Registry, clock: FixedClock) -> None:
    rows = [
        registration("R1", "2015-04-01"),
        # a later decision of the registration authority: a new address, a former name
        registration(
            "R2", "2025-11-03", address="北京市海淀区某某街2号", former_names="北京某某网络有限公司"
        ),
        penalty("P-1", severity="general"),
    ]
    s = ingest.ingest(reg, numbered(rows), "samr", actor="samr")
    assert s.accepted == 3, s.as_dict()
    clock.set(parse_moment("2026-03-01T09:00"))
    with TestClient(create_app(reg)) as client:
        zh = client.get(f"/org/{ORG}", params={"lang": "zh"}).text
        en = client.get(f"/org/{ORG}", params={"lang": "en"}).text
    main = re.sub(r"<[^>]+>", " ", zh.split("<main", 1)[1])
    assert (
        main.index("登记信息") < main.index("法定代表人") < main.index("失信")
        if "失信" in main
        else True
    )
    for shown in (
        "法定代表人",
        "李四",
        "注册资本",
        "100万元人民币",
        "存续",
        "曾用名",
        "北京某某网络有限公司",
        "登记机关",
    ):
        assert shown in main, shown
    assert "北京市海淀区某某街2号" in main and "北京市朝阳区某某路1号" not in main  # the latest
    assert "in_operation" not in main and "registration_status" not in main
    # the registration comes before the lists and the records
    assert main.index("登记信息") < main.index("行政处罚")
    assert "Registration details" in en and "In operation" in en and "Legal representative" in en
    # then a section per kind of record, in the national system's order, each with its count,
    # an empty one saying so
    flat = re.sub(r"\s+", " ", main)
    penalties = flat.index("行政处罚 (1)")
    abnormal = flat.index("经营异常 (0) 无记录。")
    assert flat.index("行政许可") < penalties < abnormal < flat.index("严重违法失信")
    flat_en = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", en.split("<main", 1)[1]))
    assert "Abnormal operation (0) None on record." in flat_en
