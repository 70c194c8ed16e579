"""Delivery of notices: e-mail over SMTP and a signed webhook, retried with backoff.

The notices table is the outbox: a notice is written in the same transaction as the event that
caused it, so it cannot be lost if the process dies before sending. The deliverer sends what is
due and then records the outcome as an event (proof of service, or the error and the next
attempt). If it dies between sending and recording, the next run sends again with the same
idempotency key (the e-mail's Message-ID, the webhook's Idempotency-Key header), so a receiver
can recognise the repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import and_, or_, select

from ..clock import iso, to_utc_naive
from ..db import contacts, deliveries, notices, principals
from ..errors import ConfigurationError, InvalidInput, UnknownEntity
from ..events import types as T
from ..events.types import NewEvent
from ..projections.notice_text import with_names
from .subjects import resolve_code

if TYPE_CHECKING:
    from ..bootstrap import Registry

#: Waits after the 1st, 2nd, ... failed attempt; after the last one delivery is given up.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
    timedelta(hours=24),
)


def set_contact(
    reg: Registry, subject: str, *, email: str | None, webhook_url: str | None, actor: str
) -> dict[str, Any]:
    """Where the subject's notices go from now on. Returns the webhook's signing secret once."""
    ref = resolve_code(reg, subject)
    secret = _set(reg, ref.subject_id, ref.subject_id, email, webhook_url, actor)
    return {
        "subject": ref.display,
        "email": email,
        "webhook_url": webhook_url,
        "webhook_secret": secret,
    }


def set_principal_contact(
    reg: Registry, principal_id: str, *, email: str | None, webhook_url: str | None, actor: str
) -> dict[str, Any]:
    """Where an account's notices go (an agency's, a lender's: the corrections of files it
    read). Returns the webhook's signing secret once."""
    with reg.engine.connect() as conn:
        known = conn.execute(
            select(principals.c.principal_id).where(principals.c.principal_id == principal_id)
        ).first()
    if known is None:
        raise UnknownEntity(f"no account {principal_id}")
    secret = _set(reg, f"principal:{principal_id}", None, email, webhook_url, actor)
    return {
        "principal_id": principal_id,
        "email": email,
        "webhook_url": webhook_url,
        "webhook_secret": secret,
    }


def set_source_contact(
    reg: Registry, source: str, *, email: str | None, webhook_url: str | None, actor: str
) -> dict[str, Any]:
    """Where a source's notices go (an objection to its records, with the deadline to answer).
    Returns the webhook's signing secret once."""
    if source not in reg.pack.sources:
        raise UnknownEntity(
            f"unknown source {source!r} (known: {', '.join(sorted(reg.pack.sources))})"
        )
    secret = _set(reg, f"source:{source}", None, email, webhook_url, actor)
    return {"source": source, "email": email, "webhook_url": webhook_url, "webhook_secret": secret}


def _set(
    reg: Registry,
    addressee: str,
    subject_id: str | None,
    email: str | None,
    webhook_url: str | None,
    actor: str,
) -> str | None:
    if email is not None and ("@" not in email or " " in email.strip()):
        raise InvalidInput(f"{email!r} is not an e-mail address")
    if webhook_url is not None and urlparse(webhook_url).scheme not in ("http", "https"):
        raise InvalidInput(f"{webhook_url!r} is not an http(s) URL")
    secret = None
    if webhook_url:
        import secrets

        secret = "whsec_" + secrets.token_urlsafe(24)
    with reg.uow(actor) as uow:
        uow.emit(
            NewEvent(
                T.CONTACT_SET,
                {
                    "subject_id": addressee,
                    "email": email,
                    "webhook_url": webhook_url,
                    "webhook_secret_cipher": reg.protector.encrypt(secret) if secret else None,
                },
                subject_id=subject_id,
            )
        )
        uow.commit()
    return secret


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook signature: HMAC-SHA256 over "<timestamp>.<body>" with the subject's secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass
class Channels:
    """How notices leave the registry. Tests point these at real local servers."""

    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "notices@socialcredit.invalid"
    timeout: float = 10.0
    http: Callable[[], httpx.Client] = field(default=lambda: httpx.Client(timeout=10.0))

    @classmethod
    def from_url(cls, smtp_url: str | None, mail_from: str | None = None) -> Channels:
        if not smtp_url:
            return cls(mail_from=mail_from or cls.mail_from)
        u = urlparse(smtp_url)
        if u.scheme != "smtp" or not u.hostname:
            raise ConfigurationError(
                f"SOCIALCREDIT_SMTP_URL must look like smtp://host:port, not {smtp_url!r}"
            )
        return cls(
            smtp_host=u.hostname, smtp_port=u.port or 25, mail_from=mail_from or cls.mail_from
        )


@dataclass
class DeliverySummary:
    delivered: int = 0
    failed: int = 0
    given_up: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"delivered": self.delivered, "failed": self.failed, "given_up": self.given_up}


def due(reg: Registry, limit: int = 500) -> list[dict[str, Any]]:
    """(notice, channel, target) to send now: never tried, or retrying and due. Notices issued
    before the subject gave its contact are not sent (they are in its file)."""
    now = to_utc_naive(reg.now())
    de, dw = deliveries.alias("de"), deliveries.alias("dw")

    def pending(d: Any, target: Any) -> Any:
        return and_(
            target.is_not(None),
            or_(d.c.status.is_(None), and_(d.c.status == "retrying", d.c.next_attempt_at <= now)),
        )

    q = (
        select(
            notices,
            contacts.c.email,
            contacts.c.webhook_url,
            contacts.c.webhook_secret_cipher,
            de.c.status.label("e_status"),
            de.c.attempts.label("e_attempts"),
            de.c.next_attempt_at.label("e_next"),
            dw.c.status.label("w_status"),
            dw.c.attempts.label("w_attempts"),
            dw.c.next_attempt_at.label("w_next"),
        )
        .join(
            contacts,
            and_(
                contacts.c.subject_id == notices.c.subject_id,
                notices.c.issued_at >= contacts.c.since,
            ),
        )
        .outerjoin(de, and_(de.c.notice_id == notices.c.notice_id, de.c.channel == "email"))
        .outerjoin(dw, and_(dw.c.notice_id == notices.c.notice_id, dw.c.channel == "webhook"))
        .where(notices.c.issued_at <= now)
        .where(or_(pending(de, contacts.c.email), pending(dw, contacts.c.webhook_url)))
        .order_by(notices.c.issued_at, notices.c.notice_id)
        .limit(limit)
    )
    with reg.engine.connect() as conn:
        rows = conn.execute(q).all()
    out: list[dict[str, Any]] = []
    for r in rows:
        for channel, target, status, attempts, nxt in (
            ("email", r.email, r.e_status, r.e_attempts, r.e_next),
            ("webhook", r.webhook_url, r.w_status, r.w_attempts, r.w_next),
        ):
            if not target or not (status is None or (status == "retrying" and nxt <= now)):
                continue
            out.append(
                {
                    "notice_id": r.notice_id,
                    "channel": channel,
                    "target": target,
                    "attempt": (attempts or 0) + 1,
                    "subject_id": r.subject_id,
                    "kind": r.kind,
                    "issued_at": r.issued_at,
                    "body": json.loads(r.body),
                    "secret_cipher": r.webhook_secret_cipher,
                }
            )
    return out


def _named(reg: Registry, body: dict[str, Any]) -> dict[str, Any]:
    """A notice's texts naming record types and lists as the pack does, in each language."""
    names = {rid: rt.name.root for rid, rt in reg.pack.record_types.items()}
    names |= {lid: ld.name.root for lid, ld in reg.pack.lists.items()}
    return with_names(body, names)


def _send_email(reg: Registry, ch: Channels, item: dict[str, Any]) -> None:
    if ch.smtp_host is None:
        raise ConfigurationError("no SMTP server configured (SOCIALCREDIT_SMTP_URL)")
    msg = EmailMessage()
    msg["From"] = ch.mail_from
    msg["To"] = item["target"]
    langs = reg.pack.meta.languages
    subject = {"zh": "信用信息登记通知", "en": "Registry notice"}
    msg["Subject"] = " / ".join(subject[x] for x in langs if x in subject) + f": {item['kind']}"
    msg["Message-ID"] = f"<{item['notice_id']}.email@socialcredit>"
    msg["Date"] = formatdate(localtime=False)
    msg["X-Notice-Id"] = item["notice_id"]
    body = _named(reg, item["body"])
    texts = [body[x] for x in langs if body.get(x)]  # the pack's languages, in its order
    msg.set_content(
        "".join(f"{t}\n\n" for t in texts)
        + f"Notice {item['notice_id']}, issued {iso(item['issued_at'], reg.tz)}.\n"
    )
    with smtplib.SMTP(ch.smtp_host, ch.smtp_port, timeout=ch.timeout) as smtp:
        smtp.send_message(msg)


def _send_webhook(reg: Registry, ch: Channels, item: dict[str, Any]) -> None:
    secret = reg.protector.decrypt(item["secret_cipher"]) if item["secret_cipher"] else ""
    payload = {
        "notice_id": item["notice_id"],
        "kind": item["kind"],
        "issued_at": iso(item["issued_at"], reg.tz),
        "body": _named(reg, item["body"]),
    }
    data = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": item["notice_id"],
        "X-Socialcredit-Timestamp": ts,
        "X-Socialcredit-Signature": sign(secret, ts, data),
    }
    with ch.http() as client:
        r = client.post(item["target"], content=data, headers=headers)
    if r.status_code >= 300:
        raise RuntimeError(f"HTTP {r.status_code} from the webhook")


SENDERS = {"email": _send_email, "webhook": _send_webhook}


def deliver_due(
    reg: Registry, channels: Channels, *, actor: str = "system:notices", limit: int = 500
) -> DeliverySummary:
    """Send every due notice once; record each outcome as its own event right after sending."""
    summary = DeliverySummary()
    for item in due(reg, limit):
        try:
            SENDERS[item["channel"]](reg, channels, item)
            ev = NewEvent(
                T.NOTICE_DELIVERED,
                {
                    "notice_id": item["notice_id"],
                    "channel": item["channel"],
                    "target": item["target"],
                    "attempt": item["attempt"],
                },
                subject_id=item["subject_id"],
            )
            summary.delivered += 1
        except (
            OSError,
            smtplib.SMTPException,
            httpx.HTTPError,
            RuntimeError,
            ConfigurationError,
        ) as exc:
            wait = BACKOFF[item["attempt"] - 1] if item["attempt"] <= len(BACKOFF) else None
            nxt = reg.now() + wait if wait else None
            ev = NewEvent(
                T.NOTICE_DELIVERY_FAILED,
                {
                    "notice_id": item["notice_id"],
                    "channel": item["channel"],
                    "target": item["target"],
                    "attempt": item["attempt"],
                    "error": f"{type(exc).__name__}: {exc}"[:500],
                    "next_attempt_at": to_utc_naive(nxt).isoformat() if nxt else None,
                },
                subject_id=item["subject_id"],
            )
            if wait:
                summary.failed += 1
            else:
                summary.given_up += 1
        with reg.uow(actor) as uow:
            uow.emit(ev)
            uow.commit()
    return summary
