"""Merkle tree hashing as Certificate Transparency does it (RFC 6962 section 2.1, SHA-256).

The log is to commit to batches of facts: one chained event per batch carries the root of a
Merkle tree over the batch's canonical facts, and each fact stays provable by its audit path.
This module is that tree and nothing else: leaf and node hashes with RFC 6962's domain
separation (0x00 before a leaf, 0x01 before a pair of nodes, so that a leaf can never pass for a
node), the tree head of n leaves (``root``), the audit path of a leaf (``audit_path``) and its
check (``verify_path``), and consistency proofs between two sizes of one growing tree
(``consistency_proof``, ``verify_consistency``), by RFC 6962 section 2.1.1 and 2.1.2 and the
verification algorithms of RFC 9162 section 2.1.3.2 and 2.1.4.2.

The tree of n leaves splits at k, the largest power of two below n: MTH(D[0:n]) =
H(0x01 || MTH(D[0:k]) || MTH(D[k:n])), MTH of one leaf = H(0x00 || leaf), of none = H("").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of_hashes(leaves: Sequence[bytes]) -> bytes:
    """The tree head over leaf hashes (already hashed with ``leaf_hash``)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    # bottom-up: pair neighbours level by level; an odd last node rises unpaired, which gives
    # the same tree as the recursive split at the largest power of two
    level = list(leaves)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def root(data: Sequence[bytes]) -> bytes:
    """MTH of the leaves' data."""
    return root_of_hashes([leaf_hash(d) for d in data])


def audit_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf ``index`` among the leaf hashes (RFC 6962 2.1.1), nearest
    sibling first."""
    n = len(leaves)
    if not 0 <= index < n:
        raise IndexError(f"leaf {index} of a tree of {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*audit_path(leaves[:k], index), root_of_hashes(leaves[k:])]
    return [*audit_path(leaves[k:], index - k), root_of_hashes(leaves[:k])]


def verify_path(leaf: bytes, index: int, size: int, path: Sequence[bytes], expected: bytes) -> bool:
    """Does ``path`` prove that the leaf hash ``leaf`` is leaf ``index`` of the tree of
    ``size`` leaves whose root is ``expected``? (RFC 9162 2.1.3.2)"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected


def consistency_proof(leaves: Sequence[bytes], m: int) -> list[bytes]:
    """The proof that the tree of the first ``m`` leaves is a prefix of the tree of all of
    them (RFC 6962 2.1.2, SUBPROOF)."""
    n = len(leaves)
    if not 0 < m <= n:
        raise ValueError(f"no consistency proof from {m} to {n} leaves")

    def sub(m: int, d: Sequence[bytes], complete: bool) -> list[bytes]:
        n = len(d)
        if m == n:
            return [] if complete else [root_of_hashes(d)]
        k = _split(n)
        if m <= k:
            return [*sub(m, d[:k], complete), root_of_hashes(d[k:])]
        return [*sub(m - k, d[k:], False), root_of_hashes(d[:k])]

    return sub(m, leaves, True)


def verify_consistency(
    m: int, n: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Does ``proof`` show that the tree of size ``m`` with ``old_root`` is a prefix of the
    tree of size ``n`` with ``new_root``? (RFC 9162 2.1.4.2)"""
    if not 0 < m <= n:
        return False
    if m == n:
        return not proof and old_root == new_root
    path = list(proof)
    if m & (m - 1) == 0:  # m is a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
