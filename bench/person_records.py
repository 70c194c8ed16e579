# ruff: noqa: T201  (a command that reports what it wrote)
"""Person records with FEBRL's columns: seeded corruption, and a generator of training data.

``corrupt(df, seed)`` damages a data set the way messy sources do (used by
``resolve_accuracy.py --messy``): heavy typos in names, given name and surname swapped,
dates of birth with two digits transposed, day and month swapped or one digit wrong, typos
in numbers (training data only), values
left blank, and one column (``soc_sec_id``) empty in every row. Each kind has its own
probability (``MESSY``); the random generator is seeded, so a run is repeatable.

``synthetic(n, seed)`` generates person records the way the registry meets them: half
Chinese-style (names from ``socialcredit.generate``'s surname and given-name tables, 18-digit
resident ID numbers with their check digit in ``soc_sec_id``, six-digit postcodes, addresses
of roads and districts), half Latin-alphabet (romanised and English names, street addresses);
a third of the people have a second record, damaged by ``corrupt`` at a moderate rate. It
trains the model saved in the policy pack:

    .venv/bin/python bench/person_records.py --train \
        --out src/socialcredit/packs/cn-national/resolution/persons_v1.json
"""

from __future__ import annotations

import argparse
import string
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

import pandas as pd
from stdnum.cn import ric

from socialcredit.generate import GIVEN_ANY, GIVEN_FEMALE, GIVEN_MALE, ROADS, SURNAMES

COLUMNS = (
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


@dataclass(frozen=True)
class Rates:
    """Probabilities of each kind of damage, per record (per column for ``blank``)."""

    name_typo: float
    swap_names: float
    dob_transpose: float
    dob_day_month: float
    dob_digit: float
    address_typo: float
    code_typo: float
    blank: float
    empty_columns: tuple[str, ...]


#: ``--messy``: heavy damage, and no ID numbers at all.
MESSY = Rates(
    name_typo=0.6,
    swap_names=0.2,
    dob_transpose=0.2,
    dob_day_month=0.15,
    dob_digit=0.15,
    address_typo=0.3,
    code_typo=0.0,
    blank=0.1,
    empty_columns=("soc_sec_id",),
)

#: Second records of the training data: ordinary clerical damage.
MODERATE = Rates(
    name_typo=0.25,
    swap_names=0.05,
    dob_transpose=0.05,
    dob_day_month=0.05,
    dob_digit=0.05,
    address_typo=0.15,
    code_typo=0.05,
    blank=0.05,
    empty_columns=(),
)

_LATIN = string.ascii_lowercase


def _typo(rng: Random, s: str, alphabet: str) -> str:
    if not s:
        return s
    i = rng.randrange(len(s))
    op = rng.choice(("sub", "del", "ins", "swap"))
    if op == "sub":
        return s[:i] + rng.choice(alphabet) + s[i + 1 :]
    if op == "del" and len(s) > 1:
        return s[:i] + s[i + 1 :]
    if op == "ins":
        return s[:i] + rng.choice(alphabet) + s[i:]
    if i + 1 < len(s):
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    return s[:-1] + rng.choice(alphabet)


def _alphabet(s: str) -> str:
    return _LATIN if s.isascii() else GIVEN_MALE + GIVEN_FEMALE + GIVEN_ANY


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v) or str(v).strip() == ""


def corrupt(df: pd.DataFrame, seed: int, rates: Rates = MESSY) -> pd.DataFrame:
    """A damaged copy of ``df`` (other columns, such as the truth, untouched)."""
    rng = Random(seed)
    out = df.copy()
    for col in COLUMNS:
        if col not in out.columns:
            out[col] = ""
    out[list(COLUMNS)] = out[list(COLUMNS)].astype(object).where(out[list(COLUMNS)].notna(), "")
    rows = out[list(COLUMNS)].to_dict("records")
    for r in rows:
        for col in ("given_name", "surname"):
            v = str(r[col])
            if v and rng.random() < rates.name_typo:
                for _ in range(rng.choice((1, 1, 2))):
                    v = _typo(rng, v, _alphabet(v))
                r[col] = v
        if rng.random() < rates.swap_names:
            r["given_name"], r["surname"] = r["surname"], r["given_name"]
        d = str(r["date_of_birth"])
        if len(d) == 8 and d.isdigit():
            if rng.random() < rates.dob_transpose:
                i = rng.randrange(7)
                d = d[:i] + d[i + 1] + d[i] + d[i + 2 :]
            if rng.random() < rates.dob_day_month:
                d = d[:4] + d[6:8] + d[4:6]
            if rng.random() < rates.dob_digit:
                i = rng.randrange(8)
                d = d[:i] + str(rng.randrange(10)) + d[i + 1 :]
            r["date_of_birth"] = d
        for col in ("address_1", "suburb"):
            v = str(r[col])
            if v and rng.random() < rates.address_typo:
                r[col] = _typo(rng, v, _alphabet(v))
        for col in ("street_number", "postcode", "soc_sec_id"):
            v = str(r[col])
            if v and rng.random() < rates.code_typo:
                r[col] = _typo(rng, v, string.digits)
        for col in COLUMNS:
            if rng.random() < rates.blank:
                r[col] = ""
        for col in rates.empty_columns:
            r[col] = ""
    damaged = pd.DataFrame(rows, index=out.index)
    for col in COLUMNS:
        out[col] = damaged[col]
    return out


# -- synthetic training data --------------------------------------------------------------------

_LATIN_GIVEN = [
    "james",
    "mary",
    "john",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "william",
    "elizabeth",
    "david",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "daniel",
    "nancy",
    "matthew",
    "lisa",
    "anthony",
    "betty",
    "mark",
    "sandra",
    "paul",
    "ashley",
    "steven",
    "kimberly",
    "andrew",
    "emily",
    "joshua",
    "donna",
    "kevin",
    "michelle",
    "brian",
    "carol",
    "george",
    "amanda",
    "edward",
    "melissa",
    "ronald",
    "deborah",
    "timothy",
    "stephanie",
    "jason",
    "rebecca",
    "wei",
    "fang",
    "min",
    "jing",
    "li",
    "na",
    "xiaoming",
    "yan",
    "jun",
    "hui",
    "lei",
    "ying",
    "tao",
    "hong",
    "ming",
    "ping",
    "qiang",
]
_LATIN_SURNAMES = [
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "thompson",
    "white",
    "harris",
    "clark",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "green",
    "baker",
    "adams",
    "nelson",
    "hill",
    "campbell",
    "mitchell",
    "roberts",
    "carter",
    "phillips",
    "evans",
    "turner",
    "torres",
    "parker",
    "collins",
    "edwards",
    "stewart",
    "wang",
    "li",
    "zhang",
    "liu",
    "chen",
    "yang",
    "huang",
    "zhao",
    "wu",
    "zhou",
    "xu",
    "sun",
    "ma",
    "zhu",
    "hu",
    "guo",
    "he",
    "lin",
    "gao",
    "luo",
]
_LATIN_STREETS = [
    "oak",
    "maple",
    "cedar",
    "pine",
    "elm",
    "high",
    "church",
    "station",
    "park",
    "mill",
    "victoria",
    "king",
    "queen",
    "george",
    "albert",
    "bridge",
    "river",
    "hill",
    "green",
    "north",
    "south",
    "west",
    "east",
    "london",
]
_STREET_KINDS = ("street", "road", "avenue", "lane", "drive", "crescent", "place")
_TOWNS = [
    "ashford",
    "bexley",
    "camden",
    "dalton",
    "easton",
    "fairview",
    "glenwood",
    "hamilton",
    "irvine",
    "jamestown",
    "kingsley",
    "lakeside",
    "milton",
    "newport",
    "oakley",
    "preston",
    "queensbury",
    "riverton",
    "stanmore",
    "thornbury",
    "upton",
    "vernon",
    "westbury",
    "yarmouth",
]
_STATES = ("nsw", "vic", "qld", "wa", "sa", "tas", "act", "nt")
_CN_DISTRICTS = [
    "朝阳",
    "海淀",
    "西城",
    "东城",
    "浦东",
    "黄浦",
    "徐汇",
    "天河",
    "越秀",
    "南山",
    "福田",
    "武侯",
    "锦江",
    "江干",
    "鼓楼",
    "雁塔",
]
_CN_PROVINCES = ["北京", "上海", "广东", "四川", "浙江", "江苏", "陕西", "湖北", "山东", "河南"]


def _pick_weighted(rng: Random, pairs: tuple[tuple[str, float], ...]) -> str:
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for v, w in pairs:
        x -= w
        if x <= 0:
            return v
    return pairs[-1][0]


def _born(rng: Random) -> date:
    return date(int(rng.triangular(1940, 2005, 1975)), 1, 1) + timedelta(rng.randrange(365))


def _chinese(rng: Random) -> dict[str, str]:
    male = rng.random() < 0.5
    pool = GIVEN_MALE if male else GIVEN_FEMALE
    given = (
        rng.choice(pool) if rng.random() < 0.4 else rng.choice(GIVEN_ANY + pool) + rng.choice(pool)
    )
    born = _born(rng)
    div = f"{rng.choice((11, 31, 44, 51, 33, 32, 61, 42))}{rng.randrange(1, 20):02d}{rng.randrange(1, 30):02d}"
    seq = rng.randrange(1, 999)
    first17 = f"{div}{born:%Y%m%d}{seq:03d}"
    province = rng.choice(_CN_PROVINCES)
    return {
        "given_name": given,
        "surname": _pick_weighted(rng, SURNAMES),
        "street_number": str(rng.randint(1, 999)),
        "address_1": rng.choice(ROADS) + rng.choice(("路", "街", "大道")),
        "address_2": f"{rng.randint(1, 30)}栋" if rng.random() < 0.4 else "",
        "suburb": rng.choice(_CN_DISTRICTS) + "区",
        "postcode": f"{div[:2]}{rng.randrange(10000):04d}",
        "state": province,
        "date_of_birth": born.strftime("%Y%m%d"),
        "soc_sec_id": first17 + ric.calc_check_digit(first17 + "0"),
    }


def _latin(rng: Random) -> dict[str, str]:
    return {
        "given_name": rng.choice(_LATIN_GIVEN),
        "surname": rng.choice(_LATIN_SURNAMES),
        "street_number": str(rng.randint(1, 200)),
        "address_1": f"{rng.choice(_LATIN_STREETS)} {rng.choice(_STREET_KINDS)}",
        "address_2": f"unit {rng.randint(1, 40)}" if rng.random() < 0.3 else "",
        "suburb": rng.choice(_TOWNS),
        "postcode": str(rng.randrange(1000, 9999)),
        "state": rng.choice(_STATES),
        "date_of_birth": _born(rng).strftime("%Y%m%d"),
        "soc_sec_id": str(rng.randrange(1_000_000, 9_999_999)),
    }


def synthetic(n: int, seed: int) -> pd.DataFrame:
    """``n`` people (half Chinese-style, half Latin-alphabet) and a damaged second record for
    a third of them; column ``person`` is the truth."""
    rng = Random(seed)
    people = [(_chinese(rng) if i % 2 == 0 else _latin(rng)) | {"person": str(i)} for i in range(n)]
    base = pd.DataFrame(people)
    dups = corrupt(base[base.index % 3 == 0], seed + 1, MODERATE)
    return pd.concat([base, dups], ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--train", action="store_true", help="train and save the person model")
    ap.add_argument("--people", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument(
        "--out", default="src/socialcredit/packs/cn-national/resolution/persons_v1.json"
    )
    ap.add_argument("--csv", help="write the generated records here instead")
    args = ap.parse_args()
    data = synthetic(args.people, args.seed)
    if args.csv:
        data.to_csv(args.csv, index=False)
        print(f"{len(data)} records -> {args.csv}")
    if args.train:
        from socialcredit.resolution import probabilistic

        model = probabilistic.train(
            data,
            metadata={
                "trained_on": (
                    f"bench/person_records.py synthetic({args.people}, seed={args.seed}): "
                    f"{len(data)} generated person records, half Chinese-style and half "
                    "Latin-alphabet, a third of the people with a second, damaged record "
                    "(dedupe)"
                ),
                "command": (
                    "bench/person_records.py --train "
                    f"--people {args.people} --seed {args.seed} --out {args.out}"
                ),
            },
        )
        model.save(args.out)
        print(f"model -> {args.out}")


if __name__ == "__main__":
    main()
