"""Export in the national formats: a source's file read in, published in the same format, and
read into an empty registry gives the same public profiles; a record the format cannot carry
is left out and counted, never published altered."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock
from socialcredit.config import Settings
from socialcredit.services import format_export, ingest, opendata, views
from tests.fixtures.rows import ORG2, numbered, penalty

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "formats"

CASES = [
    ("double_publicity_penalty", "samr"),
    ("double_publicity_licence", "samr"),
    ("samr_abnormal", "samr"),
    ("samr_serious_violation", "samr"),
    ("tax_a_level", "tax"),
    ("spc_dishonest", "court"),
]


def _orgs(reg: Registry, record_type: str) -> list[dict[str, object]]:
    return [
        r
        for r in opendata.public_records(reg, record_type=record_type)
        if r["subject_kind"] == "organisation"
    ]


@pytest.mark.parametrize(("name", "source"), CASES)
def test_export_then_ingest_into_an_empty_registry_gives_the_same_public_profiles(
    reg: Registry, env: dict[str, str], clock: FixedClock, tmp_path: Path, name: str, source: str
) -> None:
    ingest.ingest_format(reg, FIXTURE / f"{name}.csv", source, name, actor=source)
    spec = reg.pack.formats[name]
    before = _orgs(reg, spec.record_type)
    assert before, "the fixture gives public records of organisations"

    result = format_export.export(reg, name, tmp_path / "out")
    assert result.written == len(before) and not result.left_out, result.as_dict()
    with result.path.open(encoding="utf-8-sig", newline="") as fh:
        head = next(csv.reader(fh))
    assert head == format_export.header(spec)  # the published headers

    other = Registry(
        Settings.from_env(dict(env, SOCIALCREDIT_DATABASE_URL=f"sqlite:///{tmp_path / 'b.db'}")),
        clock=clock,
    )
    try:
        again, used = ingest.ingest_format(other, result.path, source, "auto", actor=source)
        assert used == name and again.rejected == 0, again.as_dict()
        assert _orgs(other, spec.record_type) == before
        for code in {str(r["subject"]) for r in before}:
            assert views.public_profile(other, code) == views.public_profile(reg, code)
    finally:
        other.close()


def test_a_record_the_format_cannot_carry_is_left_out_and_counted(
    reg: Registry, tmp_path: Path
) -> None:
    """The 双公示 standard has no severity: a serious penalty (sent in the interchange format)
    would read back as general, so it is not published in that format."""
    ingest.ingest(
        reg,
        numbered([penalty("P-1"), penalty("P-2", ORG2, severity="general", field="")]),
        "samr",
        actor="samr",
    )
    result = format_export.export(reg, "double_publicity_penalty", tmp_path)
    assert result.written == 1, result.as_dict()
    ((reason, n),) = result.left_out.items()
    assert n == 1 and "severity" in reason
    with result.path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["行政相对人代码_1（统一社会信用代码）"] for r in rows] == [ORG2]
    assert rows[0]["罚款金额（万元）"] == "50"  # 500,000 yuan, in 万元


def test_an_unknown_format_is_named(reg: Registry, tmp_path: Path) -> None:
    from socialcredit.errors import UnknownEntity

    with pytest.raises(UnknownEntity, match="unknown format 'nope'"):
        format_export.export(reg, "nope", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written
