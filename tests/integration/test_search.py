"""Search by name, part of a name, USCC or legacy organisation code, through the name index,
on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from socialcredit.bootstrap import Registry, alembic_config
from socialcredit.db import name_grams
from socialcredit.identifiers.uscc import build_uscc
from socialcredit.services import ingest, name_search
from tests.fixtures.old_log import chained_as_before_batches
from tests.fixtures.rows import PERSON, judgment, numbered, penalty

NAMES = {
    "HW": "华为技术有限公司",
    "HWSZ": "华为（深圳）科技有限公司",
    "SZHW": "深圳华为",
    "ABC": "ＡＢＣ Trading Co., Ltd.",
    "OTHER": "北京某某科技有限公司",
}
CODES = {k: build_uscc("9", "1", "440300", f"{7000_0000 + i:08d}") for i, k in enumerate(NAMES)}


def build(reg: Registry) -> None:
    rows = [
        penalty(f"P-{k}", CODES[k], severity="minor", subject_name=name)
        for k, name in NAMES.items()
    ]
    ingest.ingest(reg, numbered(rows), "samr", actor="test:samr")
    ingest.ingest(
        reg,
        numbered(
            [judgment("BJ-7", PERSON, conduct=None, listing_ref=None, subject_name="张三华为")]
        ),
        "court",
        actor="test:court",
    )


def names(result: dict[str, Any]) -> list[str]:
    return [r["name"] for r in result["results"]]


def test_part_of_a_name_finds_shortest_names_first(reg: Registry) -> None:
    build(reg)
    result = name_search.search(reg, "华为")
    # the person whose name also contains the words is never found by name
    assert names(result) == [NAMES["SZHW"], NAMES["HW"], NAMES["HWSZ"]]
    assert result["more"] is False and result["too_short"] is False
    first = name_search.search(reg, "华为", limit=2)
    assert names(first) == [NAMES["SZHW"], NAMES["HW"]] and first["more"] is True


def test_width_case_and_punctuation_do_not_matter(reg: Registry) -> None:
    build(reg)
    assert names(name_search.search(reg, "(深圳)科技")) == [NAMES["HWSZ"]]
    assert names(name_search.search(reg, "abc trading")) == [NAMES["ABC"]]
    assert names(name_search.search(reg, "ABC-TRADING CO")) == [NAMES["ABC"]]
    assert (
        names(name_search.search(reg, "有限责任公司")) == []
    )  # every pair exists, the whole does not


def test_one_character_asks_for_more(reg: Registry) -> None:
    build(reg)
    result = name_search.search(reg, "华")
    assert result["results"] == [] and result["too_short"] is True
    assert name_search.search(reg, "")["too_short"] is False


def test_codes_are_looked_up_by_key(reg: Registry) -> None:
    build(reg)
    code = CODES["HW"]
    assert names(name_search.search(reg, code.lower())) == [NAMES["HW"]]
    legacy = code[8:17]
    assert names(name_search.search(reg, f"{legacy[:8]}-{legacy[8]}")) == [NAMES["HW"]]
    assert names(name_search.search(reg, legacy)) == [NAMES["HW"]]
    assert name_search.search(reg, build_uscc("9", "1", "440300", "69999999"))["results"] == []


def test_subjects_registered_later_are_not_yet_found(reg: Registry, clock: Any) -> None:
    before = clock.now()
    build(reg)
    clock.set(before.replace(year=before.year - 1))
    assert name_search.search(reg, "华为")["results"] == []


def test_migration_indexes_what_was_registered_before_it(reg: Registry) -> None:
    """Down to the revision without the index and up again: the migration's backfill writes
    the rows the projector wrote."""
    from alembic import command

    build(reg)
    with reg.engine.connect() as conn:
        projected = conn.execute(select(name_grams).order_by(*name_grams.primary_key)).all()
    assert len(projected) > 40
    with reg.engine.begin() as conn:
        chained_as_before_batches(conn)
        command.downgrade(alembic_config(conn), "0009")
    with reg.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with reg.engine.connect() as conn:
        assert conn.execute(select(name_grams).order_by(*name_grams.primary_key)).all() == projected


def test_near_matches_follow_the_exact_ones(reg: Registry) -> None:
    build(reg)
    # a typo (技 -> 枝): no name contains the query, the nearest names are offered as similar
    result = name_search.search(reg, "北京某某科枝有限公司")
    assert names(result)[:1] == [NAMES["OTHER"]]
    assert result["results"][0]["match"] == "similar"
    # a missing character and a different legal form
    assert names(name_search.search(reg, "华为技术公司"))[:1] == [NAMES["HW"]]
    # exact matches come first and are marked as such; nothing unrelated is offered
    exact = name_search.search(reg, "深圳华为")
    assert exact["results"][0] == {**exact["results"][0], "name": NAMES["SZHW"], "match": "name"}
    assert "ＡＢＣ Trading Co., Ltd." not in names(exact)
    assert name_search.search(reg, "完全无关的名字")["results"] == []
    # a person is never offered, not even as a near match of its name
    assert "张三华为" not in names(name_search.search(reg, "张三华为公司"))
