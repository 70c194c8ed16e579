"""The name index: organisation names cut into overlapping pairs of characters.

Chinese names have no spaces to split words on, and people search by two-character fragments
("华为", "腾讯") as often as by whole names, so the index holds every pair of adjacent
characters of a name (the CJK bigrams Lucene's ``CJKBigramFilter`` makes), one row per pair,
keyed ``(gram, name_len, subject_id)``. A search reads the postings of its rarest pair in order
of name length, so the shortest (most exact) names come first without sorting, and checks each
candidate's whole name. The same table and queries serve SQLite and PostgreSQL.

Only organisations are indexed: a natural person is never searchable by name.
"""

from __future__ import annotations

import unicodedata


def normalise(text: str) -> str:
    """Width-folded (NFKC), case-folded, letters and digits only: ``（北京）`` matches ``(北京)``."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def grams(text: str) -> list[str]:
    """The distinct adjacent pairs of the normalised text; a one-character text is its own gram."""
    n = normalise(text)
    if len(n) < 2:
        return [n] if n else []
    return sorted({n[i : i + 2] for i in range(len(n) - 1)})
