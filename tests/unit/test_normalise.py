"""Names and addresses folded for comparison: the spellings sources really use agree, the
original text is kept, and what must stay apart (a head office and its branch, two trade names)
stays apart. The generator's own variants are the main case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from socialcredit.generate import generate
from socialcredit.ingest.readers import read_rows
from socialcredit.resolution.normalise import (
    address,
    addresses_agree,
    fold,
    names_agree,
    org_name,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # the legal form left off, or written another way
        ("深圳市腾飞科技有限公司", "深圳市腾飞科技"),
        ("江苏远航物流有限责任公司", "江苏远航物流"),
        ("广州华美电子股份有限公司", "广州华美电子"),
        ("广州华美电子股份有限公司", "广州华美电子有限公司"),
        ("广州华美电子股份有限公司", "广州华美电子股份"),  # 有限公司 left off, 股份 kept
        ("华鑫集团有限公司", "华鑫集团"),
        # full-width and half-width brackets, letters and digits; spaces and punctuation
        ("腾飞（深圳）科技有限公司", "腾飞(深圳)科技有限公司"),
        ("腾飞（深圳）科技有限公司", "腾飞【深圳】科技"),
        ("ＴＣＬ科技集团股份有限公司", "TCL 科技集团股份有限公司"),
        ("北京·某某 科技有限公司", "北京某某科技有限公司"),
        # a branch: the head office's legal form may be left off, the branch's name may not
        ("深圳市腾飞科技有限公司南山分公司", "深圳市腾飞科技南山分公司"),
        ("义乌市恒信贸易有限公司稠城分公司", "义乌市恒信贸易有限公司 稠城分公司"),
    ],
)
def test_spellings_of_one_name_agree(a: str, b: str) -> None:
    assert names_agree(a, b)
    assert names_agree(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("深圳市腾飞科技有限公司", "深圳市腾飞科技有限公司南山分公司"),  # head office, branch
        ("深圳市腾飞科技有限公司南山分公司", "深圳市腾飞科技有限公司福田分公司"),
        ("深圳市腾飞科技有限公司南山分公司", "深圳市腾飞科技有限公司南山营业部"),
        ("深圳市腾飞科技有限公司", "深圳市远航科技有限公司"),
        ("深圳市腾飞科技有限公司", "广州市腾飞科技有限公司"),
        ("深圳市腾飞科技有限公司", "深圳市腾飞电子有限公司"),
    ],
)
def test_different_names_do_not_agree(a: str, b: str) -> None:
    assert not names_agree(a, b)


def test_a_name_is_taken_apart_and_its_original_kept() -> None:
    n = org_name("深圳市腾飞科技股份有限公司（南山）分公司")
    assert n.original == "深圳市腾飞科技股份有限公司（南山）分公司"
    assert n.folded == "深圳市腾飞科技股份有限公司(南山)分公司"
    assert (n.base, n.legal_form, n.branch) == ("深圳市腾飞科技南山", "股份有限公司", "分公司")
    plain = org_name("有限公司")  # a form alone is not stripped to nothing
    assert plain.base == "有限公司" and plain.legal_form is None


def test_fold_is_nfkc_casefolded_with_one_kind_of_bracket() -> None:
    assert fold("Ａｂｃ（１２３）〔北京〕 有限-公司。") == "abc(123)(北京)有限公司"


def test_addresses_agree_across_spellings_and_a_missing_province() -> None:
    full = "广东省深圳市南山区人民路１２号３号楼1201室"
    assert address(full).province == "广东省"
    assert address(full).rest == "深圳市南山区人民路12号3栋1201"
    assert address(full).original == full
    for other in (
        "深圳市南山区人民路12号3栋1201室",
        "深圳市南山区 人民路12号 3#楼 1201",
        "广东省深圳市南山区人民路12号3幢1201",
    ):
        assert addresses_agree(full, other), other
    assert not addresses_agree(full, "广东省深圳市南山区人民路12号4栋1201室")
    assert not addresses_agree(full, "广西壮族自治区深圳市南山区人民路12号3栋1201室")
    # a municipality is its own province: 北京市朝阳区… written with or without it
    assert addresses_agree("北京市朝阳区建设路8号", "朝阳区建设路8号")


def test_the_generators_variants_agree_with_the_register(tmp_path: Path) -> None:
    """Every row the generator wrote without a code names its subject in a way that folds to
    the register's name, and its address to the register's address."""
    summary = generate(1500, tmp_path, seed=11)
    register = [json.loads(line) for line in (tmp_path / "subjects.jsonl").open()]
    by_code = {s["subject_id"]: s for s in register}
    truth = {
        t["source_record_id"]: by_code[t["subject_id"]]
        for t in map(json.loads, (tmp_path / "codeless.jsonl").open())
    }
    variants = 0
    seen = 0
    for name in ("samr.csv", "tax.csv", "court.jsonl"):
        for _, row in read_rows(tmp_path / name):
            assert isinstance(row, dict)
            if row.get("subject_id") or row.get("subject_kind") != "organisation":
                continue
            seen += 1
            subject = truth[row["source_record_id"]]
            assert names_agree(row["subject_name"], subject["name"]), (row, subject)
            assert addresses_agree(row["subject_address"], subject["address"]), (row, subject)
            variants += row["subject_name"] != subject["name"]
    assert seen >= 10 and seen <= summary.rows_without_code
    assert variants >= 1  # the generator did write some names differently
