"""Notices leave by real channels: an SMTP server (aiosmtpd) and an HTTP receiver on loopback.

On SQLite and PostgreSQL: delivery, the signature, retry with backoff, no loss when the process
dies between writing and sending, and the same idempotency key when it dies after sending.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock
from socialcredit.services import ingest, notices, subjects
from socialcredit.services.notices import Channels, deliver_due, sign
from tests.fixtures.rows import ORG, judgment, numbered


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_next = 0


@pytest.fixture
def webhook() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            rec.requests.append({"headers": dict(self.headers), "body": body})
            status = 500 if rec.fail_next > 0 else 204
            rec.fail_next -= 1
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec, f"http://127.0.0.1:{server.server_address[1]}/notices"
    server.shutdown()


def test_notices_arrive_by_email_and_signed_webhook(
    reg: Registry, clock: FixedClock, smtp: tuple[Mailbox, int], webhook: tuple[Receiver, str]
) -> None:
    box, port = smtp
    rec, url = webhook
    contact = notices.set_contact(reg, ORG, email="legal@example.com", webhook_url=url, actor="op")
    secret = contact["webhook_secret"]
    assert secret and secret.startswith("whsec_")
    clock.set(clock.now() + timedelta(minutes=1))
    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    ch = Channels(smtp_host="127.0.0.1", smtp_port=port)
    result = deliver_due(reg, ch)
    # a new record, a proposed listing and the listing decision: three notices, two channels each
    assert result.delivered == 6 and result.failed == 0
    assert sorted(m["X-Notice-Id"] for m in box.messages) == sorted(
        json.loads(r["body"])["notice_id"] for r in rec.requests
    )
    mail = next(m for m in box.messages if "listing-notified" in m["Subject"])
    assert mail["To"] == "legal@example.com"
    text = mail.get_payload(decode=True).decode()
    assert "失信被执行人名单" in text and "（2026）京0105执1234号之一" in text
    # every message names record types and lists as the pack does, never by their ids
    for m in box.messages:
        body = m.get_payload(decode=True).decode()
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", body), body
    filed = next(m for m in box.messages if "record-filed" in m["Subject"])
    assert "未履行生效法律文书" in filed.get_payload(decode=True).decode()
    for r in rec.requests:  # the texts (beside them, the ids stay for the receiving system)
        sent = json.loads(r["body"])["body"]
        for text in (sent["zh"], sent["en"]):
            assert "court_judgment" not in text and "dishonest_judgment_debtors" not in text
        assert " years" not in sent["zh"]
    # moments as a person reads them, not as ISO 8601
    notified = next(m for m in box.messages if "listing-notified" in m["Subject"])
    said = notified.get_payload(decode=True).decode()
    assert (
        "2026年3月" in said and "（UTC+08:00）" in said and "T09:" not in said.split("Notice N")[0]
    )
    for r in rec.requests:
        h = {k.lower(): v for k, v in r["headers"].items()}
        assert h["x-socialcredit-signature"] == sign(
            secret, h["x-socialcredit-timestamp"], r["body"]
        )
        assert h["idempotency-key"] == json.loads(r["body"])["notice_id"]
    # nothing is sent twice
    assert deliver_due(reg, ch).delivered == 0
    assert len(box.messages) == 3 and len(rec.requests) == 3


def test_failed_delivery_is_retried_with_backoff(
    reg: Registry, clock: FixedClock, webhook: tuple[Receiver, str]
) -> None:
    rec, url = webhook
    notices.set_contact(reg, ORG, email=None, webhook_url=url, actor="op")
    clock.set(clock.now() + timedelta(minutes=1))
    ingest.ingest(reg, numbered([judgment(conduct=None, listing_ref=None)]), "court", actor="court")
    rec.fail_next = 2
    ch = Channels()
    assert deliver_due(reg, ch).failed == 1
    assert deliver_due(reg, ch).delivered == 0  # not due yet: the first wait is a minute
    clock.set(clock.now() + timedelta(minutes=1))
    assert deliver_due(reg, ch).failed == 1  # second failure, next wait five minutes
    clock.set(clock.now() + timedelta(minutes=4))
    assert deliver_due(reg, ch).delivered == 0
    clock.set(clock.now() + timedelta(minutes=1))
    assert deliver_due(reg, ch).delivered == 1
    assert len(rec.requests) == 3
    keys = {r["headers"]["Idempotency-Key"] for r in rec.requests}
    assert len(keys) == 1  # the same notice each time


def test_no_smtp_server_is_a_failure_that_waits_not_a_loss(
    reg: Registry, clock: FixedClock
) -> None:
    notices.set_contact(reg, ORG, email="legal@example.com", webhook_url=None, actor="op")
    clock.set(clock.now() + timedelta(minutes=1))
    ingest.ingest(reg, numbered([judgment(conduct=None, listing_ref=None)]), "court", actor="court")
    dead = Channels(smtp_host="127.0.0.1", smtp_port=free_port(), timeout=2)
    assert deliver_due(reg, dead).failed == 1
    assert notices.due(reg) == []  # waiting for its next attempt, still on file
    file = subjects.subject_file(reg, ORG)
    assert file["notices"][0]["kind"] == "record-filed"


def test_a_crash_after_sending_resends_with_the_same_key(
    reg: Registry, clock: FixedClock, webhook: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rec, url = webhook
    notices.set_contact(reg, ORG, email=None, webhook_url=url, actor="op")
    clock.set(clock.now() + timedelta(minutes=1))
    ingest.ingest(reg, numbered([judgment(conduct=None, listing_ref=None)]), "court", actor="court")

    class Died(Exception):
        pass

    original = reg.uow

    def dying_uow(actor: str) -> Any:
        raise Died("the process died after sending, before recording")

    monkeypatch.setattr(reg, "uow", dying_uow)
    with pytest.raises(Died):
        deliver_due(reg, Channels())
    monkeypatch.setattr(reg, "uow", original)
    assert deliver_due(reg, Channels()).delivered == 1
    assert len(rec.requests) == 2
    assert (
        rec.requests[0]["headers"]["Idempotency-Key"]
        == rec.requests[1]["headers"]["Idempotency-Key"]
    )
    assert deliver_due(reg, Channels()).delivered == 0


def test_a_correction_reaches_everyone_who_read_the_file(
    reg: Registry, clock: FixedClock, smtp: tuple[Mailbox, int], webhook: tuple[Receiver, str]
) -> None:
    """An agency checked the organisation and a lender read its report; the listing is then
    corrected on objection. Each gets a correction notice at its own contact (a real SMTP
    server, a real webhook receiver); the subject sees who was told; a credit report issued
    before the correction is marked superseded when verified."""
    from socialcredit.clock import parse_moment
    from socialcredit.services import checks, consents, lending, objections, reports
    from socialcredit.services.access import authenticate, create_principal

    box, port = smtp
    rec, url = webhook
    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    caac = create_principal(reg, "agency", "CAAC", actor="op", measures=["restrict_air_travel"])
    bank = create_principal(reg, "lender", "Example Bank", actor="op")
    other = create_principal(reg, "agency", "Rail", actor="op", measures=["restrict_air_travel"])
    notices.set_principal_contact(
        reg, caac["principal_id"], email="checks@caac.example", webhook_url=None, actor="op"
    )
    notices.set_principal_contact(
        reg, bank["principal_id"], email=None, webhook_url=url, actor="op"
    )
    # the court is told of each objection to its records, at its own address
    notices.set_source_contact(reg, "court", email="objections@court.example", webhook_url=None,
                               actor="op")  # fmt: skip
    clock.set(parse_moment("2026-03-02T09:00"))
    answer = checks.answer(reg, ORG, "restrict_air_travel", reader="agency:CAAC")
    assert answer["restricted"]
    me = create_principal(reg, "subject", "the company", actor="op", subject=ORG)
    consents.grant(
        reg,
        authenticate(reg, me["token"]),
        ORG,
        lender=bank["principal_id"],
        purpose="loan_application",
    )
    lending.lender_report(reg, authenticate(reg, bank["token"]), ORG)
    report = reports.credit_report(reg, ORG)
    if reg._check_index is not None:
        reg._check_index.read_log.flush()

    clock.set(parse_moment("2026-03-03T09:00"))
    listing = subjects.subject_file(reg, ORG)["listings"][0]
    o = objections.file_objection(reg, ORG, listing_id=listing["id"], grounds="paid", actor="s")
    clock.set(parse_moment("2026-03-04T09:00"))
    objections.decide_objection(reg, o["id"], outcome="corrected", reason="paid", actor="court")

    (fix,) = subjects.subject_file(reg, ORG)["corrections"]
    assert fix["what"] == "listing_ended" and fix["entry"] == listing["id"]
    assert sorted(fix["told"]) == ["agency:CAAC", "lender:Example Bank"]  # not Rail
    assert other["principal_id"]

    box.messages.clear()
    rec.requests.clear()
    deliver_due(reg, Channels(smtp_host="127.0.0.1", smtp_port=port))
    told = [m for m in box.messages if m["To"] == "objections@court.example"]
    assert len(told) == 1 and "objection-filed" in told[0]["Subject"]
    assert o["id"] in told[0].get_payload(decode=True).decode()
    mails = [m for m in box.messages if m["To"] == "checks@caac.example"]
    assert len(mails) == 1 and "correction" in mails[0]["Subject"]
    assert ORG in mails[0].get_payload(decode=True).decode()
    hooks = [json.loads(r["body"]) for r in rec.requests]
    assert [h["kind"] for h in hooks] == ["correction"]
    assert listing["id"] in json.dumps(hooks[0], ensure_ascii=False)

    verified = reports.verify(reg, report["verification_code"])
    assert verified["superseded"] and verified["superseded"]["what"] == "listing_ended"
    fresh = reports.credit_report(reg, ORG)
    assert reports.verify(reg, fresh["verification_code"])["superseded"] is None


def test_an_account_s_label_names_it_alone(reg: Registry) -> None:
    """Reads name their reader by its label (role:name): a second account in use with the same
    role and name is refused, so a correction reaches the one account that read."""
    from socialcredit.errors import InvalidInput
    from socialcredit.services.access import create_principal, revoke_principal

    first = create_principal(reg, "agency", "CAAC", actor="op", measures=["restrict_air_travel"])
    with pytest.raises(InvalidInput, match="agency:CAAC exists"):
        create_principal(reg, "agency", "CAAC", actor="op", measures=["restrict_air_travel"])
    create_principal(reg, "lender", "CAAC", actor="op")  # another role: another label
    revoke_principal(reg, first["principal_id"], actor="op")
    create_principal(reg, "agency", "CAAC", actor="op", measures=["restrict_air_travel"])
