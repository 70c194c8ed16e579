"""What a batch event commits to: the Merkle tree over its facts, and the proof of one fact.

High-volume writes (ingest rows, and the notices, listings, registrations and grades they
bring) are **facts**: rows of the log with their own sequence number, kept in canonical form
but not chained one by one. The chain hashes the **batch event** that follows them, whose
payload carries ``facts``: the first fact's sequence number, their count and the RFC 6962 tree
head over their leaves (``merkle.py``). Each fact's leaf covers its event id, type, subject and
the SHA-256 of its canonical payload; a purge redacts a payload and keeps that digest, so the
leaf, the root and every proof still verify.

The tree's leaves are grouped in aligned chunks of ``CHUNK`` facts. A chunk is a subtree of
the RFC 6962 tree (every split of a tree of more than ``CHUNK`` leaves falls on a chunk
boundary), so the batch event also keeps the chunk roots: the proof of one fact hashes its
chunk (at most ``CHUNK`` leaves) and combines the chunk roots, instead of re-hashing the whole
batch; the path it returns is the fact's ordinary RFC 6962 audit path to the batch root.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import merkle

#: facts a chunk of the tree holds (a power of two)
CHUNK = 256


def fact_leaf(event_id: str, type_: str, subject_id: str | None, digest: str) -> bytes:
    """The leaf hash of a fact: ``H(0x00 || event_id 0x1e type 0x1e subject 0x1e sha256:digest)``."""
    data = "\x1e".join((event_id, type_, subject_id or "", "sha256:" + digest))
    return hashlib.sha256(b"\x00" + data.encode("utf-8")).digest()


def chunk_roots(leaves: Sequence[bytes]) -> list[bytes]:
    return [merkle.root_of_hashes(leaves[i : i + CHUNK]) for i in range(0, len(leaves), CHUNK)]


def commitment(first_seq: int, leaves: Sequence[bytes]) -> dict[str, Any]:
    """The ``facts`` a batch event's payload carries for the facts ``first_seq``… (in order)."""
    chunks = chunk_roots(leaves)
    return {
        "first": first_seq,
        "count": len(leaves),
        "chunk": CHUNK,
        "chunks": [c.hex() for c in chunks],
        "root": merkle.root_of_hashes(chunks).hex(),
    }


def check(commit: dict[str, Any], first_seq: int, leaves: Sequence[bytes]) -> str | None:
    """None if ``commit`` (a batch event's ``facts``) is the commitment to these facts,
    otherwise what differs."""
    if commit.get("first") != first_seq or commit.get("count") != len(leaves):
        return (
            f"commits to {commit.get('count')} facts from event {commit.get('first')}, but the "
            f"log holds {len(leaves)} from event {first_seq}"
        )
    size = int(commit.get("chunk") or CHUNK)
    chunks = [merkle.root_of_hashes(leaves[i : i + size]) for i in range(0, len(leaves), size)]
    kept = commit.get("chunks") or []
    for i, c in enumerate(chunks):
        if i >= len(kept) or kept[i] != c.hex():
            lo = first_seq + i * size
            return (
                f"keeps a root for the facts {lo}..{min(lo + size, first_seq + len(leaves)) - 1} "
                "that they no longer hash to"
            )
    if len(kept) != len(chunks) or merkle.root_of_hashes(chunks).hex() != commit.get("root"):
        return "carries a Merkle root that is not the root of its chunks"
    return None


@dataclass(frozen=True)
class Proof:
    """The audit path of one fact to its batch's root."""

    seq: int
    batch_seq: int
    index: int  # the fact's place in its batch, from 0
    size: int  # facts in the batch
    leaf: str  # hex
    path: list[str]  # hex, nearest sibling first
    root: str  # hex

    def holds(self) -> bool:
        return merkle.verify_path(
            bytes.fromhex(self.leaf),
            self.index,
            self.size,
            [bytes.fromhex(p) for p in self.path],
            bytes.fromhex(self.root),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "batch_seq": self.batch_seq,
            "index": self.index,
            "size": self.size,
            "leaf": self.leaf,
            "path": self.path,
            "root": self.root,
            "algorithm": "RFC 6962 (SHA-256)",
        }


def prove(commit: dict[str, Any], batch_seq: int, seq: int, chunk_leaves: Sequence[bytes]) -> Proof:
    """The proof of fact ``seq`` from the leaves of its chunk (in order) and the batch's
    commitment: the path inside the chunk, then the path among the chunk roots."""
    size = int(commit.get("chunk") or CHUNK)
    index = seq - int(commit["first"])
    c, inner = divmod(index, size)
    chunks = [bytes.fromhex(h) for h in commit["chunks"]]
    path = [*merkle.audit_path(chunk_leaves, inner), *merkle.audit_path(chunks, c)]
    return Proof(
        seq=seq,
        batch_seq=batch_seq,
        index=index,
        size=int(commit["count"]),
        leaf=chunk_leaves[inner].hex(),
        path=[p.hex() for p in path],
        root=str(commit["root"]),
    )
