"""Probabilistic resolution with Splink (Fellegi-Sunter), DuckDB by default: persons, organisations.

A row about a person that carries no usable resident ID is compared with the register's
records on name, date of birth, ID number and address. Splink scores every candidate pair:
each comparison (name, date of birth, ...) falls into one of its levels, each level has a
Bayes factor m/u, and the product with the prior odds gives the pair's match weight (log2)
and match probability. The parameters are Splink's own estimates, never set by hand:

- the prior, ``probability_two_random_records_match``, from strict deterministic rules and a
  recall assumption (``estimate_probability_two_random_records_match``);
- the u probabilities (how often a level occurs between different people) from random pairs
  (``estimate_u_using_random_sampling``, seeded), then, for persons, counted again on random
  pairs that disagree outright on another comparison (``_u_from_disagreeing_pairs``: where
  people have many records each, the matches among random pairs made every agreement look
  several times commoner between different people than it is);
- the m probabilities (how often a level occurs between records of one person) by
  expectation maximisation over two blocking rules, each session training the comparisons
  its rule leaves free (``estimate_parameters_using_expectation_maximisation``).

What this adds to a plain Splink set-up, for messy data:

- **Normalisation** before any comparison: Unicode NFKC (full-width to half-width), accents
  removed, case folded, spaces and punctuation removed (``normalise.fold``); identifiers and
  dates reduced to their letters and digits; dates written ``DD/MM/YYYY`` or ``YYYY-MM-DD``
  put in one form. An empty value is NULL, and a NULL is absent evidence (Bayes factor 1).
- **Columns empty in every row are dropped** from comparisons and blocking rules, so a data
  set without, say, ID numbers is still resolved on what it has.
- **Blocking rules that survive corruption**: each rule needs agreement on one field only
  (ID number, date of birth, the two names in either order, phonetic name keys, or a name
  plus a location or year), so a pair is still found when most of its fields are wrong.
- **Comparisons tolerant of the usual errors**: names compared as a pair, with levels for
  typos (Jaro-Winkler), given name and surname swapped (exact or with typos) and one name
  agreeing; dates of birth with levels for a day/month swap, one edited or transposed digit
  and the same year and month; ID numbers and postcodes within one or two edits. Exact
  agreement on names, postcode and suburb is adjusted for how common the value is.
- **Clustering** at the upper threshold, so that A~B and B~C gives A~C: transitivity
  recovers pairs whose direct comparison is too damaged to link. Links are taken best first,
  and one that would join two groups of records joins them only if their records are, on
  average, more likely than not the same person (``_clusters``): a record that says too
  little to tell two people apart does not merge them (no link without a margin).

Thresholds are on the match probability, from ``packs/cn-national/resolution/thresholds.yaml``
(a policy choice of the registry): at or above ``upper`` (0.99: at most one wrong link in a
hundred such decisions by the model's own account, the level Splink's documentation clusters
at) a pair links automatically; from ``lower`` (0.5: a match is more likely than not) up to
``upper`` it goes to the review queue with the candidate and the per-comparison explanation;
below ``lower`` the row is unresolved. A probability, unlike a weight, keeps its meaning when
the prior changes with the size of the register.

Training: by default a model is trained on the data it is asked to resolve (Splink's
estimation is unsupervised). The u probabilities and the prior depend on the population
(how common a surname or a postcode is, how many records there are), and m on the error
rates of the sources, so estimates from the data at hand generalise better than any fixed
set. The saved model (``persons_v1.json``, trained on generated Chinese and Latin-alphabet
person records, see ``bench/person_records.py``) is used where there is too little data to
train on: one incoming row against the register, or records on which no training rule finds
pairs (``TooLittleData``). Its prior is rescaled to the size of the data (``match_rate``).

Organisations (``kind="organisation"``, columns ``name``, ``address``, ``legal_rep``,
``uscc``) use the same training and decisions with their own comparisons: the name taken
apart by ``normalise.org_name`` after traditional characters are simplified
(``normalise.TRADITIONAL``),
so the legal form is compared on its own and a branch never agrees with its head office;
the address without its province, with a character-set level for parts written in another
order; the legal representative; the USCC within one or two edits.

Engines: ``engine="duckdb"`` (default; a connection of its own per call, with ``threads``) or
``engine="spark"``, Splink's Spark backend on the process's local Spark session
(``socialcredit.spark``: ``local[2]``, Splink's similarity jar on ``spark.jars``; ``threads``
does not apply). It is the same job: the comparisons and rules, written for DuckDB, declare
their dialect and Splink translates them; DuckDB's string functions, which work on UTF-8
bytes and which the Spark jar does not reproduce, run as DuckDB itself in the Spark workers;
a model trained on Spark is stored in DuckDB's dialect (``spark_engine``). With the same model
the engines give every candidate pair the same levels and probability
(``tests/integration/test_resolution_spark.py``); trained on each, the models differ where
u is estimated from a random sample (the engines draw other samples). Inputs and results stay
pandas frames on the driver. Spark pays a session start (6-20 s) and the planning of Splink's
queries whatever the size: on a thousand records it is 6-35 times slower than DuckDB.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from . import normalise

#: Bump when the preparation, comparisons or blocking of a kind change: a saved model records
#: the version it was trained under, and a model of another version does not load.
VERSIONS = {"person": 3, "organisation": 1}

Kind = Literal["person", "organisation"]
Decision = Literal["link", "review", "unresolved"]

#: The columns a person data set may carry (FEBRL's names); any may be missing or empty.
PERSON_COLUMNS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)

_TEXT = ("given_name", "surname", "address_1", "address_2", "suburb", "state")
_CODES = ("street_number", "postcode", "soc_sec_id")

PACK = "cn-national"
SEED = 20240604
DEFAULT_THREADS = 2
#: Fewer rows than this and term frequencies are not used (see :func:`link`).
TF_MIN_ROWS = 1000
_LEFT, _RIGHT = "records_left", "records_right"


# -- preparation -----------------------------------------------------------------------------


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def fold_text(value: object) -> str | None:
    """A name or address part folded for comparison, or None when nothing is left."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    s = _strip_accents(normalise.fold(str(value))).replace("(", "").replace(")", "")
    return s or None


def fold_code(value: object) -> str | None:
    """An identifier or number: letters and digits only, upper case; None when empty."""
    s = fold_text(value)
    return s.upper() if s else None


_DMY = re.compile(r"^(\d{1,2})\D(\d{1,2})\D(\d{4})$")
_YMD = re.compile(r"^(\d{4})\D(\d{1,2})\D(\d{1,2})$")


def fold_date(value: object) -> str | None:
    """A date of birth as ``YYYYMMDD`` where it can be read as one; otherwise its digits
    (a damaged date still compares digit by digit); None when empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    raw = unicodedata.normalize("NFKC", str(value)).strip()
    if m := _YMD.match(raw):
        return f"{m[1]}{int(m[2]):02d}{int(m[3]):02d}"
    if m := _DMY.match(raw):
        return f"{m[3]}{int(m[2]):02d}{int(m[1]):02d}"
    digits = "".join(c for c in raw if c.isdigit())
    return digits or None


_SOUNDEX = str.maketrans("bfpvcgjkqsxzdtlmnr", "111122222222334556")


def phonetic(name: str | None) -> str | None:
    """American Soundex of a Latin-alphabet name; other scripts are their own key."""
    if not name:
        return None
    if not name.isascii() or not name.isalpha():
        return name
    codes = name.translate(_SOUNDEX)
    out, last = [name[0]], codes[0]
    for ch, code in zip(name[1:], codes[1:], strict=True):
        if code.isdigit() and code != last:
            out.append(code)
        if ch not in "hw":
            last = code
    return "".join(out)[:4].ljust(4, "0")


#: Titles and honorifics written after a name (before it, rigour's list of person-name
#: prefixes is used: ``rigour.names.remove_person_prefixes``), and prefixes that list lacks.
_NAME_SUFFIXES = re.compile(
    r"(?:[\s,]+(?:jr|jnr|sr|snr|junior|senior|esq|esquire|ii|iii|iv|bt|bart|kg|kt|obe|mbe|cbe|"
    r"kbe|dbe|frs|phd|md|qc|kc|mp)\.?)+\s*$",
    re.IGNORECASE,
)
_MORE_PREFIXES = re.compile(
    r"^\W*(?:(?:rev|revd|reverend|fr|father|sister|brother|mother|rabbi|imam|hon|honourable|"
    r"rt|right|viscount|marquess|marquis|mme|mlle|"
    # military and police ranks (rigour's list has captain and colonel written out only)
    r"capt|cpt|col|maj|major|lt|lieut|sgt|serjeant|cpl|pte|pvt|gen|adm|cmdr|cdr|insp)\.?\s+)+",
    re.IGNORECASE,
)
#: Chinese honorifics written after a name (先生, 女士 …), kept off names of two characters or
#: fewer, which they could be part of
_CN_HONORIFICS = ("先生", "女士", "小姐", "同志", "太太", "夫人", "老师", "阁下")


def clean_person_name(value: object) -> str | None:
    """A name field without the titles and honorifics sources write into it (Sir, Dr., Rev.,
    Lord, Mrs; Jr., III, OBE; 先生, 女士): they say nothing about who the person is, and a
    record with one and a record without must still agree on the name."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    from rigour.names import remove_person_prefixes

    text = unicodedata.normalize("NFKC", str(value)).strip()
    for _ in range(2):  # a title of one list may hide one of the other
        text = _MORE_PREFIXES.sub("", remove_person_prefixes(text)).strip()
    text = _NAME_SUFFIXES.sub("", text).strip()
    for h in _CN_HONORIFICS:
        if text.endswith(h) and len(text) > len(h) + 1:
            text = text[: -len(h)]
    return text or None


@functools.lru_cache(maxsize=65536)
def _nick_symbols(first: str) -> tuple[str | None, str | None]:
    """The forms of a given name that rigour's name data say are one name (William, Will,
    Bill; Robert, Rob, Bob): up to two of its nickname symbols, sorted, as keys that compare
    by equality on any engine."""
    from rigour.names import NameTypeTag, analyze_names

    found: set[str] = set()
    for n in analyze_names(NameTypeTag.PER, [first]):
        found |= {str(x) for x in n.symbols if str(x).startswith("[NICK:")}
    keys = sorted(found)[:2]
    return (keys[0] if keys else None, keys[1] if len(keys) > 1 else None)


def _first_token(value: object) -> str | None:
    cleaned = clean_person_name(value)
    if not cleaned:
        return None
    return fold_text(cleaned.replace(",", " ").split()[0])


def prepare(records: pd.DataFrame) -> pd.DataFrame:
    """The records in the form the model compares: one ``unique_id`` per row (0..n-1), the
    person columns folded (missing ones all NULL; names without their titles) and the derived
    keys."""
    out = pd.DataFrame({"unique_id": range(len(records))})
    for col in PERSON_COLUMNS:
        values = records[col].tolist() if col in records.columns else [None] * len(records)
        if col == "date_of_birth":
            folded = [fold_date(v) for v in values]
        elif col in _CODES:
            folded = [fold_code(v) for v in values]
        elif col in ("given_name", "surname"):
            folded = [fold_text(clean_person_name(v)) for v in values]
        else:
            folded = [fold_text(v) for v in values]
        out[col] = pd.Series(folded, dtype="object")
    raw_given = (
        records["given_name"].tolist() if "given_name" in records.columns else [None] * len(out)
    )
    # the first of several given names (a middle name written or left off), and the keys of
    # the name it is a form of
    out["given_first"] = pd.Series([_first_token(v) for v in raw_given], dtype="object")
    nicks = [_nick_symbols(g) if g and g.isascii() else (None, None) for g in out["given_first"]]
    out["given_nick1"] = pd.Series([a for a, _ in nicks], dtype="object")
    out["given_nick2"] = pd.Series([b for _, b in nicks], dtype="object")
    given, surname = out["given_name"], out["surname"]
    out["full_name"] = [
        f"{g} {s}" if g and s else None for g, s in zip(given, surname, strict=True)
    ]
    out["name_sorted"] = [
        " ".join(sorted(p for p in (g, s) if p)) or None
        for g, s in zip(given, surname, strict=True)
    ]
    out["given_ph"] = [phonetic(g) for g in given]
    out["surname_ph"] = [phonetic(s) for s in surname]
    out["names_ph"] = [
        " ".join(sorted(p for p in (g, s) if p)) or None
        for g, s in zip(out["given_ph"], out["surname_ph"], strict=True)
    ]
    # the year of a full date, or a year written alone (a source that knows no more)
    out["dob_year"] = [
        d[:4] if d and len(d) in (4, 8) and d[:2] in ("18", "19", "20") else None
        for d in out["date_of_birth"]
    ]
    return out


def available_columns(
    *tables: pd.DataFrame, columns: Sequence[str] = PERSON_COLUMNS
) -> frozenset[str]:
    """Person columns with at least one value in every table: a column empty throughout one
    side of a linkage can never agree, so it is left out on both."""
    return frozenset(col for col in columns if all(t[col].notna().any() for t in tables))


# -- model definition -----------------------------------------------------------------------


def _jw(a: str, b: str) -> str:
    return f"jaro_winkler_similarity({a}, {b})"


def _name_comparison(cols: frozenset[str]) -> dict[str, Any] | None:
    import splink.comparison_level_library as cll

    both = {"given_name", "surname"} <= cols
    if not both:
        only = next((c for c in ("surname", "given_name") if c in cols), None)
        if only is None:
            return None
        return _levels(
            "name",
            f"{only}: exact or Jaro-Winkler similar",
            [
                cll.NullLevel(only),
                cll.ExactMatchLevel(only, term_frequency_adjustments=True),
                cll.JaroWinklerLevel(only, 0.92),
                cll.JaroWinklerLevel(only, 0.8),
                cll.ElseLevel(),
            ],
        )
    swapped = f"{_jw('given_name_l', 'surname_r')} + {_jw('surname_l', 'given_name_r')}"
    levels: list[Any] = [
        {
            "sql_condition": "(given_name_l IS NULL OR given_name_r IS NULL) AND "
            "(surname_l IS NULL OR surname_r IS NULL)",
            "label_for_charts": "Null",
            "is_null_level": True,
        },
        cll.ExactMatchLevel("full_name", term_frequency_adjustments=True),
        # both names, each in the other's field (not symmetrical, Splink's level holds when
        # one name alone is in the other field)
        cll.ColumnsReversedLevel("given_name", "surname", symmetrical=True),
        # the whole name similar, and each part too: Jaro-Winkler weighs the first letters
        # most, so a long given name shared makes two full names "similar" whatever the
        # surnames (Richard Poumacko, Richard Roko)
        cll.CustomLevel(
            f"{_jw('full_name_l', 'full_name_r')} >= 0.92 AND "
            f"{_jw('given_name_l', 'given_name_r')} >= 0.85 AND "
            f"{_jw('surname_l', 'surname_r')} >= 0.85",
            "Jaro-Winkler distance of full_name >= 0.92",
        ),
        cll.CustomLevel(f"{swapped} >= 1.8", "given and surname swapped, with typos"),
        cll.CustomLevel(
            "surname_l = surname_r AND given_first_l = given_first_r",
            "surname and first given name agree (a middle name written or left off)",
        ),
        cll.CustomLevel(
            "surname_l = surname_r AND (given_nick1_l = given_nick1_r OR "
            "given_nick1_l = given_nick2_r OR given_nick2_l = given_nick1_r OR "
            "given_nick2_l = given_nick2_r)",
            "surname agrees, given names are forms of one name (Bill, William)",
        ),
        cll.CustomLevel(
            "surname_l = surname_r AND substr(given_name_l, 1, 1) = substr(given_name_r, 1, 1) "
            "AND (length(given_first_l) = 1 OR length(given_first_r) = 1)",
            "surname agrees, the given name written as its initial on one side",
        ),
        # one name agrees and the other is written on one side only: no evidence against
        cll.CustomLevel(
            "surname_l = surname_r AND (given_name_l IS NULL OR given_name_r IS NULL)",
            "surname agrees, given name on one side only",
        ).configure(tf_adjustment_column="surname"),
        cll.CustomLevel(
            "given_name_l = given_name_r AND (surname_l IS NULL OR surname_r IS NULL)",
            "given name agrees, surname on one side only",
        ).configure(tf_adjustment_column="given_name"),
        cll.CustomLevel(
            f"{_jw('given_name_l', 'given_name_r')} >= 0.8 AND "
            f"{_jw('surname_l', 'surname_r')} >= 0.8",
            "both names similar",
        ),
        # one name agrees and the other disagrees: a spouse, a sibling, a namesake
        cll.CustomLevel("surname_l = surname_r", "surname agrees, given names differ"),
        cll.CustomLevel("given_name_l = given_name_r", "given name agrees, surnames differ"),
        cll.CustomLevel("given_name_l = surname_r OR surname_l = given_name_r", "one name swapped"),
        cll.CustomLevel(f"{swapped} >= 1.5", "swapped, similar"),
        cll.CustomLevel(
            " OR ".join(
                f"{_jw(a, b)} >= 0.85"
                for a, b in (
                    ("surname_l", "surname_r"),
                    ("given_name_l", "given_name_r"),
                    ("given_name_l", "surname_r"),
                    ("surname_l", "given_name_r"),
                )
            ),
            "one name similar",
        ),
        cll.ElseLevel(),
    ]
    return {
        "output_column_name": "name",
        "comparison_levels": [
            lvl if isinstance(lvl, dict) else lvl.get_comparison_level("duckdb").as_dict()
            for lvl in levels
        ],
        "comparison_description": "given name and surname, as a pair",
    }


def _levels(name: str, description: str, levels: Sequence[Any]) -> dict[str, Any]:
    return {
        "output_column_name": name,
        "comparison_description": description,
        "comparison_levels": [lvl.get_comparison_level("duckdb").as_dict() for lvl in levels],
    }


def _dob_comparison() -> dict[str, Any]:
    import splink.comparison_level_library as cll

    c = "date_of_birth"
    swap = (
        f"substr({c}_l, 1, 4) = substr({c}_r, 1, 4) AND substr({c}_l, 5, 2) = "
        f"substr({c}_r, 7, 2) AND substr({c}_l, 7, 2) = substr({c}_r, 5, 2)"
    )
    # the levels of a full date need a full date on both sides: two years written alone
    # that agree are a year agreeing, not a date (1991 and 1991), and two years one digit
    # apart are not a date with one typo
    full = f"length({c}_l) = 8 AND length({c}_r) = 8"
    return _levels(
        c,
        "date of birth (YYYYMMDD), tolerant of a day/month swap and digit typos",
        [
            cll.NullLevel(c),
            cll.CustomLevel(f"{c}_l = {c}_r AND {full}", "Exact match on date_of_birth"),
            cll.CustomLevel(f"{swap} AND {full}", "day and month swapped"),
            cll.CustomLevel(
                f"damerau_levenshtein({c}_l, {c}_r) <= 1 AND {full}",
                "Damerau-Levenshtein distance of date_of_birth <= 1",
            ),
            cll.CustomLevel(
                f"substr({c}_l, 1, 6) = substr({c}_r, 1, 6) AND {full}", "same year and month"
            ),
            cll.CustomLevel(
                f"damerau_levenshtein({c}_l, {c}_r) <= 2 AND {full}",
                "Damerau-Levenshtein distance of date_of_birth <= 2",
            ),
            # a year written alone, or a date damaged past two edits in the same year
            cll.CustomLevel("dob_year_l = dob_year_r", "same year"),
            cll.ElseLevel(),
        ],
    )


def _code_comparison(col: str, tf: bool, edits: Sequence[int]) -> dict[str, Any]:
    import splink.comparison_level_library as cll

    levels: list[Any] = [
        cll.NullLevel(col),
        cll.ExactMatchLevel(col, term_frequency_adjustments=tf),
    ]
    levels += [cll.DamerauLevenshteinLevel(col, n) for n in edits]
    levels.append(cll.ElseLevel())
    return _levels(col, f"{col}, exact or within {', '.join(map(str, edits))} edits", levels)


def _text_comparison(col: str, tf: bool, thresholds: Sequence[float]) -> dict[str, Any]:
    import splink.comparison_level_library as cll

    levels: list[Any] = [
        cll.NullLevel(col),
        cll.ExactMatchLevel(col, term_frequency_adjustments=tf),
    ]
    levels += [cll.JaroWinklerLevel(col, t) for t in thresholds]
    levels.append(cll.ElseLevel())
    return _levels(col, f"{col}, exact or Jaro-Winkler similar", levels)


def comparisons(cols: frozenset[str]) -> list[dict[str, Any]]:
    """The comparisons for the columns at hand, as Splink settings dicts."""
    out: list[dict[str, Any]] = []
    if (name := _name_comparison(cols)) is not None:
        out.append(name)
    if "date_of_birth" in cols:
        out.append(_dob_comparison())
    if "soc_sec_id" in cols:
        out.append(_code_comparison("soc_sec_id", False, (1, 2)))
    if "street_number" in cols:
        out.append(_code_comparison("street_number", False, (1,)))
    if "address_2" in cols:
        out.append(_text_comparison("address_2", False, (0.9,)))
    if (place := _place_comparison(cols)) is not None:
        out.append(place)
    return out


#: The columns of where a person lives, compared as one: they are not independent evidence
#: (one street address has one suburb, one postcode and one state), and taken as separate
#: comparisons their Bayes factors multiplied, so that two people of one household, sharing
#: a surname and an address, linked on the address counted three times.
_PLACE = ("address_1", "suburb", "postcode", "state")


def _place_comparison(cols: frozenset[str]) -> dict[str, Any] | None:
    """Street address, suburb, postcode and state as one comparison: the finest part both
    records give decides the level; a part given on one side only is no evidence."""
    import splink.comparison_level_library as cll

    have = [c for c in _PLACE if c in cols]
    if not have:
        return None

    def eq(c: str) -> str:
        return f"{c}_l = {c}_r"

    def both(c: str) -> str:
        return f"({c}_l IS NOT NULL AND {c}_r IS NOT NULL)"

    levels: list[Any] = [
        cll.CustomLevel(
            " AND ".join(f"NOT {both(c)}" for c in have), "no part of the place on both sides"
        ).configure(is_null_level=True)
    ]
    finer = [c for c in ("postcode", "suburb") if c in have]
    if "address_1" in have:
        if finer:
            levels.append(
                cll.CustomLevel(
                    f"{eq('address_1')} AND ({' OR '.join(eq(c) for c in finer)})",
                    "same street address in the same suburb or postcode",
                )
            )
        levels.append(cll.CustomLevel(eq("address_1"), "same street address"))
    if {"postcode", "suburb"} <= set(have):
        levels.append(
            cll.CustomLevel(f"{eq('postcode')} AND {eq('suburb')}", "same postcode and suburb")
        )
    if "postcode" in have:
        levels.append(
            cll.CustomLevel(eq("postcode"), "same postcode").configure(
                tf_adjustment_column="postcode"
            )
        )
    if "suburb" in have:
        levels.append(
            cll.CustomLevel(eq("suburb"), "same suburb").configure(tf_adjustment_column="suburb")
        )
    if "address_1" in have:
        levels.append(
            cll.CustomLevel(f"{_jw('address_1_l', 'address_1_r')} >= 0.9", "street address similar")
        )
    if "postcode" in have:
        levels.append(
            cll.CustomLevel(
                "damerau_levenshtein(postcode_l, postcode_r) <= 1", "postcode within one edit"
            )
        )
    if "suburb" in have:
        levels.append(cll.CustomLevel(f"{_jw('suburb_l', 'suburb_r')} >= 0.9", "suburb similar"))
    if "state" in have:
        # the state only where nothing finer is given on both sides: a state agreeing under
        # postcodes that disagree is a disagreement
        finer_both = [both(c) for c in have if c != "state"]
        cond = eq("state") + "".join(f" AND NOT {b}" for b in finer_both)
        levels.append(cll.CustomLevel(cond, "same state, nothing finer on both sides"))
    levels.append(cll.ElseLevel())
    return _levels("place", "street address, suburb, postcode and state, as one place", levels)


def _needs(cols: frozenset[str], *need: str) -> bool:
    derived = {
        "full_name": {"given_name", "surname"},
        "name_sorted": set(),
        "names_ph": set(),
        "given_ph": {"given_name"},
        "surname_ph": {"surname"},
        "dob_year": {"date_of_birth"},
        "given_first": {"given_name"},
        "given_nick1": {"given_name"},
    }
    names = {"given_name", "surname"} & cols
    for n in need:
        base = derived.get(n, {n})
        if n in ("name_sorted", "names_ph"):
            if not names:
                return False
        elif not base <= cols:
            return False
    return True


def blocking_rules(cols: frozenset[str]) -> list[str]:
    """Candidate-pair rules for prediction; a pair is scored when any one holds. Each needs
    agreement on little, so that a pair with most fields damaged is still found."""
    from splink import block_on

    candidates: list[tuple[str, ...]] = [
        ("soc_sec_id",),
        ("date_of_birth",),
        ("name_sorted",),
        ("names_ph",),
        ("surname_ph", "postcode"),
        ("given_ph", "postcode"),
        ("surname_ph", "suburb"),
        ("given_ph", "suburb"),
        ("surname_ph", "dob_year"),
        ("given_ph", "dob_year"),
        ("given_first", "surname"),
        ("given_nick1", "surname"),
        ("postcode", "dob_year"),
        # the same address: a locality and a detail of the street
        ("street_number", "address_1"),
        ("address_1", "postcode"),
        ("address_1", "suburb"),
        ("street_number", "postcode"),
        ("street_number", "suburb"),
        ("address_2", "postcode"),
        ("address_2", "suburb"),
    ]
    rules = [
        block_on(*c).get_blocking_rule("duckdb").blocking_rule_sql
        for c in candidates
        if _needs(cols, *c)
    ]
    if _needs(cols, "given_name", "surname"):
        rules.append("l.given_name = r.surname AND l.surname = r.given_name")
    return rules


def _deterministic_rules(cols: frozenset[str]) -> list[str]:
    """Rules that almost only true matches pass, for the prior (with a recall assumption)."""
    from splink import block_on

    candidates = [
        ("soc_sec_id", "date_of_birth"),
        ("soc_sec_id", "name_sorted"),
        ("name_sorted", "date_of_birth"),
        ("name_sorted", "postcode", "dob_year"),
    ]
    return [
        block_on(*c).get_blocking_rule("duckdb").blocking_rule_sql
        for c in candidates
        if _needs(cols, *c)
    ]


def _em_rules(cols: frozenset[str]) -> list[str]:
    """Blocking rules for expectation maximisation, in order of preference: training uses
    the first two that find pairs, so that each comparison is trained in one session at
    least."""
    from splink import block_on

    # Not the name keys: Splink would train the name comparison on pairs chosen for
    # agreeing on the names (it sees no column of the comparison in the rule).
    candidates = [
        ("date_of_birth",),
        ("given_name", "surname"),
        ("postcode",),
        ("soc_sec_id",),
        ("suburb",),
        ("address_1",),
    ]
    usable = [c for c in candidates if _needs(cols, *c)]
    return [block_on(*c).get_blocking_rule("duckdb").blocking_rule_sql for c in usable]


# -- organisations -----------------------------------------------------------------------------


ORGANISATION_COLUMNS = ("name", "address", "legal_rep", "uscc")


def _without_province(rest: str) -> str:
    """An address without a province name written anywhere in it (``normalise.address`` sets
    apart only a leading one): parts written in another order compare as the same
    characters."""
    for province in normalise._provinces():
        if province in rest:
            return rest.replace(province, "", 1)
    return rest


def prepare_organisations(records: pd.DataFrame) -> pd.DataFrame:
    """Organisation rows (``name``, ``address``, ``legal_rep``, ``uscc``; any may be missing
    or empty) in the form the model compares: names taken apart by ``normalise.org_name``
    (base, legal form, branch) after traditional characters are simplified, addresses by
    ``normalise.address`` (province set apart), the organisation code that a USCC embeds."""
    n = len(records)

    def col(name: str) -> list[object]:
        return records[name].tolist() if name in records.columns else [None] * n

    out = pd.DataFrame({"unique_id": range(n)})
    names = [fold_text(v) for v in col("name")]
    parts = [normalise.org_name(normalise.simplified(v)) if v else None for v in names]
    # ``name``: the name's key (base and branch: a branch is not its head office);
    # ``name_base``: the base alone
    out["name"] = pd.Series(
        [(o.base + (f"/{o.branch}" if o.branch else "")) or None if o else None for o in parts],
        dtype="object",
    )
    out["name_base"] = pd.Series([o.base or None if o else None for o in parts], dtype="object")
    out["legal_form"] = pd.Series([o.legal_form if o else None for o in parts], dtype="object")
    addresses = [fold_text(v) for v in col("address")]
    addr = [normalise.address(normalise.simplified(v)) if v else None for v in addresses]
    out["address"] = pd.Series(
        [_without_province(a.rest) or None if a else None for a in addr], dtype="object"
    )
    out["province"] = pd.Series([a.province if a else None for a in addr], dtype="object")
    reps = [fold_text(v) for v in col("legal_rep")]
    out["legal_rep"] = pd.Series(
        [normalise.simplified(v) if v else None for v in reps], dtype="object"
    )
    codes = [fold_code(v) for v in col("uscc")]
    out["uscc"] = pd.Series(codes, dtype="object")
    out["org_code"] = pd.Series(
        [c[8:17] if c and len(c) == 18 else None for c in codes], dtype="object"
    )
    out["name_head"] = [v[:3] if v else None for v in out["name_base"]]
    out["name_tail"] = [v[-3:] if v else None for v in out["name_base"]]
    return out


def organisation_comparisons(cols: frozenset[str]) -> list[dict[str, Any]]:
    import splink.comparison_level_library as cll

    out: list[dict[str, Any]] = []
    if "name" in cols:
        out.append(
            _levels(
                "name",
                "name without its legal form: exact (same branch), another branch, similar",
                [
                    cll.NullLevel("name"),
                    cll.ExactMatchLevel("name", term_frequency_adjustments=True),
                    cll.CustomLevel("name_base_l = name_base_r", "same name, another branch"),
                    cll.JaroWinklerLevel("name", 0.92),
                    cll.JaroWinklerLevel("name", 0.85),
                    cll.JaccardLevel("name", 0.8),
                    cll.ElseLevel(),
                ],
            )
        )
        out.append(
            _levels(
                "legal_form",
                "legal form (有限公司, 股份有限公司, ...): often left off, so NULL is no evidence",
                [cll.NullLevel("legal_form"), cll.ExactMatchLevel("legal_form"), cll.ElseLevel()],
            )
        )
    if "uscc" in cols:
        out.append(_code_comparison("uscc", False, (1, 2)))
    if "address" in cols:
        out.append(
            _levels(
                "address",
                "address without the province: exact, similar, same characters in another order",
                [
                    cll.NullLevel("address"),
                    cll.ExactMatchLevel("address"),
                    cll.JaroWinklerLevel("address", 0.9),
                    cll.JaccardLevel("address", 0.9),
                    cll.JaroWinklerLevel("address", 0.8),
                    cll.ElseLevel(),
                ],
            )
        )
    if "legal_rep" in cols:
        out.append(
            _levels(
                "legal_rep",
                "legal representative",
                [
                    cll.NullLevel("legal_rep"),
                    cll.ExactMatchLevel("legal_rep", term_frequency_adjustments=True),
                    cll.DamerauLevenshteinLevel("legal_rep", 1),
                    cll.ElseLevel(),
                ],
            )
        )
    return out


def _org_rules(cols: frozenset[str], candidates: Sequence[tuple[str, ...]]) -> list[str]:
    from splink import block_on

    derived = {"org_code": "uscc", "name_head": "name", "name_tail": "name", "name_base": "name"}
    return [
        block_on(*c).get_blocking_rule("duckdb").blocking_rule_sql
        for c in candidates
        if all(derived.get(x, x) in cols for x in c)
    ]


def organisation_blocking_rules(cols: frozenset[str]) -> list[str]:
    return _org_rules(
        cols,
        [
            ("uscc",),
            ("org_code",),
            ("name_base",),
            ("name_head", "address"),
            ("name_head", "legal_rep"),
            ("name_tail", "legal_rep"),
            ("name_head", "name_tail"),
            ("address",),
            ("legal_rep", "province"),
        ],
    )


def _org_deterministic(cols: frozenset[str]) -> list[str]:
    return _org_rules(cols, [("uscc", "name_head"), ("name", "address"), ("name", "legal_rep")])


def _org_em(cols: frozenset[str]) -> list[str]:
    # not name_head: the name comparison would be trained on pairs chosen for their names
    return _org_rules(cols, [("legal_rep",), ("address",), ("uscc",)])


@dataclass(frozen=True)
class _Spec:
    columns: tuple[str, ...]
    prepare: Callable[[pd.DataFrame], pd.DataFrame]
    comparisons: Callable[[frozenset[str]], list[dict[str, Any]]]
    blocking_rules: Callable[[frozenset[str]], list[str]]
    deterministic_rules: Callable[[frozenset[str]], list[str]]
    em_rules: Callable[[frozenset[str]], list[str]]


_SPECS: dict[str, _Spec] = {
    "person": _Spec(
        PERSON_COLUMNS, prepare, comparisons, blocking_rules, _deterministic_rules, _em_rules
    ),
    "organisation": _Spec(
        ORGANISATION_COLUMNS,
        prepare_organisations,
        organisation_comparisons,
        organisation_blocking_rules,
        _org_deterministic,
        _org_em,
    ),
}


class TooLittleData(ValueError):
    """The records are too few, or too sparse, for Splink to estimate a model from them."""


# -- models ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """A trained Splink model: Splink's settings dict (parameters included) and our metadata.

    ``columns`` are the person columns the model compares; applied to data lacking some of
    them, the comparisons of the missing columns are left out.
    """

    kind: Kind
    settings: dict[str, Any]
    columns: frozenset[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    version: int = 0  # the kind's current version (VERSIONS) unless loaded from a file

    def __post_init__(self) -> None:
        if not self.version:
            object.__setattr__(self, "version", VERSIONS[self.kind])

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": "socialcredit-resolution-model",
            "version": self.version,
            "kind": self.kind,
            "columns": sorted(self.columns),
            "metadata": self.metadata,
            "splink_settings": self.settings,
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(
            json.dumps(self.as_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Model:
        if data.get("format") != "socialcredit-resolution-model":
            raise ValueError("not a socialcredit resolution model")
        want = VERSIONS.get(data.get("kind", ""), 0)
        if data["version"] != want:
            raise ValueError(
                f"{data.get('kind')} model version {data['version']}, this code reads {want}: "
                "train it again"
            )
        return cls(
            kind=data["kind"],
            settings=dict(data["splink_settings"]),
            columns=frozenset(data["columns"]),
            metadata=dict(data.get("metadata", {})),
            version=data["version"],
        )

    @classmethod
    def load(cls, path: str | Path) -> Model:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def restricted_to(
        self, cols: frozenset[str], link_type: str, term_frequencies: bool = True
    ) -> dict[str, Any]:
        """Splink settings for data with only ``cols``: comparisons of other columns out,
        blocking rules rebuilt for what is there (blocking is not a trained parameter).
        Without ``term_frequencies`` an agreement weighs its average, whatever the value."""
        spec = _SPECS[self.kind]
        keep = {c["output_column_name"] for c in spec.comparisons(cols & self.columns)}
        settings = copy.deepcopy(self.settings)
        settings["comparisons"] = [
            c for c in settings["comparisons"] if c["output_column_name"] in keep
        ]
        if not term_frequencies:
            for comp in settings["comparisons"]:
                for level in comp["comparison_levels"]:
                    level.pop("tf_adjustment_column", None)
                    level.pop("tf_adjustment_weight", None)
        settings["blocking_rules_to_generate_predictions"] = [
            {"blocking_rule": r, "sql_dialect": "duckdb"} for r in spec.blocking_rules(cols)
        ]
        settings["link_type"] = link_type
        return settings


def _resource(name: str) -> Path:
    return Path(str(resources.files("socialcredit") / "packs" / PACK / "resolution" / name))


def default_model(kind: Kind = "person") -> Model:
    """The model saved in the policy pack (``persons_v1.json``)."""
    return Model.load(_resource(f"{'persons' if kind == 'person' else 'organisations'}_v1.json"))


@dataclass(frozen=True, slots=True)
class Thresholds:
    upper: float
    lower: float
    #: a row links to its best candidate only if the next one is at least this much less
    #: likely; otherwise a reviewer sees both (no link without a margin)
    margin: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.lower <= self.upper <= 1.0:
            raise ValueError(f"thresholds must satisfy 0 <= lower <= upper <= 1: {self}")
        if not 0.0 <= self.margin <= 1.0:
            raise ValueError(f"the margin is a difference of probabilities, 0 to 1: {self}")


def thresholds(kind: Kind = "person", path: str | Path | None = None) -> Thresholds:
    """The policy's thresholds on the match probability, from ``thresholds.yaml``."""
    data = yaml.safe_load(Path(path or _resource("thresholds.yaml")).read_text("utf-8"))
    entry = data["persons" if kind == "person" else "organisations"]
    return Thresholds(
        upper=float(entry["upper"]),
        lower=float(entry["lower"]),
        margin=float(entry.get("margin", 0.0)),
    )


# -- engines -----------------------------------------------------------------------------------


def _db_api(engine: str, threads: int) -> Any:
    if engine == "duckdb":
        import duckdb
        from splink import DuckDBAPI

        con = duckdb.connect(config={"threads": threads})
        return DuckDBAPI(connection=con)
    if engine == "spark":  # the process's local Spark session; ``threads`` does not apply
        from . import spark_engine

        return spark_engine.db_api()
    raise ValueError(f"unknown engine {engine!r} (duckdb or spark)")


def _quiet_splink() -> None:
    import logging

    logging.getLogger("splink").setLevel(logging.ERROR)


def _linker(tables: list[pd.DataFrame], settings: dict[str, Any], engine: str, threads: int) -> Any:
    from splink import Linker

    _quiet_splink()
    aliases = [_LEFT, _RIGHT][: len(tables)]
    db_api = _db_api(engine, threads)
    inputs: list[Any] = list(tables)
    if engine == "spark":
        from . import spark_engine

        settings = spark_engine.settings(settings)
        inputs = [spark_engine.dataframe(db_api.spark, t) for t in tables]
    linker = Linker(
        inputs if len(inputs) > 1 else inputs[0],
        settings,
        db_api=db_api,
        set_up_basic_logging=False,
        input_table_aliases=aliases if len(tables) > 1 else None,
    )
    if engine == "spark":
        spark_engine.release_when_collected(linker, db_api)
    return linker


def _rules(rules: Sequence[str], engine: str) -> list[Any]:
    """Training rules (DuckDB SQL) in the form the engine takes."""
    if engine == "spark":
        from . import spark_engine

        return spark_engine.rules(rules)
    return list(rules)


def _tables(
    left: pd.DataFrame, right: pd.DataFrame | None, kind: Kind = "person"
) -> list[pd.DataFrame]:
    prep = _SPECS[kind].prepare
    return [prep(left)] + ([prep(right)] if right is not None else [])


def train(
    left: pd.DataFrame,
    right: pd.DataFrame | None = None,
    *,
    kind: Kind = "person",
    engine: str = "duckdb",
    threads: int = DEFAULT_THREADS,
    recall: float = 0.7,
    max_pairs: float = 2e6,
    seed: int = SEED,
    metadata: Mapping[str, Any] | None = None,
) -> Model:
    """Train a model with Splink's own estimation on raw records (one table: dedupe; two:
    linkage). See the module docstring for the three steps."""
    tables = _tables(left, right, kind)
    return _train_prepared(tables, kind, engine, threads, recall, max_pairs, seed, metadata)


def _train_prepared(
    tables: list[pd.DataFrame],
    kind: Kind,
    engine: str,
    threads: int,
    recall: float,
    max_pairs: float,
    seed: int,
    metadata: Mapping[str, Any] | None,
) -> Model:
    spec = _SPECS[kind]
    cols = available_columns(*tables, columns=spec.columns)
    if not cols:
        raise ValueError(f"no {kind} column has any value: nothing to compare")
    link_type = "link_only" if len(tables) > 1 else "dedupe_only"
    settings: dict[str, Any] = {
        "link_type": link_type,
        "unique_id_column_name": "unique_id",
        "comparisons": spec.comparisons(cols),
        "blocking_rules_to_generate_predictions": spec.blocking_rules(cols),
        "retain_intermediate_calculation_columns": True,
        "retain_matching_columns": True,
        "em_convergence": 0.001,
        "max_iterations": 25,
    }
    linker = _linker(tables, settings, engine, threads)
    det = _rules(spec.deterministic_rules(cols), engine)
    if det:
        linker.training.estimate_probability_two_random_records_match(det, recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    from splink.internals.exceptions import EMTrainingException

    sessions = 0
    for rule in _rules(spec.em_rules(cols), engine):
        if sessions == 2:
            break
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )
        except EMTrainingException:  # no pairs agree on this field: try the next one
            continue
        sessions += 1
    if sessions == 0:
        raise TooLittleData(f"no training rule found pairs among {[len(t) for t in tables]} rows")
    trained = linker.misc.save_model_to_json()
    if engine == "spark":  # stored in DuckDB's dialect, like every model
        from . import spark_engine

        trained = spark_engine.as_duckdb(trained, settings)
    unmixed = _u_from_disagreeing_pairs(trained, tables, engine, threads, max_pairs / 2)
    prior = _refine_prior(_linker(tables, copy.deepcopy(trained), engine, threads), tables)
    if prior is not None:
        trained["probability_two_random_records_match"] = prior
    _unmix_u(trained, float(trained["probability_two_random_records_match"]), skip=unmixed)
    _floor_m(trained)
    import splink

    lam = float(trained["probability_two_random_records_match"])
    meta = {
        "match_rate": lam * _pair_count(tables) / _match_capacity(tables),
        "splink_version": splink.__version__,
        "normaliser_version": normalise.VERSION,
        "trained_on_rows": [len(t) for t in tables],
        **(metadata or {}),
    }
    return Model(kind=kind, settings=trained, columns=cols, metadata=meta)


#: The least m probability a level keeps after training. Expectation maximisation gives m = 0
#: to a level that no pair in the training data's matches showed (a place of birth that never
#: disagreed because most records leave it empty): its Bayes factor is then 0, and a single
#: disagreement on that field vetoes any match, however strong the rest. Real sources make
#: every kind of error sometimes.
M_FLOOR = 0.005


def _floor_m(settings: dict[str, Any]) -> None:
    """Raise every non-null level's m probability to at least ``M_FLOOR`` and scale the
    others so that each comparison's still sum to one."""
    for comp in settings["comparisons"]:
        levels = [
            lv
            for lv in comp["comparison_levels"]
            if not lv.get("is_null_level") and lv.get("m_probability") is not None
        ]
        low = [lv for lv in levels if lv["m_probability"] < M_FLOOR]
        if not low:
            continue
        rest = [lv for lv in levels if lv["m_probability"] >= M_FLOOR]
        spare = 1.0 - M_FLOOR * len(low)
        total = sum(lv["m_probability"] for lv in rest)
        if spare <= 0 or total <= 0:
            continue
        for lv in low:
            lv["m_probability"] = M_FLOOR
        for lv in rest:
            lv["m_probability"] = lv["m_probability"] * spare / total


#: The fewest random pairs disagreeing elsewhere that a comparison's u is counted on; with
#: fewer, its u is the random pairs' with the matches taken out (``_unmix_u``).
U_MIN_PAIRS = 10_000


def _u_from_disagreeing_pairs(
    settings: dict[str, Any],
    tables: Sequence[pd.DataFrame],
    engine: str,
    threads: int,
    max_pairs: float,
) -> set[str]:
    """Each comparison's u probabilities counted on random pairs that disagree outright on
    another comparison (its last level, ``All other comparisons``, on a value both records
    give). u is how often a level occurs between *different* people. Random pairs are almost
    all different people, but where people have many records each, the few matches among
    them are most of the pairs that agree (on a full name or a date of birth), and Splink's
    random-pair estimate then counts them as chance agreement: an agreement weighed several
    times less than it should. A pair whose date of birth or place plainly disagrees is a
    match far more rarely (the share of matches with that disagreement, against nearly every
    non-match), and as long as different people agree on one field independently of
    another, its name agrees by chance as often as any other pair of different people.

    The pairs are a sample of records on each side (about ``max_pairs`` pairs, chosen by a
    fixed hash of the record's position, so the same on every engine). A level no such pair
    shows gets u of one pair in the sample. Returns the comparisons whose u was set here;
    the others (too few such pairs, or no other comparison) keep theirs."""
    comps = settings["comparisons"]
    if len(comps) < 2:
        return set()
    total = _pair_count(tables)
    if total == 0:
        return set()
    share = min(1.0, math.sqrt(max_pairs / total))
    cut = max(1, round(share * 10007))
    sample = copy.deepcopy(settings)
    sample["retain_matching_columns"] = True
    sample["retain_intermediate_calculation_columns"] = True
    sample["blocking_rules_to_generate_predictions"] = [
        {
            "blocking_rule": f"(l.unique_id * 7919) % 10007 < {cut} AND "
            f"(r.unique_id * 7919) % 10007 < {cut}",
            "sql_dialect": "duckdb",
        }
    ]
    linker = _linker(list(tables), sample, engine, threads)
    names = [c["output_column_name"] for c in comps]
    pred = linker.inference.predict()
    cols = ", ".join(f"gamma_{n}" for n in names)
    gammas = linker.misc.query_sql(f"SELECT {cols} FROM {pred.physical_name}", output_type="pandas")
    pred.drop_table_from_database_and_remove_from_cache()
    disagree = gammas.eq(0)
    done = set()
    for comp, name in zip(comps, names, strict=True):
        others = disagree.drop(columns=f"gamma_{name}").any(axis=1)
        g = gammas.loc[others, f"gamma_{name}"]
        g = g[g >= 0]
        if len(g) < U_MIN_PAIRS:
            continue
        counts = g.value_counts().to_dict()
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        for k, lv in enumerate(levels):
            gamma = len(levels) - 1 - k
            lv["u_probability"] = max(int(counts.get(gamma, 0)), 1) / len(g)
        done.add(name)
    return done


def _unmix_u(settings: dict[str, Any], prior: float, skip: Iterable[str] = ()) -> None:
    """Take the matches out of the u probabilities. Splink estimates u from random pairs as if
    none matched; a level's share among random pairs is really prior * m + (1 - prior) * u.
    Where people have many records each, matches are a large part of the pairs that agree
    exactly (on a date of birth, two thirds of them in a register of ten records a person),
    so u came out several times too high and every agreement weighed that much less. Solved
    for u, and kept at no less than a fiftieth of the estimate."""
    if not 0 < prior < 1:
        return
    for comp in settings["comparisons"]:
        if comp["output_column_name"] in skip:
            continue
        for lv in comp["comparison_levels"]:
            m, u = lv.get("m_probability"), lv.get("u_probability")
            if lv.get("is_null_level") or m is None or u is None:
                continue
            lv["u_probability"] = max((u - prior * m) / (1 - prior), u / 50)


def _term_frequencies(
    linker: Any, tables: Sequence[pd.DataFrame], settings: Mapping[str, Any]
) -> None:
    """How common each value is among *other* people, registered with Splink in place of the
    plain frequencies it would count. A person with ten records makes their own name look ten
    times as common as it is, and Splink's term-frequency adjustment then weighs every
    agreement between those ten records as if the name were common: in a register where each
    person has many records, that turned most true matches into reviews. Each value's count
    is lowered by the records one person is expected to have (from the prior), so that the
    frequency is that of the value among the people a pair is not."""
    columns = sorted(
        {
            lv["tf_adjustment_column"]
            for comp in settings["comparisons"]
            for lv in comp["comparison_levels"]
            if lv.get("tf_adjustment_column")
        }
    )
    if not columns:
        return
    n = sum(len(t) for t in tables)
    prior = float(settings["probability_two_random_records_match"])
    if len(tables) == 1:
        own = 1.0 + prior * (n - 1)
    else:  # each match joins a record of each table
        a, b = len(tables[0]), len(tables[1])
        own = 1.0 + 2.0 * prior * a * b / max(n, 1)
    for col in columns:
        counts = pd.concat([t[col] for t in tables]).dropna().value_counts()
        if counts.empty:
            continue
        tf = pd.DataFrame(
            {col: counts.index, f"tf_{col}": (counts.to_numpy() - own).clip(min=1.0) / n}
        )
        linker.table_management.register_term_frequency_lookup(tf, col, overwrite=True)


def _pair_count(tables: Sequence[pd.DataFrame]) -> int:
    if len(tables) > 1:
        return len(tables[0]) * len(tables[1])
    n = len(tables[0])
    return n * (n - 1) // 2


def _match_capacity(tables: Sequence[pd.DataFrame]) -> float:
    """How many true pairs there can be if every record has its match (one to one): the
    smaller side of a linkage, half the records of a dedupe."""
    if len(tables) > 1:
        return float(max(1, min(len(tables[0]), len(tables[1]))))
    return max(1.0, len(tables[0]) / 2)


def _refine_prior(linker: Any, tables: Sequence[pd.DataFrame], rounds: int = 50) -> float | None:
    """The prior as the model's own expected share of matches among all pairs.

    The deterministic rules' count divided by an assumed recall is only a first guess: where
    the data are damaged the strict rules find far fewer pairs than the recall assumed, and a
    prior too small pulls every probability down. With m and u trained, the expected number
    of matches is the sum of the match probabilities of the candidate pairs (pairs the
    blocking rules do not produce are taken as non-matches). That sum depends on the prior,
    so it is iterated to its fixed point: the update expectation maximisation makes for the
    prior, over the candidate pairs. Pairs whose evidence is below 2^-10 are left out (each
    would add at most a thousandth of the prior)."""
    lam0 = float(linker._settings_obj._probability_two_random_records_match)
    prior_w = math.log2(lam0 / (1 - lam0))
    pred = linker.inference.predict(threshold_match_weight=prior_w - 10)
    weights = pred.as_pandas_dataframe()["match_weight"].to_numpy(dtype=float)
    pred.drop_table_from_database_and_remove_from_cache()
    total = _pair_count(tables)
    if total == 0 or len(weights) == 0:
        return None
    evidence = weights - prior_w
    lam = lam0
    for _ in range(rounds):
        logit = math.log2(lam / (1 - lam))
        expected = float((1.0 / (1.0 + 2.0 ** -(evidence + logit))).sum())
        new = min(max(expected / total, 1e-12), 0.5)
        if abs(new - lam) <= 1e-4 * lam:
            lam = new
            break
        lam = new
    return lam


# -- linking -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """One comparison's contribution to a pair's match weight."""

    comparison: str
    level: str
    bayes_factor: float

    @property
    def match_weight(self) -> float:
        return math.log2(self.bayes_factor) if self.bayes_factor > 0 else -math.inf


@dataclass(frozen=True, slots=True)
class PairDecision:
    """A candidate pair: ``left`` and ``right`` are row positions in the inputs (both in the
    one input for a dedupe)."""

    left: int
    right: int
    decision: Decision
    match_weight: float
    match_probability: float
    explanation: tuple[Evidence, ...]
    via_cluster: bool = False


@dataclass
class Resolution:
    """The outcome of :func:`link`. ``pairs`` has one row per scored candidate pair at or above
    ``lower`` (columns ``left``, ``right``, ``match_weight``, ``match_probability``,
    ``decision`` and Splink's ``gamma_*``/``bf_*`` columns); ``linked`` is the set of pairs
    linked, directly or through a cluster."""

    pairs: pd.DataFrame
    linked: set[tuple[int, int]]
    model: Model
    thresholds: Thresholds
    labels: dict[str, list[str]]
    linkage: bool

    def explain(self, row: Mapping[str, Any]) -> tuple[Evidence, ...]:
        out = []
        for name, labels in self.labels.items():
            gamma = row.get(f"gamma_{name}")
            if gamma is None or pd.isna(gamma) or int(gamma) < 0:
                label = "Null"
            else:
                label = labels[len(labels) - 1 - int(gamma)] if labels else str(gamma)
            bf = float(row.get(f"bf_{name}", 1.0))
            tf = row.get(f"bf_tf_adj_{name}")
            if tf is not None and not pd.isna(tf):
                bf *= float(tf)
            out.append(Evidence(name, label, bf))
        return tuple(out)

    def _decision(self, row: Mapping[str, Any]) -> PairDecision:
        return PairDecision(
            left=int(row["left"]),
            right=int(row["right"]),
            decision=row["decision"],
            match_weight=float(row["match_weight"]),
            match_probability=float(row["match_probability"]),
            explanation=self.explain(row),
        )

    def decisions(self) -> list[PairDecision]:
        """Every pair at or above ``lower``, best first, then the pairs linked only through
        a cluster (``via_cluster``, no weight of their own)."""
        out = [self._decision(row) for row in self.pairs.to_dict("records")]
        linked_direct = {(d.left, d.right) for d in out if d.decision == "link"}
        for a, b in sorted(self.linked - linked_direct):
            out.append(PairDecision(a, b, "link", math.nan, math.nan, (), via_cluster=True))
        return out


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What happens to one ``left`` row: ``link`` (to ``candidates[0]``), ``review`` (the
    candidates at or above ``lower``, best first) or ``unresolved`` (no candidate)."""

    row: int
    decision: Decision
    candidates: tuple[PairDecision, ...]
    #: in review because a second candidate is within the margin of the best
    ambiguous: bool = False


def outcome(res: Resolution, row: int) -> RowOutcome:
    """The decision for one ``left`` row: linked if its best pair reaches ``upper`` and the
    next is at least the margin less likely, in review if its best pair is between the
    thresholds or another is as likely, unresolved otherwise."""
    return _row_outcome(res, row, best_candidates(res, row))


def _row_outcome(res: Resolution, row: int, cands: Sequence[PairDecision]) -> RowOutcome:
    """No link without a margin: two registered subjects the row matches about as well (two
    namesakes at the same address, both at probability 1.0) go to a reviewer side by side;
    the model does not pick the first."""
    if not cands:
        return RowOutcome(row, "unresolved", ())
    best = cands[0]
    if best.decision == "link":
        other = next((c for c in cands[1:] if _other_side(c, row) != _other_side(best, row)), None)
        if other is not None and best.match_probability - other.match_probability < (
            res.thresholds.margin
        ):
            return RowOutcome(row, "review", tuple(cands), ambiguous=True)
    return RowOutcome(row, best.decision, tuple(cands))


def _other_side(d: PairDecision, row: int) -> int:
    return d.right if d.left == row else d.left


def _labels(settings: Mapping[str, Any]) -> dict[str, list[str]]:
    """Level labels per comparison, ordered as Splink numbers them (null level excluded; the
    first listed non-null level has the highest gamma)."""
    out = {}
    for comp in settings["comparisons"]:
        levels = [
            str(lvl.get("label_for_charts") or lvl["sql_condition"])
            for lvl in comp["comparison_levels"]
            if not lvl.get("is_null_level")
        ]
        out[comp["output_column_name"]] = levels
    return out


def link(
    left: pd.DataFrame,
    right: pd.DataFrame | None = None,
    model: Model | None = None,
    *,
    upper: float | None = None,
    lower: float | None = None,
    margin: float | None = None,
    engine: str = "duckdb",
    threads: int = DEFAULT_THREADS,
    cluster: bool = True,
    seed: int = SEED,
    kind: Kind = "person",
    population: int | None = None,
) -> Resolution:
    """Resolve ``left`` against ``right`` (linkage) or within ``left`` (dedupe).

    Without ``model`` one is trained on these records first. Thresholds default to the
    pack's. A pair at or above ``upper`` is ``link``, from ``lower`` to ``upper`` ``review``;
    pairs below ``lower`` are not returned (``unresolved``: see :func:`decide`). ``kind`` is
    the model's when one is given.

    ``population``: in a linkage, how many records ``right`` was drawn from when it holds only
    the candidates a search found in a larger register (the registry reads a handful of
    candidates per row rather than all its organisations). The prior is then the one for
    ``left`` against the whole register: a few candidates must not make a match look likely.
    Only with a saved ``model`` (training needs the whole population).
    """
    if model is not None:
        kind = model.kind
    policy = thresholds(kind)
    th = Thresholds(
        upper=policy.upper if upper is None else upper,
        lower=policy.lower if lower is None else lower,
        margin=policy.margin if margin is None else margin,
    )
    tables = _tables(left, right, kind)
    cols = available_columns(*tables, columns=_SPECS[kind].columns)
    link_type = "link_only" if len(tables) > 1 else "dedupe_only"
    if not cols:  # nothing to compare: every row stays unresolved
        empty = pd.DataFrame(
            columns=["left", "right", "match_weight", "match_probability", "decision"]
        )
        model = model or default_model(kind)
        return Resolution(empty, set(), model, th, {}, len(tables) > 1)
    prior = None
    if model is None and population is None:
        try:
            model = _train_prepared(tables, kind, engine, threads, 0.7, 2e6, seed, None)
        except TooLittleData:
            model = default_model(kind)
    model = model or default_model(kind)
    if population is not None:
        if right is None:
            raise ValueError("population is for a linkage against candidates of a register")
        prior = _rescaled_prior(model, tables, population)
    elif "match_rate" in model.metadata and model.metadata.get("trained_on_rows") != [
        len(t) for t in tables
    ]:
        prior = _rescaled_prior(model, tables)
    # How common a name is, counted on a handful of rows, says nothing: below
    # TF_MIN_ROWS an agreement weighs the model's average instead.
    settings = model.restricted_to(
        cols, link_type, term_frequencies=sum(map(len, tables)) >= TF_MIN_ROWS
    )
    if prior is not None:
        settings["probability_two_random_records_match"] = prior
    linker = _linker(tables, settings, engine, threads)
    if sum(map(len, tables)) >= TF_MIN_ROWS:
        _term_frequencies(linker, tables, settings)
    # pairs down to CLUSTER_FLOOR for the clustering's averages; those below lower are
    # not returned
    floor = min(th.lower, CLUSTER_FLOOR) if cluster else th.lower
    predictions = linker.inference.predict(threshold_match_probability=floor)
    every = _orient(predictions.as_pandas_dataframe(), len(tables) > 1)
    df = every[every["match_probability"] >= th.lower].reset_index(drop=True)
    df["decision"] = [decide(p, th) for p in df["match_probability"]]
    linked = {
        (int(a), int(b))
        for a, b, d in zip(df["left"], df["right"], df["decision"], strict=True)
        if d == "link"
    }
    if cluster and linked:
        linked |= _clusters(every, th, len(tables) > 1)
    return Resolution(df, linked, model, th, _labels(settings), len(tables) > 1)


def _rescaled_prior(
    model: Model, tables: Sequence[pd.DataFrame], population: int | None = None
) -> float | None:
    """A saved model's prior, carried over to data of another size.

    The prior is a share of all pairs, so it shrinks as the data grow while the share of
    records that have a match stays about the same. The model keeps that share
    (``match_rate``: true pairs over the most there could be, one per record of the smaller
    side of a linkage or per two records of a dedupe); the prior here is that share of these
    data's capacity over their pairs. For one row against a register of R records it is
    ``match_rate / R``."""
    rate = model.metadata.get("match_rate")
    if population is not None:
        n = len(tables[0])
        pairs, capacity = n * max(population, 1), float(max(1, min(n, population)))
    else:
        pairs, capacity = _pair_count(tables), _match_capacity(tables)
    if rate is None or pairs == 0:
        return None
    return min(float(rate) * capacity / pairs, 0.5)


def decide(probability: float, th: Thresholds) -> Decision:
    if probability >= th.upper:
        return "link"
    if probability >= th.lower:
        return "review"
    return "unresolved"


def _orient(df: pd.DataFrame, linkage: bool) -> pd.DataFrame:
    """``left``/``right`` row positions; in a linkage ``left`` is always from the first input.
    Best first; equal weights by position, so that the order is the same whatever order the
    engine returned the pairs in."""
    a = df["unique_id_l"].astype(int)
    b = df["unique_id_r"].astype(int)
    if linkage:
        flip = df["source_dataset_l"] != _LEFT
        left = a.where(~flip, b)
        right = b.where(~flip, a)
    else:
        left, right = a.where(a < b, b), b.where(a < b, a)
    df = df.assign(left=left.to_numpy(), right=right.to_numpy())
    return df.sort_values(
        ["match_weight", "left", "right"], ascending=[False, True, True], ignore_index=True
    )


#: Pairs scored below this count as 0 in the clustering's averages (:func:`_clusters`).
CLUSTER_FLOOR = 0.01


def _clusters(df: pd.DataFrame, th: Thresholds, linkage: bool) -> set[tuple[int, int]]:
    """The pairs of the clusters the links make, where two groups of records are joined only
    when, on average, a record of one is more likely than not the same person as a record of
    the other.

    Connected components (A~B and B~C links A~C) recover the pairs whose own comparison is too
    damaged to link, but one record that says too little to tell two people apart (a surname
    and an address, the given name left empty, shared by a husband and wife) joins everything
    of both into one person. So the links are taken best first, and a link between two
    groups already formed joins them only if the mean match probability over all their pairs
    of records, a pair not scored counting as 0, is at least ``lower``: a record that merely
    bridges two people, whose other records the model keeps apart, links neither to the other
    (no link without a margin). Groups of one record join as before."""
    prob: dict[tuple[int, int], float] = {}
    for a, b, p in zip(df["left"], df["right"], df["match_probability"], strict=True):
        key = (int(a), -int(b) - 1) if linkage else (int(a), int(b))
        prob[key] = float(p)
    edges = sorted(((p, k) for k, p in prob.items() if p >= th.upper), reverse=True)
    neighbours: dict[int, dict[int, float]] = {}
    for (a, b), p in prob.items():
        neighbours.setdefault(a, {})[b] = p
        neighbours.setdefault(b, {})[a] = p
    parent: dict[int, int] = {}
    members: dict[int, list[int]] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        members.setdefault(x, [x])
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def side_count(group: list[int], left: bool) -> int:
        return sum(1 for x in group if (x >= 0) == left)

    for _, (a, b) in edges:
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        ga, gb = members[ra], members[rb]
        if len(ga) > 1 or len(gb) > 1:
            small, big = (ga, set(gb)) if len(ga) <= len(gb) else (gb, set(ga))
            total = sum(p for x in small for y, p in neighbours.get(x, {}).items() if y in big)
            if linkage:
                n = side_count(ga, True) * side_count(gb, False) + side_count(
                    ga, False
                ) * side_count(gb, True)
            else:
                n = len(ga) * len(gb)
            if n and total / n < th.lower:
                continue
        if len(ga) < len(gb):
            ra, rb, ga, gb = rb, ra, gb, ga
        parent[rb] = ra
        ga.extend(gb)
        del members[rb]
    out: set[tuple[int, int]] = set()
    for group in members.values():
        if len(group) < 2:
            continue
        if linkage:
            ls = [x for x in group if x >= 0]
            rs = [-x - 1 for x in group if x < 0]
            out.update((a, b) for a in ls for b in rs)
        else:
            ids = sorted(group)
            out.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
    return out


def best_candidates(res: Resolution, row: int) -> list[PairDecision]:
    """The scored candidates of one ``left`` row (in a dedupe: of that record on either
    side), best first, with their explanations: what a review page shows."""
    df = res.pairs
    mask = df["left"] == row
    if not res.linkage:
        mask |= df["right"] == row
    return [res._decision(r) for r in df[mask].to_dict("records")]


def outcomes(
    res: Resolution, exclude: Mapping[int, set[int]] | None = None
) -> dict[int, RowOutcome]:
    """:func:`outcome` for every ``left`` row that has a candidate, in one pass over the pairs
    (rows without one are ``unresolved``). ``exclude``: per ``left`` row, the ``right`` rows a
    reviewer has judged not to be it: never its candidates, whatever the model scores."""
    by: dict[int, list[PairDecision]] = {}
    for r in res.pairs.to_dict("records"):
        if exclude and int(r["right"]) in exclude.get(int(r["left"]), ()):
            continue
        d = res._decision(r)
        by.setdefault(d.left, []).append(d)
        if not res.linkage and d.right != d.left:
            by.setdefault(d.right, []).append(d)
    return {row: _row_outcome(res, row, cands) for row, cands in by.items()}
