"""Backfill: shards ingested in worker processes and merged equal an ordinary ingest of the
same rows, shard after shard, table by table; the merged log verifies and proves its facts."""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, distinct, func, select, text

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock
from socialcredit.config import Settings
from socialcredit.db import events, ingest_batches, metadata
from socialcredit.errors import InvalidInput
from socialcredit.generate import generate
from socialcredit.identifiers.uscc import build_uscc
from socialcredit.ingest.readers import read_rows
from socialcredit.services import audit
from socialcredit.services.backfill import BackfillFile, backfill
from socialcredit.services.backfill_partition import code_key, partition, row_keys, staged_rows
from socialcredit.services.ingest import ingest, ingest_format

FILES = (("samr.csv", "samr"), ("tax.csv", "tax"), ("court.jsonl", "court"))

#: Columns whose values are drawn at random when written (ids, nonces, ciphertexts), and the
#: tables that are not projections; the rest must be equal.
RANDOM = {
    "listings": {"listing_id"},
    "notices": {"notice_id", "listing_id"},
    "subjects": {"id_cipher"},
    "ingest_batches": {"batch_id", "upload_id"},
    "reject_reports": {"batch_id"},
}
NOT_COMPARED = {"chain_head", "store_keys", "alembic_version", "events"}


def _tables(reg: Registry) -> dict[str, Counter[tuple[Any, ...]]]:
    out: dict[str, Counter[tuple[Any, ...]]] = {}
    with reg.engine.connect() as conn:
        for name, table in metadata.tables.items():
            if name in NOT_COMPARED:
                continue
            cols = [c for c in table.columns if c.name not in RANDOM.get(name, set())]
            out[name] = Counter(tuple(r) for r in conn.execute(select(*cols)))
    return out


def _log(reg: Registry) -> tuple[Counter[tuple[Any, ...]], list[int]]:
    """The facts by type and subject, and each batch's count of facts, in order."""
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(
                events.c.type, events.c.subject_id, events.c.batch_seq, events.c.payload
            ).order_by(events.c.seq)
        ).all()
    facts = Counter((r.type, r.subject_id) for r in rows if r.batch_seq is not None)
    counts = [
        json.loads(r.payload)["facts"]["count"]
        for r in rows
        if r.batch_seq is None and '"facts":' in r.payload
    ]
    return facts, counts


@contextmanager
def _second(env: dict[str, str], tmp_path: Path, clock: FixedClock) -> Iterator[Registry]:
    """Another registry beside the test's, on the same kind of database."""
    url = env["SOCIALCREDIT_DATABASE_URL"]
    if url.startswith("sqlite"):
        r = Registry(
            Settings.from_env({**env, "SOCIALCREDIT_DATABASE_URL": f"sqlite:///{tmp_path}/b.db"}),
            clock=clock,
        )
        try:
            yield r
        finally:
            r.close()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    base = url.split("?")[0]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{base}?options=-csearch_path%3D{schema}"
    r = Registry(Settings.from_env({**env, "SOCIALCREDIT_DATABASE_URL": url}), clock=clock)
    try:
        yield r
    finally:
        r.close()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_backfill_equals_ingest_shard_after_shard(
    reg: Registry, env: dict[str, str], clock: FixedClock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    generate(300, data, seed=11)
    files = [BackfillFile(data / n, s) for n, s in FILES]
    summary = backfill(reg, files, actor="test", workers=3, batch_size=200)
    assert sum(summary.rows_per_shard) == sum(f.rows for f in summary.files) > 600
    assert all(n > 0 for n in summary.rows_per_shard)

    # the same rows, partitioned the same way, through the ordinary ingest in one store
    work = tmp_path / "parts"
    work.mkdir()
    parts = partition(reg.pack, [(n, read_rows(data / n)) for n, _s in FILES], 3, work, None)
    with _second(env, tmp_path, clock) as plain:
        for shard in parts.paths:
            for (name, source), path in zip(FILES, shard, strict=True):
                ingest(
                    plain, staged_rows(path), source, actor="test", file_name=name, batch_size=200
                )
        got, want = _tables(reg), _tables(plain)
        for name in want:
            assert got[name] == want[name], name
        assert sum(len(v) for v in want.values()) > 1000
        assert _log(reg) == _log(plain)
    with reg.engine.connect() as conn:
        uploads = conn.execute(
            select(
                ingest_batches.c.file_name, func.count(distinct(ingest_batches.c.upload_id))
            ).group_by(ingest_batches.c.file_name)
        ).all()
    assert sorted(uploads) == sorted((n, 1) for n, _s in FILES)  # one upload a file

    with reg.engine.connect() as conn:
        last_fact = conn.execute(
            select(events.c.seq)
            .where(events.c.batch_seq.is_not(None))
            .order_by(events.c.seq.desc())
        ).first()
    assert audit.verify_chain(reg).ok
    assert audit.verify_chain(reg, sample=50).ok
    live = audit.fingerprint(reg)  # the merged projections are what the merged log rebuilds
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == live
    assert last_fact is not None
    proved = audit.prove(reg, last_fact.seq)
    assert proved["hash_verified"] is True
    assert proved["fact"]["proof"]["seq"] == last_fact.seq
    assert proved["fact"]["batch"]["seq"] > last_fact.seq


def test_backfill_loads_an_empty_registry_only(reg: Registry, tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(30, data, seed=2)
    ingest(reg, read_rows(data / "samr.csv"), "samr", actor="test")
    with pytest.raises(InvalidInput, match="empty registry"):
        backfill(reg, [BackfillFile(data / "tax.csv", "tax")], actor="test")


def test_rows_that_share_a_subject_share_a_shard() -> None:
    from socialcredit.policy import load_pack

    pack = load_pack(None)
    # both forms of one resident ID, spaces and case aside, meet at the valid 18-digit number
    # (the check digit python-stdnum accepts: an earlier key computed it over 16 digits, so the
    # two forms of one person's number could land in different shards)
    from stdnum.cn import ric

    lifted = code_key("110101850101001")
    assert lifted is not None and ric.is_valid(lifted) and lifted.startswith("11010119850101001")
    assert lifted == code_key(" 110101-19850101-001" + lifted[-1].lower())
    uscc = build_uscc("9", "1", "350100", "MA000100")
    assert code_key(f" {uscc.lower()[:9]} {uscc.lower()[9:]}") == uscc
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in uscc)  # ９１３５…
    assert code_key(full_width) == uscc
    # an organisation, a row without a code giving its legacy code (the organisation code its
    # unified code embeds), and the persons a row names
    org = {"subject_id": uscc, "record_type": "administrative_penalty"}
    legacy = {"subject_legacy_code": "MA000100-X", "record_type": "administrative_penalty"}
    assert set(row_keys(pack, org)) & set(row_keys(pack, legacy)) == {"oc:MA000100-X"}
    # a unified code of digits alone looks like a resident ID, and is grouped all the same
    digits = {"subject_id": "91110000600037341L", "record_type": "administrative_penalty"}
    codeless = {"subject_legacy_code": "60003734-1", "record_type": "administrative_penalty"}
    assert "oc:60003734-1" in set(row_keys(pack, digits)) & set(row_keys(pack, codeless))
    named = [
        (t, f)
        for t, rt in pack.record_types.items()
        for f, spec in rt.fields.items()
        if spec.type == "person_id"
    ]
    assert named
    rtype, fname = named[0]
    row = {"subject_id": uscc, "record_type": rtype, fname: "110101850101001"}
    assert code_key("110101850101001") in row_keys(pack, row)


def test_backfill_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from socialcredit.cli import app

    data = tmp_path / "data"
    generate(40, data, seed=4)
    clean = {k: None for k in os.environ if k.startswith("SOCIALCREDIT_")}

    def sc(*args: str) -> Any:
        return CliRunner().invoke(app, list(args), env={**clean, **env}, catch_exceptions=False)

    work = tmp_path / "work"
    # a file that is not a table: one clear error, nothing loaded, nothing left behind
    junk = tmp_path / "junk.csv.gz"
    junk.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    r = sc("backfill", str(junk), "--source", "samr", "--work-dir", str(work))
    assert r.exit_code != 0
    assert "junk.csv.gz" in r.output
    assert not list(work.glob("backfill-*"))

    r = sc("backfill", *(str(data / n) for n, _s in FILES), "--source", "samr", "--source", "tax")
    assert r.exit_code != 0 and "once for each of the 3 files" in r.output
    args = [str(data / n) for n, _s in FILES]
    for _n, s in FILES:
        args += ["--source", s]
    r = sc("backfill", *args, "--workers", "2", "--work-dir", str(work), "--json")
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert [f["file"] for f in got["files"]] == [n for n, _s in FILES]
    assert sum(got["rows_per_shard"]) == sum(f["rows"] for f in got["files"])
    assert sum(f["accepted"] for f in got["files"]) > 50
    assert not list(work.glob("backfill-*"))
    r = sc("audit", "verify")
    assert r.exit_code == 0, r.output
    # loaded once: a second backfill is refused, the ordinary ingest finds nothing new
    r = sc("backfill", args[0], "--source", "samr")
    assert r.exit_code != 0 and "empty registry" in r.output
    r = sc("ingest", args[0], "--source", "samr", "--json")
    assert json.loads(r.stdout)["accepted"] == 0


@pytest.mark.spark
def test_backfill_on_spark_equals_backfill_in_processes(
    reg: Registry, env: dict[str, str], clock: FixedClock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    generate(120, data, seed=8)
    files = [BackfillFile(data / n, s) for n, s in FILES]
    on_spark = backfill(reg, files, actor="test", workers=2, engine="spark", batch_size=100)
    with _second(env, tmp_path, clock) as local:
        in_processes = backfill(local, files, actor="test", workers=2, batch_size=100)
        assert on_spark.rows_per_shard == in_processes.rows_per_shard
        assert [f.as_dict() for f in on_spark.files] == [f.as_dict() for f in in_processes.files]
        assert _tables(reg) == _tables(local)
        assert _log(reg) == _log(local)
    assert audit.verify_chain(reg).ok


def test_a_shard_that_fails_stops_the_backfill_before_any_merge(
    reg: Registry, tmp_path: Path
) -> None:
    from socialcredit.services.backfill import _Job, _run_local

    rows = tmp_path / "rows.jsonl"
    rows.write_text("")
    job = _Job(
        shard=0,
        url=f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'shard.db'}",
        registry=Registry,
        settings=reg.settings,
        pack=reg.pack,
        at=reg.now(),
        actor="test",
        files=[("rows.jsonl", "samr", "u", str(rows))],
        batch_size=10,
    )
    with pytest.raises(InvalidInput, match="shard 0 failed; nothing was merged"):
        _run_local([job], None)


def test_backfill_of_national_formats_names_the_source_s_columns(
    reg: Registry, env: dict[str, str], clock: FixedClock, tmp_path: Path
) -> None:
    """Files in national formats, backfilled: the same counts and the same rejects, by the
    source's own column names and row numbers, as the ordinary ingest of each."""
    from tests.integration.test_formats import PENALTIES, SPC

    got = backfill(
        reg,
        [BackfillFile(PENALTIES, "samr", "auto"), BackfillFile(SPC, "court", "auto")],
        actor="test",
        workers=2,
    )
    with _second(env, tmp_path, clock) as plain:
        want = [
            ingest_format(plain, PENALTIES, "samr", "auto", actor="test")[0],
            ingest_format(plain, SPC, "court", "auto", actor="test")[0],
        ]
        for g, w in zip(got.files, want, strict=True):
            counts = {k: v for k, v in w.as_dict().items() if k != "batches"}
            assert {k: v for k, v in g.as_dict().items() if k != "batches"} == counts
        assert any(
            r["field"] == "失信被执行人行为具体情形" for r in got.files[1].as_dict()["rejects"]
        )
        got_tables, want_tables = _tables(reg), _tables(plain)
        # (batches differ: each shard has its own)
        assert got_tables.pop("ingest_batches") != want_tables.pop("ingest_batches")
        assert got_tables == want_tables
