"""The policy loader refuses what DESIGN.md section 2 forbids, naming file, entry and fix."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from socialcredit.errors import PolicyError
from socialcredit.policy import default_pack_path, load_pack
from socialcredit.policy.prohibited import prohibited_category


def test_default_pack_loads_with_required_identifiers() -> None:
    pack = load_pack()
    assert {
        "court_judgment",
        "administrative_penalty",
        "administrative_licence",
        "abnormal_operation",
        "tax_credit_rating",
        "commendation",
    } <= set(pack.record_types)
    assert pack.record_types["administrative_penalty"].fields["severity"].values == [
        "minor",
        "general",
        "serious",
    ]
    assert {
        "dishonest_judgment_debtors",
        "serious_illegal_dishonest",
        "abnormal_operations",
        "a_level_taxpayers",
    } <= set(pack.lists)
    assert pack.lists["a_level_taxpayers"].kind == "red"
    assert {
        "restrict_air_travel",
        "restrict_premium_rail",
        "exclude_government_procurement",
    } <= set(pack.measures)
    assert any(m.kind == "incentive" for m in pack.measures.values())
    assert pack.sources["court"].competent_for == [
        "court_judgment",
        "consumption_restriction_order",
    ]
    assert pack.sources["tax"].competent_for == [
        "tax_credit_rating",
        "tax_compliance",
        "tax_payment",
    ]
    assert "inspection_result" in pack.sources["samr"].competent_for
    assert set(pack.grading) == {"tax_credit", "samr_risk"}
    for m in pack.measures.values():
        # the listed subject, and for the restrictions of 法释〔2015〕17号 the person a unit's
        # order names (Art. 3 para. 2): nobody else
        assert m.targets in (["listed_subject"], ["listed_subject", "responsible_persons"])
        assert m.legal_basis
        if "responsible_persons" in m.targets:
            assert [b.article for b in m.responsible_persons_basis] == ["Art. 3 para. 2"]


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "pack"
    shutil.copytree(default_pack_path(), dst)
    return dst


def edit(path: Path, change: Callable[[object], object]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump(change(data), allow_unicode=True), encoding="utf-8")


def _first(items: object) -> dict:  # type: ignore[type-arg]
    assert isinstance(items, list)
    return items[0]  # type: ignore[no-any-return]


def refuse(pack: Path, *fragments: str) -> PolicyError:
    with pytest.raises(PolicyError) as exc:
        load_pack(pack)
    for f in fragments:
        assert f in str(exc.value), str(exc.value)
    return exc.value


def test_list_without_legal_basis_is_refused(pack_copy: Path) -> None:
    f = pack_copy / "lists" / "dishonest_judgment_debtors.yaml"
    edit(f, lambda d: {k: v for k, v in d.items() if k != "legal_basis"})
    err = refuse(
        pack_copy,
        "lists/dishonest_judgment_debtors.yaml",
        "list 'dishonest_judgment_debtors'",
        "legal_basis",
        "cite",
    )
    assert "does not load" in err.fix


def test_measure_with_empty_legal_basis_is_refused(pack_copy: Path) -> None:
    f = pack_copy / "measures" / "procurement.yaml"
    edit(f, lambda d: [dict(_first(d), legal_basis=[]), *d[1:]])  # type: ignore[index]
    refuse(
        pack_copy,
        "measures/procurement.yaml",
        "exclude_government_procurement",
        "legal_basis is empty",
    )


def test_citation_that_does_not_exist_is_refused(pack_copy: Path) -> None:
    f = pack_copy / "record_types" / "commendation.yaml"
    edit(f, lambda d: dict(d, legal_basis=[{"cite": "no_such_law"}]))  # type: ignore[arg-type]
    refuse(pack_copy, "commendation", "no_such_law", "citations.yaml")


def test_unknown_field_is_refused(pack_copy: Path) -> None:
    f = pack_copy / "lists" / "abnormal_operations.yaml"
    edit(f, lambda d: dict(d, maximum_durration="3y"))  # type: ignore[arg-type]
    refuse(pack_copy, "abnormal_operations", "unknown field 'maximum_durration'", "spelling")


@pytest.mark.parametrize("target", ["relatives", "children", "family_members", "associates"])
def test_measure_reaching_beyond_the_listed_subject_is_refused(
    pack_copy: Path, target: str
) -> None:
    f = pack_copy / "measures" / "spc_consumption_restrictions.yaml"
    edit(f, lambda d: [dict(_first(d), targets=["listed_subject", target]), *d[1:]])  # type: ignore[index]
    err = refuse(pack_copy, "restrict_air_travel", f"targets {target!r}", "never relatives")
    assert "listed_subject" in err.fix


def test_responsible_persons_need_their_own_legal_basis(pack_copy: Path) -> None:
    f = pack_copy / "measures" / "spc_consumption_restrictions.yaml"
    edit(f, lambda d: [dict(_first(d), responsible_persons_basis=[]), *d[1:]])  # type: ignore[index]
    refuse(pack_copy, "restrict_air_travel", "responsible_persons_basis is empty")
    edit(
        f,
        lambda d: [
            dict(
                _first(d),
                responsible_persons_basis=[{"cite": "spc_high_consumption", "article": "Art. 3"}],
            ),
            *d[1:],
        ],
    )  # type: ignore[index]
    assert "responsible_persons" in load_pack(pack_copy).measures["restrict_air_travel"].targets


def test_the_persons_an_order_names_are_reached_only_by_a_measure_that_says_so(
    pack_copy: Path,
) -> None:
    """A list of the persons a record names beside its subject may be linked only by a
    measure that targets responsible persons with its basis."""
    f = pack_copy / "measures" / "spc_consumption_restrictions.yaml"
    edit(
        f,
        lambda d: [
            dict(_first(d), targets=["listed_subject"], responsible_persons_basis=[]),
            *d[1:],
        ],
    )  # type: ignore[index]
    refuse(
        pack_copy,
        "restrict_air_travel",
        "high_consumption_responsible_persons",
        "does not target responsible_persons",
    )


def test_a_list_lists_a_named_person_only_through_a_person_id_field(pack_copy: Path) -> None:
    f = pack_copy / "lists" / "high_consumption_responsible_persons.yaml"
    edit(
        f,
        lambda d: dict(d, entry={**d["entry"], "subject_field": "responsible_person_name"}),  # type: ignore[call-overload]
    )
    refuse(pack_copy, "high_consumption_responsible_persons", "person_id field")


@pytest.mark.parametrize(
    ("field", "category"),
    [
        ("ethnicity", "ethnicity"),
        ("religious_affiliation", "religious opinion"),
        ("face_image", "biometrics"),
        ("weibo_posts", "online speech"),
        ("relatives_ids", "social connections"),
        ("health_condition", "health"),
        ("party_membership", "political opinion"),
        # disguises that loaded before
        ("mz", "ethnicity"),
        ("minority_status", "ethnicity"),
        ("social_graph", "social connections"),
    ],
)
def test_record_field_in_a_prohibited_category_is_refused(
    pack_copy: Path, field: str, category: str
) -> None:
    f = pack_copy / "record_types" / "court_judgment.yaml"
    edit(f, lambda d: dict(d, fields={**d["fields"], field: {"type": "string"}}))  # type: ignore[index]
    refuse(pack_copy, "court_judgment", f"field '{field}'", category)


@pytest.mark.parametrize(
    ("spec", "category"),
    [
        ({"type": "enum", "values": ["汉族", "回族", "维吾尔族", "其他"]}, "ethnicity"),
        ({"type": "enum", "values": ["han", "hui", "zhuang", "other"]}, "ethnicity"),
        ({"type": "enum", "values": ["uyghur", "other"]}, "ethnicity"),
        ({"type": "enum", "values": ["buddhist", "catholic", "none"]}, "religious opinion"),
        ({"type": "enum", "values": ["中共党员", "共青团员", "群众"]}, "political opinion"),
        ({"type": "enum", "values": ["diabetes", "hypertension", "none"]}, "health"),
        ({"type": "string", "description": "The group: Han, Hui, Zhuang or other"}, "ethnicity"),
        ({"type": "string", "description": "信仰：佛教、道教或基督教"}, "religious opinion"),
    ],
)
def test_prohibited_values_under_a_neutral_name_are_refused(
    pack_copy: Path, spec: dict[str, object], category: str
) -> None:
    """An enum of ethnic groups under a neutral field name loaded: values and descriptions
    are read against the vocabularies of the prohibited categories, not only names."""
    f = pack_copy / "record_types" / "court_judgment.yaml"
    edit(f, lambda d: dict(d, fields={**d["fields"], "group": spec}))  # type: ignore[index]
    refuse(pack_copy, "court_judgment", "field 'group'", category)


def test_ordinary_values_and_descriptions_load(pack_copy: Path) -> None:
    f = pack_copy / "record_types" / "court_judgment.yaml"
    ordinary = {
        "kind": {"type": "enum", "values": ["fine", "warning", "han_river_district", "li"]},
        "note": {
            "type": "string",
            "description": "Decision of 中共中央办公厅 and 国务院办公厅 on reports by the masses in a depression, by Korean and Russian firms",
        },
    }
    edit(f, lambda d: dict(d, fields={**d["fields"], **ordinary}))  # type: ignore[index]
    assert set(ordinary) <= set(load_pack(pack_copy).record_types["court_judgment"].fields)


def test_an_entry_above_its_citations_ceiling_is_refused(pack_copy: Path) -> None:
    """A pack could set a 99-year listing or drop the minors bar: the ceilings its citations
    set (citations.yaml) are checked by the loader."""
    lst = pack_copy / "lists" / "dishonest_judgment_debtors.yaml"
    original = lst.read_text(encoding="utf-8")
    edit(lst, lambda d: dict(d, duration={**d["duration"], "maximum": "99y"}))  # type: ignore[arg-type]
    refuse(pack_copy, "dishonest_judgment_debtors", "99y", "5y", "spc_dishonest_debtors")
    lst.write_text(original, encoding="utf-8")
    edit(lst, lambda d: {k: v for k, v in d.items() if k != "bars"})  # type: ignore[union-attr]
    refuse(pack_copy, "dishonest_judgment_debtors", "drops the bar", "minor_at_decision")
    lst.write_text(original, encoding="utf-8")
    rt = pack_copy / "record_types" / "administrative_penalty.yaml"
    rt_original = rt.read_text(encoding="utf-8")
    edit(
        rt,
        lambda d: dict(
            d, publicity={**d["publicity"], "by_field": {"severity": {"serious": "10y"}}}
        ),
    )  # type: ignore[arg-type]
    refuse(pack_copy, "administrative_penalty", "publicity for severity=serious 10y", "3y")
    rt.write_text(rt_original, encoding="utf-8")
    edit(rt, lambda d: dict(d, retention={**d["retention"], "after_publicity": "30y"}))  # type: ignore[arg-type]
    refuse(pack_copy, "administrative_penalty", "retention 30y", "5y", "Art. 16")


def test_list_without_expiry_is_refused(pack_copy: Path) -> None:
    f = pack_copy / "lists" / "abnormal_operations.yaml"
    edit(f, lambda d: dict(d, exit=[x for x in d["exit"] if x["trigger"] != "expiry"]))  # type: ignore[index]
    refuse(pack_copy, "abnormal_operations", "no expiry exit")


def test_ruling_list_without_decision_reference_rule_is_refused(pack_copy: Path) -> None:
    f = pack_copy / "lists" / "dishonest_judgment_debtors.yaml"
    edit(f, lambda d: {k: v for k, v in d.items() if k != "decision_ref"})  # type: ignore[union-attr]
    refuse(pack_copy, "requires_ruling is true")


def test_bad_duration_is_refused(pack_copy: Path) -> None:
    f = pack_copy / "lists" / "abnormal_operations.yaml"
    edit(f, lambda d: dict(d, notice_period="two weeks"))  # type: ignore[arg-type]
    refuse(pack_copy, "abnormal_operations", "notice_period", "not a duration")


def test_sanction_linked_to_a_red_list_is_refused(pack_copy: Path) -> None:
    f = pack_copy / "measures" / "procurement.yaml"
    edit(f, lambda d: [dict(_first(d), lists=["a_level_taxpayers"]), *d[1:]])  # type: ignore[index]
    refuse(pack_copy, "exclude_government_procurement", "a sanction linked to red list")


def test_an_incentive_blocked_by_a_red_list_or_without_basis_is_refused(pack_copy: Path) -> None:
    f = pack_copy / "measures" / "incentives.yaml"
    original = f.read_text(encoding="utf-8")
    edit(f, lambda d: [dict(_first(d), blocked_by=["a_level_taxpayers"]), *d[1:]])  # type: ignore[index]
    refuse(pack_copy, "tax_green_channel", "not a black list")
    f.write_text(original, encoding="utf-8")
    edit(f, lambda d: [dict(_first(d), blocked_by_basis=[]), *d[1:]])  # type: ignore[index]
    refuse(pack_copy, "tax_green_channel", "blocked_by_basis")


def test_prohibited_vocabulary_matches_words_not_substrings() -> None:
    assert prohibited_category("postal_code") is None
    assert prohibited_category("decision_ref") is None
    assert prohibited_category("weiboPosts") == "online speech"
    assert prohibited_category("Religion") == "religious opinion"


# -- lending: the score is the lender's alone (issue #10, part 6) ------------------------------


def _lending_score_named_by(pack: Path, where: str) -> None:
    """Make one rule of the pack name the lending score, the way each kind of rule could."""
    score = "lending_score"
    if where == "record type":
        rt = yaml.safe_load((pack / "record_types" / "commendation.yaml").read_text("utf-8"))
        rt["id"] = score
        (pack / "record_types" / "lending_score.yaml").write_text(
            yaml.safe_dump(rt, allow_unicode=True), encoding="utf-8"
        )
    elif where == "record field":
        f = pack / "record_types" / "administrative_penalty.yaml"
        edit(f, lambda d: dict(d, fields={**d["fields"], score: {"type": "decimal"}}))  # type: ignore[index, arg-type]
    elif where == "list entry":
        f = pack / "record_types" / "administrative_penalty.yaml"
        edit(f, lambda d: dict(d, fields={**d["fields"], score: {"type": "decimal"}}))  # type: ignore[index, arg-type]
        lf = pack / "lists" / "serious_illegal_dishonest.yaml"
        edit(lf, lambda d: dict(d, entry={**d["entry"], "where": {score: ["1"]}}))  # type: ignore[index, arg-type]
    elif where == "grading indicator":
        gf = pack / "grading" / "samr_risk.yaml"
        edit(
            gf,
            lambda d: dict(
                d, indicators=[dict(d["indicators"][0], id=score), *d["indicators"][1:]]
            ),  # type: ignore[index, arg-type]
        )
    elif where == "measure":
        mf = pack / "measures" / "procurement.yaml"
        edit(mf, lambda d: [dict(_first(d), id=score), *d[1:]])  # type: ignore[index]
    else:  # pragma: no cover
        raise AssertionError(where)


@pytest.mark.parametrize(
    "where", ["record type", "record field", "list entry", "grading indicator", "measure"]
)
def test_no_rule_may_name_the_lending_score(pack_copy: Path, where: str) -> None:
    _lending_score_named_by(pack_copy, where)
    err = refuse(pack_copy, "lending_score")
    assert "credit decision only" in err.fix


def test_default_pack_has_lending_rules_with_their_basis() -> None:
    pack = load_pack()
    assert pack.lending is not None
    assert pack.lending.consent.purposes and pack.lending.consent.legal_basis
    for rid in pack.lending.report.payment_types:
        rt = pack.record_types[rid]
        assert rt.consent is not None and rt.consent.required_for == ["person"]
        assert rt.publicity.default == "0d"  # never public
        assert any(s for s in pack.sources.values() if rid in s.competent_for)


def test_consent_rule_for_a_kind_the_type_does_not_cover_is_refused(pack_copy: Path) -> None:
    f = pack_copy / "record_types" / "tax_payment.yaml"
    edit(f, lambda d: dict(d, subject_kinds=["organisation"]))  # type: ignore[arg-type]
    refuse(pack_copy, "tax_payment", "consent.required_for names 'person'")


def test_resolution_thresholds_are_policy_and_checked(pack_copy: Path) -> None:
    pack = load_pack(pack_copy)
    assert pack.resolution is not None
    assert pack.resolution.organisations.lower <= pack.resolution.organisations.upper
    f = pack_copy / "resolution" / "thresholds.yaml"
    edit(f, lambda d: dict(d, persons={"upper": 0.4, "lower": 0.6}))  # type: ignore[arg-type]
    refuse(pack_copy, "resolution/thresholds.yaml", "persons", "not 0 < lower <= upper <= 1")
    edit(f, lambda d: dict(d, persons={"upper": 0.99, "lower": 0.5}, legal_basis=[]))  # type: ignore[arg-type]
    refuse(pack_copy, "resolution thresholds", "legal_basis is empty")


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"keep_last": 6}, "keep_last"),  # the mask never shows more than the last four
        ({"record_types": ["no_such_type"]}, "record type 'no_such_type' is unknown"),
        ({"record_types": ["tax_credit_rating"]}, "not a record type of persons"),
        ({"withheld_fields": ["no_such_field"]}, "withheld field 'no_such_field'"),
    ],
)
def test_what_is_published_of_a_person_is_checked(
    pack_copy: Path, change: dict[str, object], said: str
) -> None:
    f = pack_copy / "publication.yaml"

    def apply(d: object) -> object:
        assert isinstance(d, dict)
        if "keep_last" in change:
            return dict(d, person_id={"keep_last": change["keep_last"]})
        return dict(d, person_records={**d["person_records"], **change})

    edit(f, apply)
    refuse(pack_copy, said)


def test_a_pack_without_publication_rules_publishes_the_least(pack_copy: Path) -> None:
    (pack_copy / "publication.yaml").unlink()
    pack = load_pack(pack_copy)
    assert pack.publication.person_id.keep_last == 4
    assert pack.publication.person_records.record_types == []  # no record of a person


def test_the_default_pack_has_dated_versions_and_diff_names_what_changed() -> None:
    from datetime import date

    from socialcredit.policy.versions import diff, in_force, listing

    pack = load_pack()
    assert [v["version"] for v in listing(pack)] == ["base", "2025-12-25"]
    changes = diff(pack, "base", "2025-12-25")
    assert [c["entry"] for c in changes] == ["record_types/administrative_penalty"]
    keys = {k["key"]: (k["from"], k["to"]) for k in changes[0]["changes"]}
    assert keys["publicity.by_field.penalty_kind.warning"] == (None, "0d")
    # and repair applications are decided within 7 working days instead of 10
    assert keys["repair.decision_deadline"] == ("10wd", "7wd")
    assert set(keys) == {
        "publicity.by_field.penalty_kind.warning",
        "publicity.basis",
        "repair.decision_deadline",
        "repair.legal_basis",
    }
    # by day: the rules in force the day before and the day it took effect
    assert diff(pack, "2025-12-24", "2025-12-25") == changes
    assert diff(pack, "2026-06-01", "2025-12-25") == []
    assert in_force(pack, "base") == in_force(pack, "2025-12-24")
    rt, version = pack.record_type_at("administrative_penalty", date(2025, 12, 25))
    assert version == "2025-12-25" and rt.publicity.by_field["penalty_kind"] == {"warning": "0d"}
    with pytest.raises(Exception, match="neither base"):
        diff(pack, "base", "next year")


def test_a_version_is_checked_like_the_pack(pack_copy: Path) -> None:
    vdir = pack_copy / "versions" / "2025-12-25"
    rt = vdir / "record_types" / "administrative_penalty.yaml"
    original = rt.read_text(encoding="utf-8")
    # a version may change publicity, not the fields intake validates rows by
    edit(rt, lambda d: dict(d, statuses=["in_force"]))  # type: ignore[arg-type]
    refuse(pack_copy, "administrative_penalty", "not ['statuses']")
    rt.write_text(original, encoding="utf-8")
    # it names only what it changes: a change to the pack's own entry flows through
    base = pack_copy / "record_types" / "administrative_penalty.yaml"
    edit(base, lambda d: dict(d, name={"zh": "行政处罚决定", "en": "Penalty decision"}))  # type: ignore[arg-type]
    loaded = load_pack(pack_copy)
    assert loaded.versions[0].record_types["administrative_penalty"].name.en == "Penalty decision"
    rt.write_text(original, encoding="utf-8")
    # the ceilings of its citations hold in a version too
    retention = {
        "after_publicity": "50y",
        "legal_basis": [{"cite": "credit_reporting_regulations"}],
    }
    edit(rt, lambda d: dict(d, retention=retention))  # type: ignore[arg-type]
    refuse(pack_copy, "administrative_penalty", "retention 50y", "5y")
    rt.write_text(original, encoding="utf-8")
    # the directory is named by its day
    vdir.rename(pack_copy / "versions" / "2026-01-01")
    refuse(pack_copy, "version 2026-01-01", "differs from the directory's name")


def test_a_later_shorter_retention_governs_from_its_day() -> None:
    """Retention is read under the rules of the decision date; a later version that keeps a
    person's data for less applies from the day it takes effect (Art. 37), one that keeps it
    longer does not."""
    from datetime import UTC, date, datetime, timedelta

    from socialcredit.policy import load_pack
    from socialcredit.policy.model import PackVersion
    from socialcredit.policy.versions import governing_retention

    pack = load_pack(None)
    base = pack.record_types["utility_payment"]

    def version(name: str, term: str) -> PackVersion:
        rt = base.model_copy(
            update={"retention": base.retention.model_copy(update={"after_publicity": term})}
        )
        return PackVersion(
            name=name,
            effective_from=date.fromisoformat(name),
            legal_basis=pack.versions[0].legal_basis,
            record_types={"utility_payment": rt},
        )

    publicity_ends = datetime(2026, 3, 1, tzinfo=UTC)
    years = {"1y": 1, "5y": 5, "8y": 8}

    def after(term: str) -> datetime:
        return publicity_ends + timedelta(days=365 * years[term])

    def governed(*versions: PackVersion) -> tuple[datetime, str]:
        p = pack.model_copy(update={"versions": [*pack.versions, *versions]})
        return governing_retention(p, "utility_payment", date(2026, 1, 10), after)

    assert governed()[0] == after("5y")
    # shorter from 2028: the record's data goes on the day that rule takes effect
    assert governed(version("2028-01-01", "1y")) == (
        datetime(2028, 1, 1, tzinfo=UTC),
        "2028-01-01",
    )
    # shorter from 2026-06-01: counted from the end of publicity, one year
    assert governed(version("2026-06-01", "1y")) == (after("1y"), "2026-06-01")
    # longer later: the rule of the decision date stays
    assert governed(version("2027-01-01", "8y"))[0] == after("5y")
    # a version in force on the decision date governs as the rule of that date
    early = version("2025-01-01", "8y")
    p = pack.model_copy(update={"versions": [early, *pack.versions]})
    assert governing_retention(p, "utility_payment", date(2026, 1, 10), after) == (
        after("8y"),
        "2025-01-01",
    )
