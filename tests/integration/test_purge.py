"""A natural person's data is purged after its retention; the chain still verifies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.events.chain import canonical
from socialcredit.services import (
    audit,
    ingest,
    notices,
    objections,
    purge,
    statements,
    subjects,
)
from tests.fixtures.rows import ORG, PERSON, judgment, numbered


def everything(reg: Registry) -> str:
    with reg.engine.connect() as conn:
        names = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                    if reg.engine.dialect.name == "postgresql"
                    else "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            )
        ]
        return " ".join(str(row) for n in names for row in conn.execute(text(f"SELECT * FROM {n}")))


def test_purge_after_retention_keeps_the_chain_verifiable(reg: Registry, clock: FixedClock) -> None:
    notices.set_contact(reg, PERSON, email="zhang.san@example.com", webhook_url=None, actor="op")
    clock.set(parse_moment("2026-02-01T10:00"))
    person_row = judgment("BJ-7", PERSON, conduct="evades_enforcement", listing_term_years="2")
    ingest.ingest(reg, numbered([person_row, judgment()]), "court", actor="court")
    clock.set(parse_moment("2026-03-05"))
    file = subjects.subject_file(reg, PERSON)
    o = objections.file_objection(
        reg,
        PERSON,
        listing_id=file["listings"][0]["id"],
        grounds="张三 has paid",
        actor="subject",
        files=[("letter.txt", "张三 的说明".encode())],
    )
    objections.decide_objection(reg, o["id"], outcome="rejected", reason="not yet", actor="court")
    # the person's own statement beside the listing: its words are personal data too
    statements.file_statement(
        reg,
        PERSON,
        listing_id=file["listings"][0]["id"],
        text="张三 将于六月一次付清",
        actor="subject",
    )
    clock.set(parse_moment("2026-06-01"))
    ingest.ingest(
        reg,
        numbered([{**person_row, "status": "performed", "performed_on": "2026-05-30"}]),
        "court",
        actor="court",
    )
    assert "张三" in everything(reg) and "zhang.san@example.com" in everything(reg)
    assert "一次付清" in everything(reg)

    # publicity 5 years from the decision (2031-01-15), then retention 5 years (2036-01-15)
    clock.set(parse_moment("2036-01-14"))
    assert purge.due(reg) == []
    clock.set(parse_moment("2036-01-16"))
    due = purge.due(reg)
    assert len(due) == 1  # the person; the organisation's data is not personal and stays
    result = purge.purge(reg, actor="system:purge")
    assert result.subjects == 1 and result.events_redacted >= 5

    dump = everything(reg)
    assert "张三" not in dump and "zhang.san@example.com" not in dump
    assert "一次付清" not in dump  # the statement, in the log and its projection
    with reg.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM blobs")).scalar() == 0
    assert audit.verify_chain(reg).ok
    before = audit.fingerprint(reg)
    audit.rebuild(reg)
    assert audit.fingerprint(reg) == before
    file = subjects.subject_file(reg, PERSON)
    assert file["name"] == "(purged)" and file["records"][0]["record_type"] == "court_judgment"
    assert [e["type"] for e in audit.export_subject(reg, PERSON)][-1] == "personal-data-purged"
    assert all(e["hash_verified"] for e in audit.export_subject(reg, PERSON))
    # a purged fact keeps its leaf digest: its proof to its batch's root still holds
    redacted = [
        e for e in audit.export_subject(reg, PERSON) if "fact" in e and "_redacted" in e["payload"]
    ]
    assert redacted and all(audit.prove(reg, e["seq"])["hash_verified"] for e in redacted)
    assert purge.due(reg) == []  # once only
    assert subjects.subject_file(reg, ORG)["name"]  # the organisation is untouched


def _without_guard(conn: Any) -> None:
    """What someone with write access to the database can do: remove the log's guard."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER IF EXISTS events_no_update"))
    else:
        conn.execute(text("DROP TRIGGER IF EXISTS events_append_only_row ON events"))


def test_redaction_without_a_purge_event_is_found(reg: Registry) -> None:
    """A hand-made rewrite that looks like a redaction (it keeps "_redacted") was accepted by
    the guard; now the guard refuses it, and verify names it when the guard was removed."""
    import pytest

    ingest.ingest(reg, numbered([judgment("BJ-7", PERSON)]), "court", actor="court")
    assert audit.verify_chain(reg).ok
    forged = canonical({"_redacted": ["name"], "name": "(purged)"})
    with reg.engine.connect() as conn:
        seq = conn.execute(
            text("SELECT seq FROM events WHERE type = 'subject-registered'")
        ).scalar_one()
    with pytest.raises(Exception, match="append-only"), reg.engine.begin() as conn:
        conn.execute(text("UPDATE events SET payload = :p WHERE seq = :s"), {"p": forged, "s": seq})
    with reg.engine.begin() as conn:
        _without_guard(conn)
        conn.execute(text("UPDATE events SET payload = :p WHERE seq = :s"), {"p": forged, "s": seq})
    report = audit.verify_chain(reg)
    assert not report.ok and report.first_bad_seq == seq
    assert "without a purge event" in (report.problem or "")


def test_a_purged_event_rewritten_again_is_found(reg: Registry) -> None:
    """After a purge, a purged record's authority and date were changed (the payload kept
    "_redacted") and verify passed; the purge event now names what each payload became."""
    import pytest

    ingest.ingest(reg, numbered([judgment("BJ-7", PERSON)]), "court", actor="court")
    sid = reg.protector.subject_key(PERSON)
    purge.purge(reg, actor="system:purge", subject_ids=[sid])
    assert audit.verify_chain(reg).ok
    with reg.engine.connect() as conn:
        seq, payload = conn.execute(
            text(
                "SELECT seq, payload FROM events WHERE type = 'record-accepted' "
                "AND payload LIKE '%_redacted%'"
            )
        ).one()
    rewritten = payload.replace("北京市朝阳区人民法院", "某某法院")
    assert rewritten != payload
    with pytest.raises(Exception, match="append-only"), reg.engine.begin() as conn:
        conn.execute(
            text("UPDATE events SET payload = :p WHERE seq = :s"), {"p": rewritten, "s": seq}
        )
    with reg.engine.begin() as conn:
        _without_guard(conn)
        conn.execute(
            text("UPDATE events SET payload = :p WHERE seq = :s"), {"p": rewritten, "s": seq}
        )
    report = audit.verify_chain(reg)
    assert not report.ok and report.first_bad_seq == seq
    assert "rewritten after its redaction" in (report.problem or "")
    # the sampled check finds it too when it draws the fact (here: every fact is drawn)
    sampled = audit.verify_chain(reg, sample=10**6)
    assert not sampled.ok and sampled.first_bad_seq == seq


def test_any_other_update_of_the_log_is_refused(reg: Registry) -> None:
    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    import pytest

    for stmt in (
        "UPDATE events SET payload = '{}' WHERE seq = 1",
        "UPDATE events SET hash = 'x', payload = '{\"_redacted\":[]}' WHERE seq = 1",
        "DELETE FROM events WHERE seq = 1",
    ):
        with pytest.raises(Exception, match="append-only"), reg.engine.begin() as conn:
            conn.execute(text(stmt))


def test_after_purge_no_file_of_the_store_holds_the_name_or_the_number(
    reg: Registry, clock: FixedClock, db_url: str, tmp_path: Any
) -> None:
    """The SQLite -wal still held a purged person's name and objection text, free pages kept
    names, the person's account still signed in, and purging one subject deleted an attachment
    another subject's open objection used. ``strings`` over the file, its WAL and the data
    directory must find neither the name nor any part of the number."""
    import pytest

    from socialcredit.errors import NotAuthenticated
    from socialcredit.services.access import create_principal, sign_in

    if not db_url.startswith("sqlite"):
        pytest.skip("the files of an SQLite store (PostgreSQL's are the server's)")
    name = "欧阳娜娜"
    person_row = judgment(
        "BJ-7", PERSON, conduct="evades_enforcement", listing_term_years="2", subject_name=name
    )
    ingest.ingest(reg, numbered([person_row, judgment()]), "court", actor="court")
    create_principal(
        reg,
        "subject",
        name,
        actor="op",
        subject=PERSON,
        username="ouyang",
        password="pearl lantern orbit",
    )
    # a row sent without a code, queued with the name, and linked to the person by a reviewer
    from socialcredit.services import review

    codeless = judgment("BJ-8", "", conduct=None, listing_ref=None, subject_name=name)
    queued = ingest.ingest(reg, numbered([codeless]), "court", actor="court")
    (item,) = queued.queued_items
    review.resolve_item(reg, item, PERSON, actor="reviewer:test")
    clock.set(parse_moment("2026-03-05"))
    letter = [
        ("letter.txt", "欧阳娜娜 的说明".encode()),
        ("receipt.txt", b"bank receipt 2026-03-01"),
    ]
    file = subjects.subject_file(reg, PERSON)
    o = objections.file_objection(
        reg,
        PERSON,
        listing_id=file["listings"][0]["id"],
        grounds=f"{name} has paid",
        actor="subject",
        files=letter,
    )
    objections.decide_objection(reg, o["id"], outcome="rejected", reason="not yet", actor="court")
    # the organisation attaches the very same file to its own objection (one blob, two uses)
    org_listing = subjects.subject_file(reg, ORG)["listings"][0]["id"]
    org_objection = objections.file_objection(
        reg,
        ORG,
        listing_id=org_listing,
        grounds="see the receipt",
        actor="subject",
        files=letter[1:],
    )
    clock.set(parse_moment("2036-01-16"))
    assert (
        purge.purge(
            reg, actor="system:purge", subject_ids=[reg.protector.subject_key(PERSON)]
        ).subjects
        == 1
    )

    with pytest.raises(NotAuthenticated):
        sign_in(reg, "ouyang", "pearl lantern orbit")  # the account is disabled
    # the organisation's objection keeps its attachment
    with reg.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM blobs")).scalar() == 1
    assert org_objection["id"]

    db_file = Path(db_url.removeprefix("sqlite:///"))
    found = []
    for path in [*db_file.parent.rglob("*")]:
        if not path.is_file():
            continue
        data = path.read_bytes()
        for what in (name, PERSON, PERSON[:14], "欧阳娜"):
            if what.encode("utf-8") in data:
                found.append(f"{path.name}: {what}")
    assert not found, found
