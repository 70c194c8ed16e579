"""Division codes read as places, with python-stdnum's years of use taken off the names."""

from __future__ import annotations

from stdnum import numdb

from socialcredit.identifiers.divisions import current_name, division_name


def test_a_code_reads_as_its_place_without_years() -> None:
    assert division_name("421381") == "湖北省广水市"  # stdnum: county "[2000-]广水市"
    assert division_name("110105") == "北京市朝阳区"


def test_a_renamed_code_reads_as_its_name_in_use_and_an_abolished_one_as_its_last() -> None:
    assert current_name("[-1991]东郊区,[1992-]东丽区") == "东丽区"
    assert division_name("120110") == "天津市东丽区"
    assert division_name("110103") == "北京市崇文区"  # "[-2010]崇文区": abolished, last name


def test_no_code_of_the_data_reads_with_brackets() -> None:
    codes = [
        f"{lo}{child_lo}"
        for length, lo, _hi, _props, children in numdb.get("cn/loc").prefixes
        if length == 2
        for _l, child_lo, _h, _p, _c in children
    ]
    assert len(codes) > 3000
    names = [division_name(c) for c in codes]
    assert all(n and "[" not in n and "]" not in n and "," not in n for n in names)


def test_what_is_not_a_division_code_reads_as_nothing() -> None:
    assert division_name("12345") is None and division_name("ABCDEF") is None
