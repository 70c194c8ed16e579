"""Point-of-service checks: "is subject X restricted from measure M at moment T?"

Answers come from an in-memory index compiled from the listings projection: per subject, the
listings that have been notified, with the interval in which each is active. Because activation
and expiry follow from those timestamps, one index answers for any moment, past or future, with
no sweep needed. The index reloads when the log's head moves (checked at most once per
``max_staleness`` seconds, and at once after a write in this process).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..clock import iso, to_utc_naive
from ..db import listings, objections
from ..errors import InvalidIdentifier, InvalidInput, UnknownEntity
from ..events.store import head_seq
from ..policy.model import Measure
from .reads import CheckLog
from .subjects import SubjectRef, resolve_code

if TYPE_CHECKING:
    from ..bootstrap import Registry


@dataclass(frozen=True, slots=True)
class Entry:
    listing_id: str
    list_id: str
    decision_ref: str | None
    notified_at: datetime  # naive UTC, as stored
    activates_at: datetime
    until: datetime
    ended_at: datetime | None
    end_reason: str | None
    suspensions: tuple[tuple[datetime, datetime | None], ...] = ()

    def suspended(self, t: datetime) -> bool:
        return any(s <= t and (e is None or t < e) for s, e in self.suspensions)

    @property
    def end(self) -> datetime:
        return min(self.until, self.ended_at) if self.ended_at else self.until


class CheckIndex:
    def __init__(self, reg: Registry, max_staleness: float = 1.0) -> None:
        self.reg = reg
        self.max_staleness = max_staleness
        self.by_subject: dict[str, tuple[Entry, ...]] = {}
        self.version = -1
        self._checked = 0.0
        self._lock = threading.Lock()
        self._measures: dict[str, tuple[Measure, frozenset[str], dict[str, Any]]] = {}
        self._list_info: dict[str, dict[str, Any]] = {}
        pack = reg.pack
        for lid, ld in pack.lists.items():
            self._list_info[lid] = {
                "list_name": ld.name.model_dump(),
                "kind": ld.kind,
                "legal_basis": pack.cite(ld.legal_basis),
                "how_to_resolve": ld.how_to_resolve.model_dump(),
            }
        for mid, m in pack.measures.items():
            self._measures[mid] = (
                m,
                frozenset(m.lists),
                {
                    "measure_name": m.name.model_dump(),
                    "kind": m.kind,
                    "implementing_agency": m.implementing_agency,
                    "measure_legal_basis": pack.cite(m.legal_basis),
                },
            )
        reg.on_commit(lambda _events: self.invalidate())
        self.read_log = CheckLog(reg)

    def invalidate(self) -> None:
        self._checked = 0.0

    def ensure_fresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.max_staleness:
            return
        with self._lock:
            if time.monotonic() - self._checked < self.max_staleness:
                return
            with self.reg.engine.connect() as conn:
                v = head_seq(conn)
                if v != self.version:
                    self._load(conn, v)
            self._checked = time.monotonic()

    def _load(self, conn: Any, version: int) -> None:
        susp: dict[str, list[tuple[datetime, datetime | None]]] = {}
        for o in conn.execute(
            select(objections.c.listing_id, objections.c.filed_at, objections.c.decided_at).where(
                objections.c.suspends.is_(True) & objections.c.listing_id.is_not(None)
            )
        ):
            susp.setdefault(o.listing_id, []).append((o.filed_at, o.decided_at))
        by: dict[str, list[Entry]] = {}
        q = select(
            listings.c.subject_id,
            listings.c.listing_id,
            listings.c.list_id,
            listings.c.decision_ref,
            listings.c.notified_at,
            listings.c.activates_at,
            listings.c.until,
            listings.c.ended_at,
            listings.c.end_reason,
        ).where(listings.c.notified_at.is_not(None))
        for r in conn.execute(q):
            by.setdefault(r.subject_id, []).append(
                Entry(
                    r.listing_id,
                    r.list_id,
                    r.decision_ref,
                    r.notified_at,
                    r.activates_at,
                    r.until,
                    r.ended_at,
                    r.end_reason,
                    tuple(susp.get(r.listing_id, ())),
                )
            )
        self.by_subject = {k: tuple(v) for k, v in by.items()}
        self.version = version

    def measure(self, measure_id: str) -> tuple[Measure, frozenset[str], dict[str, Any]]:
        try:
            return self._measures[measure_id]
        except KeyError:
            known = ", ".join(sorted(self._measures))
            raise UnknownEntity(f"unknown measure {measure_id!r} (known: {known})") from None

    def answer(self, ref: SubjectRef, measure_id: str, at: datetime) -> dict[str, Any]:
        m, lists, info = self.measure(measure_id)
        t = to_utc_naive(at)
        hits: list[Entry] = []
        suspended: list[Entry] = []
        upcoming: list[Entry] = []
        for e in self.by_subject.get(ref.subject_id, ()):
            if e.list_id not in lists:
                continue
            if e.activates_at <= t < e.end:
                (suspended if e.suspensions and e.suspended(t) else hits).append(e)
            elif e.notified_at <= t < e.activates_at and (e.ended_at is None or t < e.ended_at):
                upcoming.append(e)
        tz = self.reg.tz
        applies = bool(hits)
        sanction = m.kind == "sanction"
        out: dict[str, Any] = {
            "subject": ref.display,
            "measure": measure_id,
            **info,
            "as_of": iso(at, tz),
            "restricted": applies and sanction,
            "applies": applies,
            "outcome": ("restricted" if sanction else "eligible")
            if applies
            else ("allowed" if sanction else "not_eligible"),
            "listings": [self._listing(e, tz) for e in hits],
            "how_to_resolve": (
                self._list_info[hits[0].list_id]["how_to_resolve"] if hits and sanction else None
            ),
        }
        if suspended:
            out["suspended"] = [self._listing(e, tz) for e in suspended]
            out["note"] = (
                "a listing that would apply is suspended while the subject's objection is open "
                "(the list's policy suspends listings under objection)"
            )
        if upcoming:
            out["notified_not_yet_active"] = [
                {
                    "list": e.list_id,
                    "decision_ref": e.decision_ref,
                    "activates_at": iso(e.activates_at, tz),
                }
                for e in upcoming
            ]
        return out

    def _listing(self, e: Entry, tz: Any) -> dict[str, Any]:
        li = self._list_info[e.list_id]
        return {
            "listing_id": e.listing_id,
            "list": e.list_id,
            "list_name": li["list_name"],
            "decision_ref": e.decision_ref,
            "legal_basis": li["legal_basis"],
            "since": iso(e.activates_at, tz),
            "until": iso(e.until, tz),
        }


def index(reg: Registry) -> CheckIndex:
    idx = getattr(reg, "_check_index", None)
    if idx is None:
        idx = CheckIndex(reg)
        reg._check_index = idx
    return idx


def answer(
    reg: Registry,
    subject: str,
    measure: str,
    at: datetime | None = None,
    reader: str | None = None,
) -> dict[str, Any]:
    """One check. Raises InvalidIdentifier (422) or UnknownEntity (404) on bad input.

    With a ``reader``, the check is recorded for the subject's self-view ("who looked")."""
    idx = index(reg)
    idx.measure(measure)
    ref = resolve_code(reg, subject)
    idx.ensure_fresh()
    result = idx.answer(ref, measure, at or reg.now())
    if reader is not None:
        idx.read_log.add(
            ref.subject_id,
            reader,
            reg.now(),
            {"measure": measure, "outcome": result["outcome"], "as_of": result["as_of"]},
        )
    return result


def answer_many(
    reg: Registry,
    subjects: list[str],
    measure: str,
    at: datetime | None = None,
    reader: str | None = None,
) -> dict[str, Any]:
    """A batch for one measure; every malformed code is named, and then nothing is answered."""
    idx = index(reg)
    idx.measure(measure)
    refs: list[SubjectRef] = []
    bad: list[dict[str, Any]] = []
    for i, s in enumerate(subjects):
        try:
            refs.append(resolve_code(reg, s))
        except InvalidIdentifier as exc:
            bad.append({"index": i, "reason": exc.reason})
    if bad:
        raise InvalidInput(
            f"{len(bad)} of {len(subjects)} subject codes are malformed", detail={"invalid": bad}
        )
    idx.ensure_fresh()
    moment = at or reg.now()
    results = [idx.answer(ref, measure, moment) for ref in refs]
    if reader is not None:
        now = reg.now()
        for ref, res in zip(refs, results, strict=True):
            idx.read_log.add(
                ref.subject_id,
                reader,
                now,
                {
                    "measure": measure,
                    "outcome": res["outcome"],
                    "as_of": res["as_of"],
                    "batch": True,
                },
            )
    return {"measure": measure, "as_of": iso(moment, reg.tz), "results": results}
