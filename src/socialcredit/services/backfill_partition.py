"""The first step of a backfill (``services.backfill``): the rows of the files to shards, rows
that share a subject always together.

A row's keys are its subject's code, the ID numbers of the persons it names, and the
organisation code a unified code embeds or a codeless row gives as its legacy code (the one the
deterministic resolution links by); rows that share a key are kept together (union-find over
the keys), and each group goes whole to one shard, chosen by its least key (independent of the
order of the rows). Keys fold full-width forms, keep letters and digits, and turn a 15-digit
resident ID into its 18-digit form: a key may group more rows than the registry's own reading
of codes, never fewer.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidIdentifier
from ..identifiers.resident_id import lift_15
from ..ingest.readers import Row, RowProblem
from ..resolution.deterministic import parse_organisation_code

Progress = Callable[[int], None]

#: what a code's key leaves out: everything but letters and digits (a key may group more rows
#: than the registry's own reading of codes would, never fewer, so that rows about one subject
#: are never split)
_NOT_ALNUM = re.compile(r"[\W_]+")
#: the group of a row with no key
NO_GROUP = -1


def stable_key(key: str) -> int:
    """A key as a number, the same in every process and run (so a partition can be repeated);
    never ``NO_GROUP``."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


class Groups:
    """Union-find over the rows' keys (as numbers, see ``_stable``)."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, k: int) -> int:
        parent = self.parent
        root = k
        while (p := parent.get(root, root)) != root:
            root = p
        while k != root:  # path compression
            parent[k], k = root, parent.get(k, k)
        return root

    def union(self, keys: list[int]) -> int:
        roots = {self.find(k) for k in keys}
        first = min(roots)
        for r in roots:
            if r != first:
                self.parent[r] = first
        self.parent.setdefault(first, first)
        return first


def code_key(raw: Any) -> str | None:
    """A subject code as the shards' partition sees it: full-width forms folded (NFKC), letters
    and digits only, upper case; a 15-digit resident ID in its 18-digit form (so both forms of
    one person's number meet)."""
    if not isinstance(raw, str):
        return None
    code = _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", raw)).upper()
    if not code:
        return None
    if len(code) == 15 and code.isdigit():  # a first-generation resident ID: born 19xx
        return lift_15(code)
    return code


def row_keys(pack: Any, row: dict[str, Any]) -> list[str]:
    """The keys that tie a row to others: the subject's code (and the organisation code a
    unified code embeds), each person it names, and its legacy organisation code."""
    keys: list[str] = []
    code = code_key(row.get("subject_id"))
    if code is not None:
        keys.append(code)
        if len(code) == 18:
            # the organisation code a unified code embeds, as parse_organisation_code writes it
            # (for a resident ID this key is meaningless, and at worst groups rows needlessly:
            # an all-digit unified code cannot be told from one by its shape)
            keys.append(f"oc:{code[8:16]}-{code[16]}")
    legacy = row.get("subject_legacy_code")
    if isinstance(legacy, str) and legacy.strip():
        with contextlib.suppress(InvalidIdentifier):
            keys.append("oc:" + parse_organisation_code(legacy))
    rt = pack.record_types.get(row.get("record_type"))
    if rt is not None:
        for fname, spec in rt.fields.items():
            if spec.type == "person_id":
                person = code_key(row.get(fname))
                if person is not None:
                    keys.append(person)
    return keys


@dataclass
class Partitioned:
    #: per shard, per file: the path of its rows (JSON Lines of [row number, row])
    paths: list[list[Path]]
    rows: list[int]


def partition(
    pack: Any,
    files: list[tuple[str, Iterator[Row]]],
    shards: int,
    work: Path,
    progress: Progress | None,
) -> Partitioned:
    """Rows to shards, whole groups each (two passes: the groups are known only once every
    row's keys are; the rows wait in a staging file between them)."""
    groups = Groups()
    staged = work / "staged.jsonl"
    # per staged row, a key of its group; a row of no group (no code, no legacy code: it is
    # queued for review) goes round the shards, a group whole to the shard of its root key
    row_group: list[int] = []
    file_of: list[int] = []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with staged.open("w", encoding="utf-8") as out:
        for fi, (_name, rows) in enumerate(files):
            n_read = 0
            for n, row in rows:
                n_read += 1
                file_of.append(fi)
                if isinstance(row, RowProblem):  # rejected by whichever shard takes it
                    row_group.append(NO_GROUP)
                    out.write(dumps([n, None, row.field, row.reason]))
                else:
                    keys = [stable_key(k) for k in row_keys(pack, row)]
                    row_group.append(groups.union(keys) if keys else NO_GROUP)
                    out.write(dumps([n, row]))
                out.write("\n")
                if progress and n_read % 10_000 == 0:
                    progress(10_000)
            if progress and n_read % 10_000:
                progress(n_read % 10_000)
    paths = [[work / f"shard{s}.file{fi}.jsonl" for fi in range(len(files))] for s in range(shards)]
    handles = [[p.open("w", encoding="utf-8") for p in ps] for ps in paths]
    counts = [0] * shards
    try:
        with staged.open(encoding="utf-8") as src:
            for i, line in enumerate(src):
                g = row_group[i]
                # a group's root is the least of its keys, whatever the order of its rows
                s = i % shards if g == NO_GROUP else groups.find(g) % shards
                handles[s][file_of[i]].write(line)
                counts[s] += 1
    finally:
        for hs in handles:
            for h in hs:
                h.close()
    staged.unlink()
    return Partitioned(paths, counts)


def staged_rows(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            if len(item) == 2:
                yield item[0], item[1]
            else:
                yield item[0], RowProblem(item[0], item[2], item[3])
