"""Identifier validators against python-stdnum and against generated valid and invalid codes.

python-stdnum (``stdnum.cn.uscc``, ``stdnum.cn.ric``) is the reference. Where we differ from it,
we mean to, and each difference is asserted here by name (RULES.md section 1, STACK.md section 4):

USCC (``parse_uscc``)
  1. stdnum demands digits in positions 1-8; authorities A (military), N (agriculture) and
     Y (other) have letters there, and we accept them.
  2. stdnum accepts any registration authority and entity type; we accept only the pairs of
     GB 32100's annex (``AUTHORITY_TYPES``).
  3. stdnum accepts any six digits as the administrative division; we look it up in the GB/T 2260
     table that stdnum itself ships (``region_known``).
  4. stdnum skips the embedded GB 11714 organisation code; we check its own check character.
  Otherwise both accept the same inputs, formatting included (case, spaces, hyphens, full-width
  digits).

Resident ID (``parse_resident_id``)
  5. stdnum knows only the 18-character form; we lift the old 15-digit form (century 19,
     computed check) and validate what results.
  6. stdnum accepts any birth year; we refuse births before ``EARLIEST_BIRTH_YEAR`` (1890).
  7. stdnum 2.2 raises KeyError for a division known as a province but not as a county; we refuse
     the number (an invalid birth place), never crash.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from stdnum import numdb
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from socialcredit.errors import InvalidIdentifier
from socialcredit.identifiers import looks_like_resident_id, parse_resident_id, parse_uscc
from socialcredit.identifiers.resident_id import (
    EARLIEST_BIRTH_YEAR,
    lift_15,
    mask_resident_id,
)
from socialcredit.identifiers.uscc import (
    ALPHABET,
    AUTHORITY_TYPES,
    build_uscc,
    org_code_check,
    region_known,
    uscc_check,
    valid_many,
)

FAST = settings(derandomize=True, deadline=None, max_examples=150)
SLOW = settings(derandomize=True, deadline=None, max_examples=50)


def _divisions() -> list[str]:
    """Every six-digit division of the GB/T 2260 table python-stdnum ships (about 6,900)."""
    out = []
    for _, lo, hi, _, children in numdb.get("cn/loc").prefixes:
        for _, clo, chi, _, _ in children:
            for n in range(int(clo), int(chi) + 1):
                out.append(f"{lo}{n:04d}")
        assert lo == hi
    return out


DIVISIONS = _divisions()
PAIRS = [a + t for a, types in AUTHORITY_TYPES.items() for t in types]
ORG_VALUES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

known_division = st.sampled_from(DIVISIONS)
any_division = st.one_of(known_division, st.text("0123456789", min_size=6, max_size=6))
base8 = st.text(alphabet=ALPHABET, min_size=8, max_size=8)


def accepts(parse: Callable[[str], object], value: str) -> bool:
    try:
        parse(value)
    except InvalidIdentifier:
        return False
    return True


def reason(parse: Callable[[str], object], value: str) -> str | None:
    try:
        parse(value)
    except InvalidIdentifier as exc:
        return exc.reason
    return None


def stdnum_ric_valid(value: str) -> bool:
    try:
        return stdnum_ric.is_valid(value)
    except KeyError:  # difference 7: stdnum 2.2 crashes on some divisions
        return False


# --- USCC ------------------------------------------------------------------------------------

valid_uscc = st.builds(
    lambda pair, div, base: build_uscc(pair[0], pair[1], div, base),
    st.sampled_from(PAIRS),
    known_division,
    base8,
)


@FAST
@given(valid_uscc)
@example("91110000600037341L")  # GB 32100's own example
def test_every_generated_valid_uscc_is_accepted_and_stdnum_agrees_unless_letters(code: str) -> None:
    u = parse_uscc(code)
    assert u.code == code
    assert u.describe()["division"] == code[2:8]
    # difference 1: stdnum refuses letters in positions 1-8, i.e. authorities A, N, Y
    assert stdnum_uscc.is_valid(code) == code[:8].isdigit()
    assert stdnum_uscc.calc_check_digit(code[:17]) == uscc_check(code[:17]) == code[17]


@st.composite
def stdnum_valid_codes(draw: st.DrawFn) -> str:
    """Codes python-stdnum accepts: digits in 1-8, the alphabet in 9-17, its check in 18. Each
    part of GB 32100 that stdnum does not check is drawn right or wrong, so that every
    combination of our extra checks comes up."""
    pair = draw(
        st.one_of(
            st.sampled_from([p for p in PAIRS if p.isdigit()]),
            st.text("0123456789", min_size=2, max_size=2),
        )
    )
    division = draw(any_division)
    base = draw(base8)
    check = draw(st.one_of(st.just(org_code_check(base)), st.sampled_from(ALPHABET)))
    first17 = pair + division + base + check
    code = first17 + stdnum_uscc.calc_check_digit(first17)
    assert stdnum_uscc.is_valid(code)
    return code


@FAST
@given(stdnum_valid_codes())
@example("000000000000000000")  # STACK.md: stdnum accepts it
@example("91440300708461137X")  # STACK.md: organisation code tampered with, check recomputed
def test_what_stdnum_accepts_we_accept_except_the_documented_checks(code: str) -> None:
    why = reason(parse_uscc, code)
    pair_ok = code[1] in AUTHORITY_TYPES.get(code[0], {})
    division_ok = region_known(code[2:8])
    org_ok = org_code_check(code[8:16]) == code[16]
    assert (why is None) == (pair_ok and division_ok and org_ok), (code, why)
    if why is None:
        return
    # each refusal names the first of our extra checks that failed (differences 2-4)
    if code[0] not in AUTHORITY_TYPES:
        assert "not a registration authority code" in why
    elif not pair_ok:
        assert f"entity type {code[1]!r} does not exist under authority" in why
    elif not division_ok:
        assert f"{code[2:8]} is not a known administrative division" in why
    else:
        assert "embedded organisation code" in why and "fails its check" in why


def _variants(draw: Callable[[st.SearchStrategy[Any]], Any], code: str) -> str:
    """``code`` as a person or an agency file might write it: lower case, spaces and hyphens
    between characters, full-width digits (全角), surrounding white space."""
    n = len(code)
    changed = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    gaps = draw(
        st.just([""] * n)
        | st.lists(st.sampled_from(["", "", " ", "-", "\u00a0", "\u2013"]), min_size=n, max_size=n)
    )
    out = []
    for c, change, gap in zip(code, changed, gaps, strict=True):
        if change and c.isdigit():
            c = chr(ord(c) + 0xFEE0)  # FULLWIDTH DIGIT
        elif change:
            c = c.lower()
        out.append(c + gap)
    lead: str = draw(st.sampled_from(["", " ", "\t", "\u3000"]))
    trail: str = draw(st.sampled_from(["", " ", "\n", "\r\n"]))
    return lead + "".join(out) + trail


@FAST
@given(st.data(), valid_uscc)
@example(None, "９１１１００００６０００３７３４１L")  # full-width digits, nothing else
def test_formatting_is_read_as_stdnum_reads_it(data: st.DataObject | None, code: str) -> None:
    # Found here: full-width digits were accepted with a space somewhere in the code and refused
    # without one (the quick path for 18 alphanumerics took ``str.isalnum`` as ASCII).
    written = code if data is None else _variants(data.draw, code)
    canonical = stdnum_uscc.compact(written)
    if canonical[:8].isdigit():
        assert stdnum_uscc.is_valid(written)
    assert accepts(parse_uscc, written)
    assert parse_uscc(written).code == canonical


@FAST
@given(
    valid_uscc,
    st.integers(0, 17),
    st.sampled_from([*ALPHABET, "I", "O", "S", "V", "Z", "*", "?", "a", "-"]),
)
def test_any_single_character_changed_is_refused(code: str, pos: int, ch: str) -> None:
    changed = code[:pos] + ch + code[pos + 1 :]
    assume(changed.upper() != code)
    assert not accepts(parse_uscc, changed)
    assert not stdnum_uscc.is_valid(changed)


@FAST
@given(valid_uscc, st.integers(0, 16))
def test_any_adjacent_transposition_is_refused(code: str, pos: int) -> None:
    # GB/T 17710 weights 3^i mod 31 are distinct, and the check itself weighs 1: every swap of
    # two different characters changes the sum
    assume(code[pos] != code[pos + 1])
    swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2 :]
    assert not accepts(parse_uscc, swapped)


@FAST
@given(valid_uscc, st.integers(8, 16), st.sampled_from(ALPHABET))
def test_organisation_code_changed_and_uscc_check_recomputed(code: str, pos: int, ch: str) -> None:
    """The case stdnum misses (difference 4): a tampered organisation code under a freshly
    computed USCC check. We refuse it unless the change keeps GB 11714's mod-11 sum, which a
    difference of 11, 22 or 33 in value does ('0' -> 'B'): then it is a valid code."""
    assume(code[pos] != ch)
    first17 = code[:pos] + ch + code[pos + 1 : 17]
    tampered = first17 + uscc_check(first17)
    if tampered[:8].isdigit():
        assert stdnum_uscc.is_valid(tampered)
    org_still_valid = org_code_check(tampered[8:16]) == tampered[16]
    assert accepts(parse_uscc, tampered) == org_still_valid
    if org_still_valid:
        delta = abs(ORG_VALUES.index(code[pos]) - ORG_VALUES.index(ch))
        assert pos < 16 and delta % 11 == 0


@FAST
@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=8, max_size=8))
def test_organisation_code_check_follows_gb11714(base: str) -> None:
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(ORG_VALUES.index(c) * w for c, w in zip(base, weights, strict=True))
    c = 11 - total % 11
    assert org_code_check(base) == {10: "X", 11: "0"}.get(c, str(c))
    # a digit's value differs from any other digit's by less than 11: always caught alone
    for i, d in enumerate(base):
        if d.isdigit():
            for other in "0123456789":
                if other != d:
                    assert org_code_check(base[:i] + other + base[i + 1 :]) != org_code_check(base)


# --- the vectorised validator -----------------------------------------------------------------


def canonical_valid(c: str) -> bool:
    try:
        return parse_uscc(c).code == c
    except InvalidIdentifier:
        return False


@st.composite
def uscc_rows(draw: st.DrawFn) -> bytes:
    """18 bytes: a valid code, one changed, or anything at all (NUL, high bytes, lower case)."""
    kind = draw(st.integers(0, 3))
    if kind == 3:
        return draw(st.binary(min_size=18, max_size=18))
    code = draw(
        st.builds(
            lambda pair, div, base: build_uscc(pair[0], pair[1], div, base),
            st.one_of(st.sampled_from(PAIRS), st.text(ALPHABET, min_size=2, max_size=2)),
            any_division,
            base8,
        )
    )
    if kind >= 1:
        pos = draw(st.integers(0, 17))
        ch = draw(st.sampled_from([*ALPHABET, "I", "a", "l", " ", "\x00", "\xff", "\u00e9"]))
        code = code[:pos] + ch + code[pos + 1 :]
    return code.encode("latin-1")


@SLOW
@given(st.lists(uscc_rows(), max_size=60))
def test_valid_many_accepts_exactly_what_parse_uscc_accepts_in_canonical_form(
    rows: list[bytes],
) -> None:
    """Extends tests/unit/test_identifiers.py (one seeded batch) to any batch, any bytes."""
    arr = np.array(rows, dtype="S18") if rows else np.zeros(0, "S18")
    raw = arr.tobytes()  # the 18 bytes of each row as valid_many reads them (NULs included)
    want = [canonical_valid(raw[i : i + 18].decode("latin-1")) for i in range(0, len(raw), 18)]
    assert valid_many(arr).tolist() == want
    # order and batch composition do not matter
    assert valid_many(arr[::-1]).tolist() == want[::-1]


# --- resident ID -------------------------------------------------------------------------------

birth_dates = st.dates(date(1850, 1, 1), date(2030, 12, 31))


def build_resident_id(division: str, born: date, seq: int) -> str:
    first17 = f"{division}{born:%Y%m%d}{seq:03d}"
    return first17 + stdnum_ric.calc_check_digit(first17 + "0")


valid_resident_id = st.builds(
    build_resident_id,
    known_division,
    st.dates(date(EARLIEST_BIRTH_YEAR, 1, 1), date(2025, 12, 31)),
    st.integers(0, 999),
).filter(stdnum_ric_valid)


@st.composite
def eighteen(draw: st.DrawFn) -> str:
    """Numbers with the right check, over any division and any birth date (valid or not)."""
    division = draw(any_division)
    if draw(st.booleans()):
        middle = f"{draw(birth_dates):%Y%m%d}"
    else:
        middle = draw(st.text("0123456789", min_size=8, max_size=8))
    first17 = f"{division}{middle}{draw(st.integers(0, 999)):03d}"
    return first17 + stdnum_ric.calc_check_digit(first17 + "0")


@FAST
@given(eighteen())
@example("11010519491231002X")
@example("526102047106168623")  # difference 7 (tests/unit: found by bench/core.py)
@example(build_resident_id("110105", date(1889, 12, 31), 2))  # difference 6
def test_eighteen_digit_ids_accepted_exactly_when_stdnum_accepts_from_1890(number: str) -> None:
    ours = reason(parse_resident_id, number)
    theirs = stdnum_ric_valid(number)
    if theirs and int(number[6:10]) < EARLIEST_BIRTH_YEAR:
        assert ours is not None and "not plausible" in ours  # difference 6
        return
    assert (ours is None) == theirs, (number, ours)
    if ours is None:
        rid = parse_resident_id(number)
        assert rid.number == number and not rid.lifted_from_15
        assert rid.birth_date == stdnum_ric.get_birth_date(number)


fifteen_digit = st.builds(
    lambda d, born, seq: f"{d}{born:%y%m%d}{seq:03d}",
    known_division,
    st.dates(date(1900, 1, 1), date(1999, 12, 31)),
    st.integers(0, 999),
)


@FAST
@given(st.text("0123456789", min_size=15, max_size=15) | fifteen_digit)
def test_fifteen_digit_ids_are_read_as_their_eighteen_digit_form(old: str) -> None:
    lifted = lift_15(old)
    assert lifted[:6] == old[:6] and lifted[6:8] == "19" and lifted[8:17] == old[6:]
    assert accepts(parse_resident_id, old) == stdnum_ric_valid(lifted)  # difference 5
    if stdnum_ric_valid(lifted):
        rid = parse_resident_id(old)
        assert rid.lifted_from_15 and rid.number == lifted
        # masked in its 18-digit form: nothing of the birth date shows
        assert rid.masked() == mask_resident_id(lifted)
        assert old[6:12] not in rid.masked() and lifted[6:14] not in rid.masked()


@FAST
@given(
    valid_resident_id,
    st.integers(0, 17),
    st.sampled_from([*"0123456789X", "A", "*", " "]),
)
def test_any_single_character_of_a_resident_id_changed_is_refused(
    number: str, pos: int, ch: str
) -> None:
    changed = number[:pos] + ch + number[pos + 1 :]
    assume(changed != number)
    assert not accepts(parse_resident_id, changed)
    assert not stdnum_ric_valid(changed)


@FAST
@given(valid_resident_id, st.integers(0, 16))
def test_any_adjacent_transposition_in_a_resident_id_is_refused(number: str, pos: int) -> None:
    assume(number[pos] != number[pos + 1])
    swapped = number[:pos] + number[pos + 1] + number[pos] + number[pos + 2 :]
    assert not accepts(parse_resident_id, swapped)


@FAST
@given(valid_resident_id, st.data())
def test_resident_id_formatting_is_read_as_stdnum_reads_it(
    number: str, data: st.DataObject
) -> None:
    wide = data.draw(st.lists(st.booleans(), min_size=18, max_size=18))
    written = "".join(
        chr(ord(c) + 0xFEE0) if w and c.isdigit() else c for c, w in zip(number, wide, strict=True)
    )
    if written.endswith("X") and data.draw(st.booleans()):
        written = written[:-1] + "x"
    written = (
        data.draw(st.sampled_from(["", " ", "\t"]))
        + written
        + data.draw(st.sampled_from(["", " ", "\n"]))
    )
    assert stdnum_ric_valid(written)
    assert parse_resident_id(written).number == number


@FAST
@given(
    st.text(min_size=0, max_size=20) | st.text("0123456789²³¹٠١٢٣४५੬௭໘９", min_size=14, max_size=19)
)
@example("11010549123100²")  # found here: int('²') raised ValueError out of lift_15
@example("١١٠١٠٥٤٩١٢٣١٠٠٢")
def test_any_text_is_refused_with_a_reason_or_accepted_never_a_crash(value: str) -> None:
    for parse in (parse_uscc, parse_resident_id):
        try:
            parse(value)
        except InvalidIdentifier as exc:
            assert exc.reason
    # the dispatch of services/subjects.resolve_code may call the resident-ID parser on it
    if looks_like_resident_id(value):
        reason(parse_resident_id, value.strip().upper())


# --- masking -----------------------------------------------------------------------------------


@FAST
@given(valid_resident_id, valid_resident_id)
def test_a_masked_id_shows_the_last_four_characters_only(a: str, b: str) -> None:
    """The registry's mask (publication.yaml): the last sequence digits with the check and
    nothing else. Court lists also show the first four (province and prefecture), which with the
    district from a court's case number and the check character left ~2,600 candidate birth
    dates; nothing of the division or the birth date shows here: two numbers that share the last
    four characters mask alike."""
    ma = parse_resident_id(a).masked()
    assert len(ma) == 18
    assert ma[-4:] == a[-4:]
    assert ma[:14] == "*" * 14
    assert a[6:14] not in ma  # the birth date
    mixed = b[:14] + a[-4:]
    assert mask_resident_id(mixed) == ma
    # and nothing else in the number can be recovered from the mask
    shown = {i for i, c in enumerate(ma) if c != "*"}
    assert shown == {14, 15, 16, 17}


def test_the_division_table_the_generators_draw_from() -> None:
    assert len(DIVISIONS) > 3000
    assert all(region_known(d) for d in DIVISIONS)


@pytest.mark.parametrize("pair", PAIRS)
def test_every_authority_and_type_of_the_annex_parses(pair: str) -> None:
    code = build_uscc(pair[0], pair[1], "110105", "MA01ABCD")
    assert parse_uscc(code).describe()["entity_type"] == AUTHORITY_TYPES[pair[0]][pair[1]]
