"""The synthetic agency files must be believable and exactly as defective as the summary says.

The ingest tests lean on these files, so a defect the generator did not count (or a clean row
that is secretly broken) would make them pass or fail for the wrong reason. The checks here
re-derive every defect from the files alone.
"""

from __future__ import annotations

import csv
import json
import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from stdnum.cn import ric

from socialcredit.generate import PROVINCE_ABBR, divisions, generate
from socialcredit.identifiers import parse_resident_id, parse_uscc
from socialcredit.identifiers.resident_id import lift_15
from socialcredit.identifiers.uscc import region_known
from socialcredit.ingest.readers import read_rows as ingest_rows
from socialcredit.ingest.validate import REQUIRED, ValidRow, validate_row
from socialcredit.policy import load_pack
from socialcredit.policy.durations import WorkingCalendar
from socialcredit.rules.grading import Grader, GradeRecord

ENTITIES = 2000
SEED = 7
START = date(2025, 1, 1)
END = date(2026, 6, 30)

COMMON = REQUIRED
OPTIONAL = {
    "subject_id",
    "subject_legacy_code",
    "subject_registration_no",
    "subject_address",
    "subject_legal_representative",
    "subject_kind",
}
TYPES = {
    "court_judgment": (
        {"unperformed", "performed"},
        {
            "amount_yuan",
            "dishonest_conduct",
            "listing_decision_ref",
            "listing_term_years",
            "performed_on",
        },
    ),
    "administrative_penalty": (
        {"in_force", "revoked"},
        {"severity", "penalty_kind", "fine_yuan", "field_of_law", "performed_on"},
    ),
    "administrative_licence": (
        {"valid", "revoked", "expired"},
        {"licence_kind", "licence_no", "valid_until"},
    ),
    "abnormal_operation": ({"listed", "removed"}, {"cause", "removed_on"}),
    "tax_credit_rating": ({"issued"}, {"tax_year", "level", "score"}),
    "tax_compliance": ({"recorded", "withdrawn"}, {"indicator", "tax_year", "amount_yuan"}),
    "commendation": ({"conferred", "withdrawn"}, {"title", "conferring_body"}),
}
PROHIBITED = {"ethnicity", "religion"}
SOURCES = {
    "court.jsonl": {"court_judgment"},
    "samr.csv": {
        "administrative_penalty",
        "administrative_licence",
        "abnormal_operation",
        "commendation",
    },
    "tax.csv": {"tax_credit_rating", "tax_compliance"},
}


@dataclass
class Generated:
    out: Path
    summary: object
    subjects: list[dict[str, str]]
    rows: dict[str, list[dict[str, str]]]
    seconds: float
    progress: list[int]


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows as dicts of the values given: empty CSV cells and empty JSON strings are absent."""
    if path.suffix == ".jsonl":
        raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        with path.open(encoding="utf-8", newline="") as fh:
            raw = list(csv.DictReader(fh))
    return [{k: v for k, v in row.items() if v != ""} for row in raw]


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    out = tmp_path_factory.mktemp("generated")
    ticks: list[int] = []
    t0 = time.perf_counter()
    summary = generate(ENTITIES, out, seed=SEED, start=START, end=END, progress=ticks.append)
    seconds = time.perf_counter() - t0
    subjects = read_rows(out / "subjects.jsonl")
    rows = {name: read_rows(out / name) for name in SOURCES}
    return Generated(out, summary, subjects, rows, seconds, ticks)


def is_iso(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))


def defects(row: dict[str, str], known_ids: set[str]) -> list[str]:
    """Every way a row breaks the interchange format, found without help from the generator."""
    found = []
    record_type = row.get("record_type", "")
    if record_type not in TYPES:
        found.append("unknown_type")
    else:
        statuses, own = TYPES[record_type]
        if row.get("status") not in statuses:
            found.append("bad_status")
        if record_type == "administrative_penalty" and "severity" not in row:
            found.append("missing_severity")
        extra = set(row) - set(COMMON) - OPTIONAL - own - PROHIBITED
        assert not extra, f"columns outside the closed taxonomy: {extra} in {row}"
    if "decision_ref" not in row:
        found.append("missing_ref")
    if not is_iso(row.get("decided_on", "")):
        found.append("bad_date")
    if row.get("subject_id") and row["subject_id"] not in known_ids:
        found.append("bad_check")
    if PROHIBITED & set(row):
        found.append("prohibited")
    return found


def known_ids(subjects: list[dict[str, str]]) -> set[str]:
    ids = {s["subject_id"] for s in subjects}
    return ids | {s["legacy_id"] for s in subjects if "legacy_id" in s}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(400, a, seed=3)
    generate(400, b, seed=3)
    generate(400, c, seed=4)
    names = sorted(p.name for p in a.iterdir())
    assert names == ["codeless.jsonl", "court.jsonl", "samr.csv", "subjects.jsonl", "tax.csv"]
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "subjects.jsonl").read_bytes() != (c / "subjects.jsonl").read_bytes()


def test_summary_matches_files(gen: Generated) -> None:
    s = gen.summary
    assert s.organisations + s.persons == ENTITIES
    assert 0.88 < s.organisations / ENTITIES < 0.96
    assert s.files["subjects.jsonl"] == len(gen.subjects) == ENTITIES
    for name, rows in gen.rows.items():
        assert s.files[name] == len(rows), name
    assert set(s.as_dict()) == {
        "organisations",
        "persons",
        "files",
        "rows_with_errors",
        "rows_without_code",
    }
    assert json.dumps(s.as_dict())


def test_progress_adds_up(gen: Generated) -> None:
    assert sum(gen.progress) == ENTITIES
    assert all(0 < n <= 1000 for n in gen.progress)
    assert len(gen.progress) >= 2


def test_register_identifiers_are_valid(gen: Generated) -> None:
    real = {d.code for d in divisions()}
    for s in gen.subjects:
        assert s["division"] in real and region_known(s["division"])
        if s["kind"] == "organisation":
            uscc = parse_uscc(s["subject_id"])
            assert uscc.code == s["subject_id"]
            assert uscc.division == s["division"]
            assert uscc.organisation_code == s["legacy_code"]
            assert s["name"] and s["address"].endswith(("号", "室"))
            assert s["legal_representative"]
        else:
            assert s["kind"] == "person"
            rid = parse_resident_id(s["subject_id"])
            assert ric.is_valid(s["subject_id"])
            assert rid.birth_date.isoformat() == s["birth_date"]
            assert s["subject_id"][:6] == s["division"]
            if "legacy_id" in s:
                assert len(s["legacy_id"]) == 15
                assert lift_15(s["legacy_id"]) == s["subject_id"]
                assert parse_resident_id(s["legacy_id"]).lifted_from_15


def test_person_birth_dates(gen: Generated) -> None:
    persons = [s for s in gen.subjects if s["kind"] == "person"]
    years = [int(s["birth_date"][:4]) for s in persons]
    assert all(1950 <= y <= 2004 or 2009 <= y <= 2012 for y in years)
    assert any(y >= 2009 for y in years), "no minor to exercise the minors bar"
    assert all(s["subject_id"][14:17] != "000" for s in persons)


def test_every_row_has_at_most_one_defect_and_all_are_counted(gen: Generated) -> None:
    ids = known_ids(gen.subjects)
    broken = 0
    kinds: set[str] = set()
    total = 0
    for name, rows in gen.rows.items():
        for row in rows:
            total += 1
            found = defects(row, ids)
            assert len(found) <= 1, (name, row, found)
            if found:
                broken += 1
                kinds.update(found)
            else:
                assert row["record_type"] in SOURCES[name]
                for col in COMMON:
                    assert row.get(col), (name, col, row)
    assert broken == gen.summary.rows_with_errors
    assert 0.004 < broken / total < 0.02
    assert len(kinds) >= 4


def test_rows_without_code_carry_what_review_needs(gen: Generated) -> None:
    by_legacy = {s["legacy_code"]: s for s in gen.subjects if s["kind"] == "organisation"}
    without = []
    total = 0
    for rows in gen.rows.values():
        for row in rows:
            total += 1
            if not row.get("subject_id"):
                without.append(row)
    assert len(without) == gen.summary.rows_without_code
    assert 0.004 < len(without) / total < 0.02
    truth = {t["source_record_id"]: t["subject_id"] for t in read_rows(gen.out / "codeless.jsonl")}
    assert set(truth) == {row["source_record_id"] for row in without}
    by_code = {s["subject_id"]: s for s in gen.subjects}
    orgs = no_legacy = 0
    for row in without:
        assert row["subject_name"]
        assert row["subject_kind"] in {"organisation", "person"}
        subject = by_code[truth[row["source_record_id"]]]
        assert subject["kind"] == row["subject_kind"]
        if row["subject_kind"] == "organisation":
            orgs += 1
            assert row["subject_address"]
            assert row["subject_legal_representative"] == subject["legal_representative"]
            if "subject_legacy_code" not in row:
                no_legacy += 1  # left to the model: name, address and legal representative
                continue
            assert by_legacy[row["subject_legacy_code"]] is subject
    assert 0.2 < no_legacy / orgs < 0.5


def test_licence_rows_carry_the_registered_address_and_legal_rep(gen: Generated) -> None:
    orgs = {s["subject_id"]: s for s in gen.subjects if s["kind"] == "organisation"}
    n = 0
    for row in gen.rows["samr.csv"]:
        if row["record_type"] == "administrative_licence" and row.get("subject_id") in orgs:
            s = orgs[row["subject_id"]]
            assert row["subject_address"] == s["address"]
            assert row["subject_legal_representative"] == s["legal_representative"]
            n += 1
    assert n > 10


def test_resubmissions_come_after_their_originals(gen: Generated) -> None:
    last = END + timedelta(days=90)
    pairs = 0
    for name, first, second, on in (
        ("court.jsonl", "unperformed", "performed", "performed_on"),
        ("samr.csv", "listed", "removed", "removed_on"),
    ):
        seen: dict[str, tuple[int, dict[str, str]]] = {}
        for i, row in enumerate(gen.rows[name]):
            rid = row["source_record_id"]
            if row.get("status") == second:
                j, original = seen[rid]
                assert original["status"] == first and j < i
                assert original["decided_on"] == row["decided_on"]
                assert row["decided_on"] < row[on] <= last.isoformat()
                pairs += 1
            else:
                assert rid not in seen, f"{rid} submitted twice without a status change"
                seen[rid] = (i, row)
    assert pairs > 0


def test_rows_are_in_date_order(gen: Generated) -> None:
    for name, rows in gen.rows.items():
        dates = [
            r["decided_on"]
            for r in rows
            if r.get("status") not in {"performed", "removed", "withdrawn"}
            and is_iso(r.get("decided_on", ""))
        ]
        assert dates == sorted(dates), name


def test_court_references_look_real(gen: Generated) -> None:
    pattern = re.compile(r"（(\d{4})）(\S)(\d{4})执(\d+)号")
    refs = set()
    for row in gen.rows["court.jsonl"]:
        if "decision_ref" not in row or row.get("record_type") != "court_judgment":
            continue
        m = pattern.fullmatch(row["decision_ref"])
        assert m, row["decision_ref"]
        assert m.group(2) in PROVINCE_ABBR.values()
        assert row["authority"].endswith("人民法院")
        if is_iso(row["decided_on"]):
            assert m.group(1) == row["decided_on"][:4]
            assert START.isoformat() <= row["decided_on"] <= END.isoformat()
        sid = row.get("subject_id", "")
        if len(sid) == 18 and not sid[:17].isdigit():
            assert m.group(2) == PROVINCE_ABBR[sid[2:4]] and m.group(3) == sid[4:8]
        if "listing_decision_ref" in row:
            assert row["listing_decision_ref"] == row["decision_ref"] + "之一"
            assert "dishonest_conduct" in row
        if "listing_term_years" in row:
            assert 2 <= int(row["listing_term_years"]) <= 5
            assert row["dishonest_conduct"] != "able_but_refuses"
        if row["status"] == "unperformed":
            refs.add(row["decision_ref"])
    assert refs


def test_samr_and_tax_details(gen: Generated) -> None:
    samr_ref = re.compile(r"\S{2}市监(罚|许|异|表)〔\d{4}〕\d+号")
    for row in gen.rows["samr.csv"]:
        if "decision_ref" in row:
            assert samr_ref.fullmatch(row["decision_ref"]), row["decision_ref"]
        if row.get("record_type") == "administrative_penalty" and row.get("severity") == "serious":
            assert row["penalty_kind"] in {"licence_revocation", "business_restriction", "fine"}
            assert int(row["fine_yuan"]) >= 200_000
    bounds = {"A": (90, 100), "B": (70, 89), "M": (70, 100), "C": (40, 69), "D": (0, 39)}
    for row in gen.rows["tax.csv"]:
        if row.get("record_type") == "tax_compliance":
            continue
        lo, hi = bounds[row["level"]]
        assert lo <= float(row["score"]) <= hi
        assert row["tax_year"] == "2025"
        if is_iso(row.get("decided_on", "")):
            assert row["decided_on"].startswith("2026-04")
        assert row["authority"].startswith("国家税务总局")


def test_csv_header_is_the_union_of_columns_used(gen: Generated) -> None:
    for name in ("samr.csv", "tax.csv"):
        with (gen.out / name).open(encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh))
        used = {col for row in gen.rows[name] for col in row}
        assert set(COMMON) <= set(header)
        assert used <= set(header)
        assert set(header) - used <= {"subject_id"} | set(COMMON)


def test_persons_appear_only_in_court_judgments(gen: Generated) -> None:
    persons = {s["subject_id"] for s in gen.subjects if s["kind"] == "person"}
    persons |= {s["legacy_id"] for s in gen.subjects if "legacy_id" in s}
    for name in ("samr.csv", "tax.csv"):
        assert not any(row.get("subject_id") in persons for row in gen.rows[name])
    in_court = {r.get("subject_id") for r in gen.rows["court.jsonl"]} & persons
    assert 0.25 < len(in_court) / gen.summary.persons < 0.6


def test_two_thousand_entities_are_quick(gen: Generated) -> None:
    assert gen.seconds < 5


def test_rejects_nonsense_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(-1, tmp_path)
    with pytest.raises(ValueError):
        generate(10, tmp_path, start=date(2026, 1, 1), end=date(2025, 1, 1))


def test_tax_indicator_rows_validate_and_spread_the_tax_credit_grade(gen: Generated) -> None:
    pack = load_pack()
    method = pack.grading["tax_credit"]
    grader = Grader(pack, method, WorkingCalendar(), ZoneInfo(pack.meta.timezone))
    at = datetime(2026, 10, 1, tzinfo=ZoneInfo(pack.meta.timezone))
    latest: dict[str, GradeRecord] = {}
    by_subject: dict[str, list[str]] = {}
    kinds: set[str] = set()
    for n, raw in ingest_rows(gen.out / "tax.csv"):
        assert isinstance(raw, dict)
        if raw["record_type"] != "tax_compliance":
            continue
        valid = validate_row(pack, "tax", n, raw, date(2026, 10, 1))
        assert isinstance(valid, ValidRow), (raw, valid)
        assert START.isoformat() <= raw["decided_on"] <= END.isoformat()
        ref = re.fullmatch(
            r"\S{2}税(?:限改|简罚|稽罚|通|罚|信记)〔(\d{4})〕\d+号", raw["decision_ref"]
        )
        assert ref and ref.group(1) == raw["decided_on"][:4], raw["decision_ref"]
        assert raw["authority"].startswith("国家税务总局")
        rid = raw["source_record_id"]
        if valid.status == "withdrawn":
            assert latest[rid].status == "recorded" and latest[rid].decided_on == valid.decided_on
        else:
            assert rid not in latest
            by_subject.setdefault(valid.subject_id, []).append(rid)
        kinds.add(valid.fields["indicator"])
        latest[rid] = GradeRecord(
            rid, valid.record_type, valid.status, valid.decided_on, valid.fields
        )
    direct_d = {"tax_evasion", "false_vat_invoices", "unpaid_after_deadline",
                "violence_against_collection", "abnormal_taxpayer"}  # fmt: skip
    ordinary = {"late_filing", "late_payment", "missing_records", "invoice_irregularity"}
    assert ordinary | {"newly_established", "no_revenue"} <= kinds and kinds & direct_d
    recorded = [r for r in latest.values() if r.status == "recorded"]
    in_window = [r for r in recorded if r.decided_on > date(2025, 10, 1)]
    assert len(in_window) / len(recorded) > 0.45
    organisations = [s["subject_id"] for s in gen.subjects if s["kind"] == "organisation"]
    assert 0.6 < 1 - len(by_subject) / len(organisations) < 0.9, "most have no indicator"
    levels: dict[str, int] = {}
    for sid in organisations:
        records = [latest[rid] for rid in by_subject.get(sid, [])]
        level = grader.grade(records, [], at)["level"]
        levels[level] = levels.get(level, 0) + 1
    assert set(levels) == {"A", "B", "C", "D", "M"}
    assert levels["A"] > levels["B"] > levels["C"] > 0 and levels["D"] > 0
