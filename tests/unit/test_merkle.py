"""RFC 6962 tree hashing against Certificate Transparency's reference vectors (the leaves and
tree heads every CT implementation tests against, as in Trillian's and Go CT's Merkle tests),
and properties over random trees: every leaf's audit path verifies, a changed, removed or moved
leaf does not, and every prefix is consistent with the whole."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.events import merkle

DATA = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
LEAVES = [merkle.leaf_hash(d) for d in DATA]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf, counted from 1; tree size; audit path)
INCLUSION = [
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        2,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (old size, new size, consistency proof)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def test_tree_heads_match_the_reference() -> None:
    for n in range(len(ROOTS)):
        assert merkle.root(DATA[:n]).hex() == ROOTS[n], n


def test_audit_paths_match_the_reference_and_verify() -> None:
    for leaf, size, path in INCLUSION:
        got = merkle.audit_path(LEAVES[:size], leaf - 1)
        assert [p.hex() for p in got] == path, (leaf, size)
        root = bytes.fromhex(ROOTS[size])
        assert merkle.verify_path(LEAVES[leaf - 1], leaf - 1, size, got, root)
        assert not merkle.verify_path(LEAVES[leaf - 1], leaf - 1, size, got, LEAVES[0])


def test_consistency_proofs_match_the_reference_and_verify() -> None:
    for m, n, proof in CONSISTENCY:
        got = merkle.consistency_proof(LEAVES[:n], m)
        assert [p.hex() for p in got] == proof, (m, n)
        old, new = bytes.fromhex(ROOTS[m]), bytes.fromhex(ROOTS[n])
        assert merkle.verify_consistency(m, n, old, new, got)
        if m < n:
            assert not merkle.verify_consistency(m, n, new, new, got)


trees = st.lists(st.binary(max_size=12), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(trees, st.data())
def test_every_leaf_is_provable_and_nothing_else_is(data: list[bytes], draw: st.DataObject) -> None:
    leaves = [merkle.leaf_hash(d) for d in data]
    n, root = len(leaves), merkle.root(data)
    for i in range(n):
        path = merkle.audit_path(leaves, i)
        assert merkle.verify_path(leaves[i], i, n, path, root)
        # a changed fact, or the same fact claimed at another place, does not verify
        assert not merkle.verify_path(merkle.leaf_hash(data[i] + b"!"), i, n, path, root)
        j = draw.draw(st.integers(0, n - 1))
        if leaves[j] != leaves[i]:
            assert not merkle.verify_path(leaves[j], i, n, path, root)
    if n > 1:  # a removed fact changes the head; so does a reordered batch
        assert merkle.root(data[:-1]) != root
        swapped = [data[1], data[0], *data[2:]]
        if data[0] != data[1]:
            assert merkle.root(swapped) != root


@settings(max_examples=30, deadline=None)
@given(trees)
def test_every_prefix_is_consistent_with_the_whole(data: list[bytes]) -> None:
    leaves = [merkle.leaf_hash(d) for d in data]
    n = len(leaves)
    for m in range(1, n + 1):
        proof = merkle.consistency_proof(leaves, m)
        old, new = merkle.root_of_hashes(leaves[:m]), merkle.root_of_hashes(leaves)
        assert merkle.verify_consistency(m, n, old, new, proof), (m, n)
        if m < n:  # a rewritten prefix is not consistent with the published head
            forged = merkle.root_of_hashes([merkle.leaf_hash(b"forged"), *leaves[1:m]])
            if forged != old:
                assert not merkle.verify_consistency(m, n, forged, new, proof)
