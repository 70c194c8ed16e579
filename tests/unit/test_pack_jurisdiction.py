"""What a jurisdiction declares of itself is pack data: identifiers, languages, time zone,
calendar and country. A pack of another jurisdiction loads and runs with no Python; a pack that
declares them wrongly is refused, with the file, the entry and the fix."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from socialcredit.errors import InvalidIdentifier, PolicyError
from socialcredit.identifiers.schemes import scheme
from socialcredit.policy.durations import WorkingCalendar
from socialcredit.policy.load import PACKS_DIR, bundled_packs, default_pack_path, load_pack

UK = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "uk-debarment"


@pytest.fixture
def uk(tmp_path: Path) -> Path:
    dst = tmp_path / "uk"
    shutil.copytree(UK, dst)
    return dst


def _meta(pack: Path, **changes: object) -> None:
    f = pack / "pack.yaml"
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    for k, v in changes.items():
        if v is None:
            data.pop(k, None)
        else:
            data[k] = v
    f.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def refuse(pack: Path, *fragments: str) -> None:
    with pytest.raises(PolicyError) as exc:
        load_pack(pack)
    for f in fragments:
        assert f in str(exc.value), str(exc.value)


def test_the_bundled_packs_load_by_name() -> None:
    assert bundled_packs() == ["cn-national", "eu-edes"]
    edes = load_pack("eu-edes")
    assert edes.meta.jurisdiction == "EU" and edes.meta.languages == ["en"]
    assert edes.meta.ids.organisation.stdnum == "eu.vat" and edes.meta.ids.person is None
    assert load_pack(PACKS_DIR / "eu-edes").digest == edes.digest
    with pytest.raises(PolicyError, match="cn-national, eu-edes"):
        load_pack("no-such-pack")


def test_a_six_file_pack_of_another_jurisdiction_loads(uk: Path) -> None:
    pack = load_pack(uk)
    assert pack.meta.languages == ["en"]
    assert pack.lists["debarment_list"].name.root == {"en": "Central debarment list"}
    # a title in a Latin script takes its number in plain brackets
    assert pack.cite(pack.lists["debarment_list"].legal_basis) == [
        "Procurement Act 2023 (2023 c. 54) s. 62"
    ]
    assert (
        load_pack(default_pack_path())
        .cite(load_pack(default_pack_path()).lists["dishonest_judgment_debtors"].legal_basis)[0]
        .endswith("（法释〔2017〕7号） Art. 1")
    )


def test_a_pack_of_another_country_must_declare_its_identifiers(uk: Path) -> None:
    _meta(uk, identifiers=None)
    refuse(uk, "pack.yaml", "identifiers", "GB declares no identifiers")


def test_an_identifier_scheme_is_checked(uk: Path) -> None:
    name = {"en": "VAT number"}
    _meta(uk, identifiers={"organisation": {"name": name, "stdnum": "xx.nothing"}})
    refuse(uk, "identifiers.organisation", "no module 'xx.nothing'")
    _meta(uk, identifiers={"organisation": {"name": name, "stdnum": "eu.vat", "scheme": "uscc"}})
    refuse(uk, "more than one scheme")
    _meta(uk, identifiers={"organisation": {"name": name}})
    refuse(uk, "says nothing of how the number is read")
    _meta(uk, identifiers={"organisation": {"name": name, "pattern": "^[0-9]{8}$("}})
    refuse(uk, "identifiers.organisation")
    _meta(
        uk,
        identifiers={"organisation": {"name": name, "stdnum": "eu.vat", "example": "BE0403170702"}},
    )
    refuse(uk, "its example 'BE0403170702' is not valid")


def test_persons_need_a_person_identifier(uk: Path) -> None:
    f = uk / "record_types" / "debarment_decision.yaml"
    f.write_text(
        f.read_text(encoding="utf-8").replace(
            "subject_kinds: [organisation]", "subject_kinds: [organisation, person]"
        ),
        encoding="utf-8",
    )
    refuse(uk, "concerns persons, but the pack declares no person identifier")


def test_every_text_is_in_each_of_the_packs_languages(uk: Path) -> None:
    _meta(uk, languages=["zh", "en"])
    refuse(uk, "has no text in zh", "add zh")
    _meta(uk, languages=["fr"])
    refuse(uk, "not written in 'fr'")
    _meta(uk, languages=["en"])
    f = uk / "lists" / "debarment_list.yaml"
    f.write_text(
        f.read_text(encoding="utf-8").replace(
            "name: {en: Central debarment list}", "name: {english: Central debarment list}"
        ),
        encoding="utf-8",
    )
    refuse(uk, "not a language code")


def test_the_calendar_and_the_zone_are_the_packs(uk: Path) -> None:
    _meta(uk, calendar=None)  # no calendar declared: the jurisdiction's
    assert load_pack(uk).meta.calendar_country == "GB"
    _meta(uk, jurisdiction="EU")
    refuse(uk, "no calendar of 'EU'", "calendar: {country: ...}")
    _meta(uk, jurisdiction="GB", calendar={"country": "XX"})
    refuse(uk, "no calendar of 'XX'")
    _meta(uk, calendar={"country": "GB"}, timezone="Europe/Nowhere")
    refuse(uk, "unknown time zone")
    # a country that never moves working days onto weekends knows its years in advance
    assert WorkingCalendar("GB").is_announced(2031)
    assert not WorkingCalendar("CN").is_announced(2031)
    assert not WorkingCalendar("GB").is_working_day(date(2026, 12, 28))  # Boxing Day moved


def test_schemes_read_numbers_with_their_reasons() -> None:
    vat = scheme(None, "eu.vat", None)
    assert vat.parse("be 0403.170.701").number == "BE0403170701"
    with pytest.raises(InvalidIdentifier, match="checksum"):
        vat.parse("BE0403170702")
    companies = scheme(None, None, r"^(?:[0-9]{8}|SC[0-9]{6})$", "09446231")
    assert companies.parse(" sc123456 ").number == "SC123456"
    with pytest.raises(InvalidIdentifier, match="a number such as 09446231"):
        companies.parse("1234567")
    uscc = scheme("uscc", None, None)
    assert uscc.parse("91350100M000100Y43").uscc is not None


def test_labels_name_fields_and_values_that_exist(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(default_pack_path(), pack)
    f = pack / "labels.yaml"
    original = f.read_text(encoding="utf-8")
    f.write_text(original + "\n  on_tme: {zh: 按时, en: On time}\n", encoding="utf-8")
    refuse(pack, "labels.yaml", "'on_tme' is a value of no field")
    f.write_text(
        original.replace("  cause: {zh: 原因, en: Cause}", "  caus: {zh: 原因, en: Cause}")
    )
    refuse(pack, "'caus' is a field of no record type")
    f.write_text(original.replace("  cause: {zh: 原因, en: Cause}", "  cause: {en: Cause}"))
    refuse(pack, "has no text in zh")
