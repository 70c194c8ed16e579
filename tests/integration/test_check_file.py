"""The packed check file: it answers as the exact check path does, it round-trips through its
file, a listing added or ended shows after a refresh, and swapping the file under concurrent
checks never yields an error or an answer that neither file gives."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.events.store import head_seq
from socialcredit.projections.check_file import (
    CheckFile,
    compile_file,
    seconds,
    subject_key,
    subject_keys,
)
from socialcredit.services import checks, ingest, listings
from socialcredit.services.subjects import resolve_code
from tests.fixtures.rows import ORG, ORG2, PERSON, abnormal, judgment, numbered, penalty

NOBODY = "110105197005050037"  # a well-formed ID number the register has never seen
SUBJECTS = [ORG, ORG2, PERSON, NOBODY]
MOMENTS = ["2026-02-01T09:00", "2026-02-15T12:00", "2026-03-02T12:00", "2028-06-01T12:00"]


def build(reg: Registry) -> None:
    ingest.ingest(
        reg,
        numbered(
            [
                judgment(),
                judgment("BJ-7", PERSON, conduct="evades_enforcement", listing_term_years="2"),
            ]
        ),
        "court",
        actor="court",
    )
    ingest.ingest(reg, numbered([abnormal("AB-1", ORG2), penalty("P-1", ORG2)]), "samr", actor="s")


def compile_now(reg: Registry, path: Path) -> CheckFile:
    with reg.engine.connect() as conn:
        compile_file(conn, reg.pack, path, head_seq(conn))
    return CheckFile(path)


def exact(reg: Registry, measure: str, at: str) -> list[bool]:
    """Whether the exact path's answer has anything beyond a plain "no": a listing that
    applies, one suspended by an objection, or one notified and not yet active."""
    out = []
    for s in SUBJECTS:
        if not _known(reg, s):
            out.append(False)
            continue
        a = checks.answer(reg, s, measure, at=parse_moment(at))
        out.append(bool(a["applies"] or a.get("suspended") or a.get("notified_not_yet_active")))
    return out


def _known(reg: Registry, code: str) -> bool:
    from sqlalchemy import select

    from socialcredit.db import subjects

    sid = resolve_code(reg, code).subject_id
    with reg.engine.connect() as conn:
        return (
            conn.execute(select(subjects.c.subject_id).where(subjects.c.subject_id == sid)).first()
            is not None
        )


def ids(reg: Registry) -> list[str]:
    return [resolve_code(reg, s).subject_id for s in SUBJECTS]


def test_answers_as_the_exact_path_for_every_measure_and_moment(
    reg: Registry, clock: FixedClock, tmp_path: Path
) -> None:
    build(reg)
    clock.set(parse_moment("2026-03-02T12:00"))
    listings.advance(reg, "sweep")
    f = compile_now(reg, tmp_path / "checks.bin")
    seen_true = 0
    for measure in reg.pack.measures:
        for at in MOMENTS:
            got = f.hits_for(ids(reg), measure, parse_moment(at))
            assert got == exact(reg, measure, at), (measure, at)
            one = [f.hit(subject_key(i), measure, seconds(parse_moment(at))) for i in ids(reg)]
            assert one == got
            seen_true += sum(got)
    assert seen_true > 10  # the comparison covers restricted answers, not only empty ones
    # the file on disk is the whole index: a second mapping answers the same
    again = CheckFile(tmp_path / "checks.bin")
    assert again.header == f.header
    assert again.nbytes() == f.nbytes()
    # 12 bytes a pair (32-bit key residue, from, until), a u32 directory of 2^bits + 1 and a
    # prefix filter of 2^filter_bits bits, 8 to 16 a pair
    info = f.header["measures"]["restrict_air_travel"]
    assert info["count"] > 0
    assert 8 * info["count"] <= 2 ** info["filter_bits"] < 16 * info["count"]
    assert f.nbytes("restrict_air_travel") == (
        12 * info["count"] + 4 * (2 ** info["bits"] + 1) + 2 ** info["filter_bits"] // 8
    )


def test_a_listing_ended_shows_after_refresh(
    reg: Registry, clock: FixedClock, tmp_path: Path
) -> None:
    build(reg)
    clock.set(parse_moment("2026-03-02T12:00"))
    path = tmp_path / "checks.bin"
    f = compile_now(reg, path)
    org = ids(reg)[:1]
    at = parse_moment("2026-03-03T12:00")
    assert f.hits_for(org, "restrict_air_travel", at) == [True]
    ingest.amend(
        reg,
        "court",
        "BJ-2026-0001",
        {
            "status": "performed",
            "performed_on": "2026-03-02",
            "exit_decision_ref": "（2026）京0105执1234号之二",
        },
        actor="court",
    )
    assert f.hits_for(org, "restrict_air_travel", at) == [True]  # not yet refreshed
    with reg.engine.connect() as conn:
        compile_file(conn, reg.pack, path, head_seq(conn))
    assert f.refresh() is True and f.refresh() is False
    assert f.hits_for(org, "restrict_air_travel", at) == [False]


def test_swapping_the_file_under_concurrent_checks(
    reg: Registry, clock: FixedClock, tmp_path: Path
) -> None:
    """Two files, A (before the judgment is performed) and B (after), swapped in 40 times while
    four threads check; every batch answer equals A's or B's, and nothing raises."""
    build(reg)
    clock.set(parse_moment("2026-03-02T12:00"))
    a_path, b_path, live = tmp_path / "a.bin", tmp_path / "b.bin", tmp_path / "live.bin"
    compile_now(reg, a_path)
    ingest.amend(
        reg,
        "court",
        "BJ-2026-0001",
        {
            "status": "performed",
            "performed_on": "2026-03-02",
            "exit_decision_ref": "（2026）京0105执1234号之二",
        },
        actor="court",
    )
    compile_now(reg, b_path)
    rng = np.random.default_rng(0)
    queries = np.concatenate(
        [subject_keys(ids(reg)), rng.integers(0, 2**63, 2000, dtype=np.uint64)]
    )
    at = parse_moment("2026-03-03T12:00")
    answers = {
        name: CheckFile(p).hits(queries, "restrict_air_travel", at).tobytes()
        for name, p in (("a", a_path), ("b", b_path))
    }
    assert answers["a"] != answers["b"]
    live.write_bytes(a_path.read_bytes())
    f = CheckFile(live)
    errors: list[BaseException] = []
    seen: set[bytes] = set()
    stop = threading.Event()

    def hammer() -> None:
        try:
            while not stop.is_set():
                f.refresh()
                seen.add(f.hits(queries, "restrict_air_travel", at).tobytes())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(40):
        src = b_path if i % 2 == 0 else a_path
        tmp = tmp_path / f".live.{i}"
        tmp.write_bytes(src.read_bytes())
        tmp.replace(live)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert seen <= set(answers.values()) and len(seen) == 2
