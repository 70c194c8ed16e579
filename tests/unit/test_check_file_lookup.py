"""The check file's lookups against a brute-force scan, on synthetic keys: several listings per
subject, empty measures, colliding buckets, and the scalar key equal to the vectorised one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from socialcredit.projections.check_file import (
    CheckFile,
    subject_key,
    subject_keys,
    write_file,
)


def brute(keys: np.ndarray, froms: np.ndarray, untils: np.ndarray, q: int, t: int) -> bool:
    rows = keys == q
    return bool(np.any((froms[rows] <= t) & (t < untils[rows])))


def test_scalar_and_vector_keys_agree() -> None:
    ids = ["91110105MA01ABCD3X", "P-" + "0f" * 16, "", "9" * 40, "1"]
    assert [subject_key(s) for s in ids] == [int(k) for k in subject_keys(ids)]
    assert len({subject_key(s) for s in ids}) == len(ids)
    assert subject_keys(np.array(ids)).tolist() == subject_keys(ids).tolist()


def test_lookups_equal_a_scan(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 5000
    base = rng.integers(0, 2**64, 1200, dtype=np.uint64)
    keys = base[rng.integers(0, len(base), n)]  # many subjects with several listings
    froms = rng.integers(0, 1000, n).astype(np.uint32)
    untils = (froms + rng.integers(1, 500, n)).astype(np.uint32)
    empty = (np.zeros(0, np.uint64), np.zeros(0, np.uint32), np.zeros(0, np.uint32))
    write_file(tmp_path / "c.bin", {"m": (keys, froms, untils), "none": empty}, version=3)
    f = CheckFile(tmp_path / "c.bin")
    assert f.version == 3
    # same bucket, another residue: must not be taken for the listed key
    near = base[:50] ^ np.uint64(1 << 40)
    queries = np.concatenate([base, near, rng.integers(0, 2**64, 500, dtype=np.uint64)])
    for t in (0, 250, 999, 1400):
        want = [brute(keys, froms, untils, int(q), t) for q in queries]
        assert f.hits(queries, "m", t).tolist() == want
        assert [f.hit(int(q), "m", t) for q in queries] == want
        assert not f.hits(queries, "none", t).any()
        assert not any(f.hit(int(q), "none", t) for q in queries[:20])
    assert sum(brute(keys, froms, untils, int(q), 250) for q in base) > 100
    # a key that shares all 32 + bits stored bits with a listed one is a (documented) hit: it
    # goes to the exact path, which answers from the subject's own listings
    bits = f.header["measures"]["m"]["bits"]
    assert 32 + bits < 64
    twin = base ^ np.uint64(1)
    assert f.hits(twin, "m", 250).tolist() == f.hits(base, "m", 250).tolist()


def test_the_prefix_filter_passes_every_listed_key_and_stops_most_others(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    n = 20_000
    keys = rng.integers(0, 2**64, n, dtype=np.uint64)
    always = (np.zeros(n, np.uint32), np.full(n, 2**32 - 1, np.uint32))
    write_file(tmp_path / "c.bin", {"m": (keys, *always)}, version=1)
    f = CheckFile(tmp_path / "c.bin")
    fbits = f.header["measures"]["m"]["filter_bits"]
    bitmap = np.unpackbits(f._m.measures["m"].filter, bitorder="little").astype(bool)
    assert len(bitmap) == 2**fbits
    assert bitmap[(keys >> np.uint64(64 - fbits)).astype(np.intp)].all()
    assert 0.06 < bitmap.mean() < 0.12  # 8-16 bits a key, one set per key
    # unlisted keys: the answer is False whether the filter stopped them or the search did
    others = rng.integers(0, 2**64, 50_000, dtype=np.uint64)
    others = others[~np.isin(others, keys)]
    assert not f.hits(others, "m", 5).any()
    assert not any(f.hit(int(k), "m", 5) for k in others[:2000])
    assert f.hits(keys, "m", 5).all()
    assert all(f.hit(int(k), "m", 5) for k in keys[:2000])
