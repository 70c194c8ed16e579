"""Organisation records with ground truth and one kind of damage each, for the accuracy of
organisation resolution (``resolve_accuracy.py --organisations``).

The register side is ``n`` organisations from ``socialcredit.generate``'s own generator
(names with division, trade name, industry and legal form; addresses; legal representatives;
USCCs). The incoming side has one record for each of most of them, damaged in exactly one
way, its kind in column ``kind`` (and, whatever its kind, without its USCC with probability
0.7: rows reach probabilistic resolution because they came without a usable code), plus organisations that are not in the register (kind
``new``) so that a wrong link can happen:

- ``typo``: one character of the name replaced by another trade character;
- ``suffix``: the legal form written another way (有限公司 / 有限责任公司, 股份有限公司 /
  股份, the form left off);
- ``traditional``: the name, address and legal representative in traditional characters;
- ``address_swap``: the address's parts in another order (the street and number before the
  province, city and district);
- ``missing_code``: no USCC and no other damage;
- ``clean``: no damage (the control).

Seeded: the same ``n`` and seed give the same records.
"""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path
from random import Random

import pandas as pd

from socialcredit import generate
from socialcredit.resolution.normalise import TRADITIONAL

KINDS = ("clean", "typo", "suffix", "traditional", "address_swap", "missing_code")
_S2T = {s: t for t, s in TRADITIONAL.items() if s != t}
_S2T["证"] = "證"
_FORMS = (
    ("股份有限公司", ("股份", "")),
    ("有限责任公司", ("有限公司", "")),
    ("有限公司", ("有限责任公司", "")),
)


def organisations(n: int, seed: int) -> pd.DataFrame:
    """``n`` organisations as the register holds them; ``truth`` is the USCC."""
    rng = Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        g = generate._Generator(
            rng, date(2020, 1, 1), date(2025, 12, 31), Path(tmp), Random(seed + 1)
        )
        rows = []
        for _ in range(n):
            s = g.organisation()
            rows.append(
                {
                    "name": s.name,
                    "address": s.address,
                    "legal_rep": s.legal_rep,
                    "uscc": s.canonical_id,
                    "truth": s.canonical_id,
                }
            )
        for c in (g.court, g.samr, g.tax):
            c.close()
    return pd.DataFrame(rows)


def _typo(rng: Random, name: str) -> str:
    # a character of the trade name, not of the division prefix or the legal form
    i = rng.randrange(min(2, len(name) - 1), max(min(2, len(name) - 1) + 1, len(name) - 4))
    return name[:i] + rng.choice(generate.TRADE_CHARS) + name[i + 1 :]


def _suffix(rng: Random, name: str) -> str:
    for form, variants in _FORMS:
        if name.endswith(form):
            return name[: -len(form)] + rng.choice(variants)
    return name + "有限公司"


def _traditional(text: str) -> str:
    return "".join(_S2T.get(c, c) for c in text)


_SPLIT = re.compile(r"^(.*?(?:区|县|旗|市))([^区县旗市]*?(?:路|街|大道).*)$")


def _address_swap(address: str) -> str:
    m = _SPLIT.match(address)
    if not m:
        return address
    return m[2] + m[1]


def incoming(
    register: pd.DataFrame, seed: int, new: pd.DataFrame, codeless: float = 0.7
) -> pd.DataFrame:
    """One damaged record for 90 % of the register (kinds in turn) and the ``new`` ones.
    Besides its kind's damage, a record has no USCC with probability ``codeless``: rows
    reach probabilistic resolution because they came without a usable code."""
    rng = Random(seed)
    rows = []
    picked = [i for i in range(len(register)) if rng.random() < 0.9]
    for j, i in enumerate(picked):
        r = register.iloc[i].to_dict()
        kind = KINDS[j % len(KINDS)]
        if kind == "typo":
            r["name"] = _typo(rng, r["name"])
        elif kind == "suffix":
            r["name"] = _suffix(rng, r["name"])
        elif kind == "traditional":
            r = r | {k: _traditional(r[k]) for k in ("name", "address", "legal_rep")}
        elif kind == "address_swap":
            r["address"] = _address_swap(r["address"])
        if kind == "missing_code" or rng.random() < codeless:
            r["uscc"] = ""
        rows.append(r | {"kind": kind})
    rows += [
        r | {"kind": "new", "uscc": "" if rng.random() < codeless else r["uscc"]}
        for r in new.to_dict("records")
    ]
    out = pd.DataFrame(rows)
    return out.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def task(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The register (``n`` organisations) and the incoming records (their damaged copies and
    n/10 organisations not registered)."""
    both = organisations(n + n // 10, seed)
    register, new = both.iloc[:n].reset_index(drop=True), both.iloc[n:]
    return register, incoming(register, seed + 2, new)


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", action="store_true", help="train and save the organisation model")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument(
        "--out", default="src/socialcredit/packs/cn-national/resolution/organisations_v1.json"
    )
    args = ap.parse_args()
    if args.train:
        from socialcredit.resolution import probabilistic

        register, rows = task(args.n, args.seed)
        feats = ["name", "address", "legal_rep", "uscc"]
        model = probabilistic.train(
            rows[feats],
            register[feats],
            kind="organisation",
            metadata={
                "trained_on": (
                    f"bench/org_records.py task({args.n}, seed={args.seed}): {len(rows)} damaged "
                    f"incoming rows linked against {len(register)} generated organisations "
                    "(socialcredit.generate)"
                ),
                "command": f"bench/org_records.py --train --n {args.n} --seed {args.seed}",
            },
        )
        model.save(args.out)
        print(f"model -> {args.out}")  # noqa: T201


if __name__ == "__main__":
    main()
