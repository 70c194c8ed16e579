"""A batch's commitment and the proof of one fact: the chunked proof is the fact's RFC 6962
audit path in the whole batch, whatever the batch's size and the fact's place."""

from __future__ import annotations

import hashlib
import random

import pytest

from socialcredit.events import batches, merkle


def _leaves(n: int) -> list[bytes]:
    return [
        batches.fact_leaf(
            f"e{i}", "record-accepted", f"S{i % 7}", hashlib.sha256(b"%d" % i).hexdigest()
        )
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "n", [1, 2, 3, 255, 256, 257, 511, 512, 513, 768, 1000, 3 * batches.CHUNK + 17]
)
def test_chunked_proof_is_the_audit_path_of_the_whole_batch(n: int) -> None:
    leaves = _leaves(n)
    commit = batches.commitment(101, leaves)
    assert commit["root"] == merkle.root_of_hashes(leaves).hex()
    rng = random.Random(n)
    for index in {0, n - 1, *rng.sample(range(n), min(n, 12))}:
        lo = index // batches.CHUNK * batches.CHUNK
        proof = batches.prove(commit, 999, 101 + index, leaves[lo : lo + batches.CHUNK])
        assert proof.index == index and proof.size == n
        assert proof.path == [p.hex() for p in merkle.audit_path(leaves, index)]
        assert proof.holds()


def test_the_commitment_names_what_changed() -> None:
    leaves = _leaves(600)
    commit = batches.commitment(1, leaves)
    assert batches.check(commit, 1, leaves) is None
    swapped = list(leaves)
    swapped[300], swapped[301] = swapped[301], swapped[300]
    assert "facts 257..512" in (batches.check(commit, 1, swapped) or "")
    assert "commits to 600 facts" in (batches.check(commit, 1, leaves[:-1]) or "")
    assert "from event 1" in (batches.check(commit, 2, leaves) or "")
    forged = {**commit, "root": "00" * 32}
    assert "root" in (batches.check(forged, 1, leaves) or "")


def test_a_proof_with_another_leaf_or_path_does_not_hold() -> None:
    leaves = _leaves(300)
    commit = batches.commitment(1, leaves)
    proof = batches.prove(commit, 400, 260, leaves[256:])
    assert proof.holds()
    other = batches.Proof(**{**proof.__dict__, "leaf": leaves[3].hex()})
    assert not other.holds()
    bent = batches.Proof(
        **{**proof.__dict__, "path": [proof.path[1], proof.path[0], *proof.path[2:]]}
    )
    assert not bent.holds()


def test_an_empty_batch_commits_to_the_empty_tree() -> None:
    commit = batches.commitment(5, [])
    assert commit["count"] == 0 and commit["root"] == merkle.EMPTY_ROOT.hex()
    assert batches.check(commit, 5, []) is None
