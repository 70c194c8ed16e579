"""The categories of data the registry never holds (DESIGN.md section 2, data minimisation).

This list lives in code, not in a pack: a pack cannot opt out of it. A field name is split into
words and each word compared with the vocabulary, so ``postal_code`` is fine and ``weibo_posts``
is not.
"""

from __future__ import annotations

import re
from functools import lru_cache

PROHIBITED: dict[str, frozenset[str]] = {
    "biometrics": frozenset(
        {
            "biometric",
            "biometrics",
            "face",
            "facial",
            "faceprint",
            "fingerprint",
            "fingerprints",
            "iris",
            "retina",
            "voiceprint",
            "gait",
            "dna",
            "genetic",
            "genome",
            "gene",
            "genes",
            "photo",
            "portrait",
        }
    ),
    "political opinion": frozenset(
        {
            "political",
            "politics",
            "party",
            "ideology",
            "opinion",
            "opinions",
            "petition",
            "petitioner",
            "protest",
        }
    ),
    "religious opinion": frozenset(
        {"religion", "religious", "faith", "belief", "beliefs", "creed"}
    ),
    "ethnicity": frozenset({"ethnic", "ethnicity", "race", "racial", "minzu", "nationality"}),
    "health": frozenset(
        {
            "health",
            "medical",
            "disease",
            "diagnosis",
            "disability",
            "illness",
            "blood",
            "pregnancy",
            "mental",
            "hiv",
            "vaccination",
        }
    ),
    "online speech": frozenset(
        {
            "speech",
            "post",
            "posts",
            "weibo",
            "wechat",
            "tweet",
            "tweets",
            "comment",
            "comments",
            "rumour",
            "rumours",
            "rumor",
            "rumors",
            "online",
            "internet",
            "social_media",
            "blog",
        }
    ),
    "social connections": frozenset(
        {
            "relative",
            "relatives",
            "friend",
            "friends",
            "family",
            "spouse",
            "parent",
            "parents",
            "child",
            "children",
            "kin",
            "contacts",
            "connections",
            "associates",
            "acquaintances",
            "classmates",
            "neighbours",
            "neighbors",
            "followers",
        }
    ),
}

_SPLIT = re.compile(r"[^0-9a-zA-Z]+|(?<=[a-z])(?=[A-Z])")


def words(name: str) -> list[str]:
    return [w.lower() for w in _SPLIT.split(name) if w]


@lru_cache(maxsize=4096)
def prohibited_category(field_name: str) -> str | None:
    """The prohibited category a field name falls in, or None."""
    ws = words(field_name)
    joined = "_".join(ws)
    for category, vocabulary in PROHIBITED.items():
        if joined in vocabulary or any(w in vocabulary for w in ws):
            return category
    return None
