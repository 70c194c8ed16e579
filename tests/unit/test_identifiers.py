"""USCC and resident ID validation with reasons, the checks python-stdnum leaves out, protection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from socialcredit.errors import ConfigurationError, InvalidIdentifier
from socialcredit.identifiers import parse_resident_id, parse_uscc
from socialcredit.identifiers.protect import IdProtector, mask_person_name
from socialcredit.identifiers.resident_id import mask_resident_id
from socialcredit.identifiers.uscc import ALPHABET, build_uscc, org_code_check, uscc_check


def test_gb32100_example_is_valid_and_described() -> None:
    u = parse_uscc("91110000600037341L")
    assert u.describe() == {
        "authority": "market regulation",
        "entity_type": "enterprise",
        "division": "110000",
        "organisation_code": "60003734-1",
    }


def test_lowercase_and_spaces_are_compacted() -> None:
    assert parse_uscc(" 9111 0000 6000 3734 1l ").code == "91110000600037341L"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("9111000060003734", "18 characters"),
        ("91110000600037341I", "not used in a USCC"),
        ("B1110000600037341L", "not a registration authority"),
        ("94110000600037341L", "entity type '4' does not exist under authority '9'"),
        ("911100A0600037341L", "6-digit administrative division"),
        ("919900006000373419", "not a known administrative division"),
        ("91110000600037342L", "embedded organisation code 60003734-2 fails its check"),
        ("91110000600037341M", "check character is 'M', expected 'L'"),
    ],
)
def test_invalid_uscc_names_its_reason(code: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_uscc(code)
    assert reason in exc.value.reason


def test_org_code_tampered_with_recomputed_check_passes_stdnum_but_not_us() -> None:
    # STACK.md: stdnum accepts this one because it skips the embedded organisation code.
    assert stdnum_uscc.is_valid("91440300708461137X")
    with pytest.raises(InvalidIdentifier, match="organisation code"):
        parse_uscc("91440300708461137X")


def test_authorities_with_letters_are_accepted() -> None:
    # stdnum demands digits in positions 1-8; codes of authorities A, N and Y exist.
    code = build_uscc("N", "2", "110105", "ABCD1234")
    assert not stdnum_uscc.is_valid(code)
    assert parse_uscc(code).authority == "N"


def test_organisation_code_check_of_gb11714() -> None:
    assert org_code_check("60003734") == "1"
    assert org_code_check("70846113") == "6"


base8 = st.text(alphabet=ALPHABET, min_size=8, max_size=8)


@given(
    base8,
    st.sampled_from(["91", "92", "93", "51", "12", "Y1"]),
    st.sampled_from(["110105", "440305", "310115", "510107"]),
)
def test_built_codes_round_trip_and_agree_with_stdnum_on_digits(
    base: str, kind: str, div: str
) -> None:
    code = build_uscc(kind[0], kind[1], div, base)
    assert parse_uscc(code).code == code
    if kind[0].isdigit():
        assert stdnum_uscc.is_valid(code)
    assert uscc_check(code[:17]) == code[17] == stdnum_uscc.calc_check_digit(code[:17])


@given(base8, st.integers(min_value=0, max_value=17), st.sampled_from(list(ALPHABET)))
def test_any_single_substitution_is_caught(base: str, pos: int, ch: str) -> None:
    code = build_uscc("9", "1", "110105", base)
    changed = code[:pos] + ch + code[pos + 1 :]
    if changed == code:
        return
    with pytest.raises(InvalidIdentifier):
        parse_uscc(changed)


def test_resident_id_valid_and_birth_date() -> None:
    rid = parse_resident_id("11010519491231002x")
    assert rid.number == "11010519491231002X"
    assert rid.birth_date.isoformat() == "1949-12-31"
    assert rid.masked() == "**************002X"


def test_fifteen_digit_id_is_lifted_to_eighteen() -> None:
    rid = parse_resident_id("110105491231002")
    assert rid.lifted_from_15
    assert rid.number.startswith("11010519491231002")
    assert stdnum_ric.is_valid(rid.number)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "check character"),
        (
            "11010519491331002" + str(stdnum_ric.calc_check_digit("110105194913310020")),
            "not a valid birth date",
        ),
        ("1101051949", "18 characters"),
    ],
)
def test_invalid_resident_id_names_its_reason(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_resident_id(number)
    assert reason in exc.value.reason


def test_keyed_hash_depends_on_key_and_encryption_round_trips() -> None:
    from cryptography.fernet import Fernet

    k = Fernet.generate_key()
    a = IdProtector(b"a" * 32, k)
    b = IdProtector(b"b" * 32, k)
    n = "11010519491231002X"
    assert a.subject_key(n) == a.subject_key(n)
    assert a.subject_key(n) != b.subject_key(n)
    assert n not in a.subject_key(n)
    token = a.encrypt(n)
    assert n not in token
    assert a.decrypt(token) == n


def test_bad_keys_are_a_clear_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="at least 16 bytes"):
        IdProtector(b"short", b"x")
    with pytest.raises(ConfigurationError, match="Fernet key"):
        IdProtector(b"a" * 32, b"not-a-key")


def test_masks() -> None:
    assert mask_person_name("张三") == "张*"
    assert mask_person_name("欧阳娜娜") == "欧**娜"
    assert mask_person_name("Li Wei") == "L* W**"
    # the last four at most: nothing of the division (1-6) or the birth date (7-14)
    assert mask_resident_id("11010519491231002X") == "**************002X"
    assert mask_resident_id("11010519491231002X", 2) == "****************2X"
    assert mask_resident_id("11010519491231002X", 0) == "*" * 18
    assert mask_resident_id("11010519491231002X", 8) == "**************002X"


def test_production_mode_without_keys_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from socialcredit.config import Settings

    with pytest.raises(ConfigurationError) as exc:
        Settings.from_env(
            {"SOCIALCREDIT_MODE": "production", "SOCIALCREDIT_KEY_FILE": str(tmp_path / "k.json")}
        )
    assert (
        "SOCIALCREDIT_ID_HASH_KEY and SOCIALCREDIT_ID_ENCRYPTION_KEY not set" in exc.value.message
    )
    assert not (tmp_path / "k.json").exists()
    dev = Settings.from_env({"SOCIALCREDIT_KEY_FILE": str(tmp_path / "k.json")})
    assert (tmp_path / "k.json").exists() and "development" in dev.key_source


def test_province_without_county_is_an_invalid_birth_place_not_a_crash() -> None:
    # python-stdnum raises KeyError inside validate() for this division (found by bench/core.py)
    with pytest.raises(InvalidIdentifier, match="birth place"):
        parse_resident_id("526102047106168623")


def test_implausible_birth_year_is_refused() -> None:
    first17 = "11010508470101002"
    number = first17 + str(stdnum_ric.calc_check_digit(first17 + "0"))
    with pytest.raises(InvalidIdentifier, match="not plausible"):
        parse_resident_id(number)


def test_vectorised_uscc_validation_accepts_exactly_what_parse_uscc_accepts() -> None:
    import random

    import numpy as np

    from socialcredit.identifiers.uscc import ALPHABET, build_uscc, valid_many

    rng = random.Random(1)
    codes = []
    for _ in range(6000):
        division = rng.choice(["110105", "440300", "310000", "110000", "999999", "010519"])
        base = "".join(rng.choice(ALPHABET) for _ in range(8))
        code = build_uscc(rng.choice("123456789ANY"), rng.choice("12359"), division, base)
        if rng.random() < 0.4:  # one character changed: check characters, alphabet, case
            j = rng.randrange(18)
            code = code[:j] + rng.choice(ALPHABET + "IOZSVa ") + code[j + 1 :]
        codes.append(code)
    codes += ["110105197005050037", "91110105MA01ABCD3X", "1" * 18]

    def canonical_valid(c: str) -> bool:
        try:
            return parse_uscc(c).code == c
        except InvalidIdentifier:
            return False

    want = [canonical_valid(c) for c in codes]
    assert 1000 < sum(want) < len(codes) - 1000  # both kinds are well represented
    assert valid_many(np.array(codes).astype("S18")).tolist() == want
    assert valid_many(np.zeros(0, "S18")).tolist() == []
