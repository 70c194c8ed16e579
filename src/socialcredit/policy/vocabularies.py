"""What the prohibited categories are called in values, not only in names.

A field called ``group`` whose enum values are 汉族, 回族 and 维吾尔族 holds ethnicity, though
no name says so. ``prohibited.py`` reads names; this module reads the values a pack lets a field
take and the descriptions it gives them, against vocabularies shipped with the project as data
(``vocabularies/*.txt``: the 56 officially recognised ethnic groups, religions, political
affiliations, health conditions; one item a line, its names separated by ``|``).

A value is a hit when, folded (``prohibited.fold``) and lower-cased, with spaces and hyphens
read as underscores, it is one of an item's names. An enum falls in a category when two of its
values name items of that category, or one value names one by a distinctive name (a Chinese
name, or a romanised one of five letters or more: ``uyghur``, ``buddhist``, ``diabetes``;
short romanised names such as ``han``, ``li`` or ``dai`` are also ordinary words and
surnames). A description falls in a category when it names two items of it, or one by a
distinctive romanised name as a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .prohibited import fold

FILES = {
    "ethnicity": "ethnicity.txt",
    "religious opinion": "religious_opinion.txt",
    "political opinion": "political_opinion.txt",
    "health": "health.txt",
}

_CJK = re.compile(r"[\u4e00-\u9fff]")
_TOKEN = re.compile(r"[0-9a-z']+")


@dataclass(frozen=True)
class Vocabulary:
    category: str
    names: dict[str, int]  # a name -> its item's number

    def distinctive(self, name: str) -> bool:
        return bool(_CJK.search(name)) or len(name) >= 5


def _norm(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", fold(text).strip().lower())


@cache
def vocabularies() -> tuple[Vocabulary, ...]:
    out = []
    base = resources.files(__package__).joinpath("vocabularies")
    for category, file in FILES.items():
        names: dict[str, int] = {}
        lines = base.joinpath(file).read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(x for x in lines if x.strip() and not x.startswith("#")):
            for name in line.split("|"):
                names[_norm(name)] = n
        out.append(Vocabulary(category, names))
    return tuple(out)


def values_category(values: list[str]) -> tuple[str, list[str]] | None:
    """The category an enum's values name, with the values that name it; None if none."""
    for v in vocabularies():
        hits = [x for x in values if _norm(x) in v.names]
        items = {v.names[_norm(x)] for x in hits}
        if len(items) >= 2 or any(v.distinctive(_norm(x)) for x in hits):
            return v.category, hits
    return None


def text_category(text: str) -> tuple[str, list[str]] | None:
    """The category a description names items of, with the names found; None if none."""
    folded = fold(text).lower()
    tokens = _TOKEN.findall(folded)
    # words, and runs of two and three words for names like heart_disease, falun_gong
    words = set(tokens)
    for k in (2, 3):
        words |= {"_".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}
    for v in vocabularies():
        found: dict[int, str] = {}
        distinctive = False
        for name, item in v.names.items():
            if _CJK.search(name):
                hit = name in folded
            else:
                hit = name in words
                distinctive = distinctive or (hit and v.distinctive(name))
            if hit:
                found.setdefault(item, name)
        if len(found) >= 2 or distinctive:
            return v.category, sorted(found.values())
    return None
