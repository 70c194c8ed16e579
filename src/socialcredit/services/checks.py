"""Point-of-service checks: "is subject X restricted from measure M at moment T?"

Two paths give one answer. The check file (``projections/check_file.py``), compiled from the
listings and memory-mapped, tells for any moment whether some listing of the measure's lists
was notified and has not ended: when not, the answer is a plain "allowed" (or "not eligible")
and nothing else is read. The few checks it cannot settle, and every check on a subject that
an event has touched since the file was compiled (the *overlay*), take the exact path: the
subject's listings and their suspensions, read from the store, give the explained answer.

Freshness: at most once per ``max_staleness`` seconds (a quarter of a second; at once after a
write in this process) the log's head is read; the subjects of newer events join the overlay,
so a listing is visible to checks within that time of its events being committed. When the overlay grows past
``recompile_at`` subjects the file is compiled again, by one process at a time (a lock file
beside it); every other process maps the new file when it appears.

The exact path keeps what it read: each subject's listings stay cached until an event about the
subject is seen (the same look at the log's head that feeds the overlay evicts them; a merge,
or another log, empties the cache), so a listed subject checked again is answered without
reading the store. The answer itself is built for each check, as it depends on the moment.

Merged subjects (``services/dedupe.py``): a code merged into another is answered for its
survivor, which holds the listings now, and the answer names the survivor (``merged_into``).
The file carries the survivor's intervals under the merged code's key too, the exact path reads
the survivor's listings, and a merged code joins the overlay whenever its survivor does.
"""

from __future__ import annotations

import fcntl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, select

from ..clock import iso, to_utc_naive
from ..db import events, listings, objections
from ..db import subjects as subjects_table
from ..errors import InvalidIdentifier, InvalidInput, UnknownEntity
from ..events import types as T
from ..events.store import head_seq
from ..identifiers.uscc import valid_many
from ..policy.model import Measure
from ..projections.check_file import CheckFile, compile_file, seconds, subject_key, subject_keys
from .dedupe import merged_subjects
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
    #: every objection to the listing: (filed_at, decided_at, deadline, objection_id)
    objections: tuple[tuple[datetime, datetime | None, datetime, str], ...] = ()

    def suspended(self, t: datetime) -> bool:
        return any(s <= t and (e is None or t < e) for s, e in self.suspensions)

    def dispute(self, t: datetime) -> tuple[datetime, datetime | None, datetime, str] | None:
        """The subject's objection open at ``t``, if any: the listing is in dispute."""
        return next((o for o in self.objections if o[0] <= t and (o[1] is None or t < o[1])), None)

    @property
    def end(self) -> datetime:
        return min(self.until, self.ended_at) if self.ended_at else self.until


class CheckIndex:
    def __init__(
        self, reg: Registry, max_staleness: float = 0.25, recompile_at: int = 5000
    ) -> None:
        self.reg = reg
        self.max_staleness = max_staleness
        self.recompile_at = recompile_at
        self.version = -1  # the log head that the file and the overlay together cover
        self.file: CheckFile | None = None
        self.overlay: frozenset[str] = frozenset()
        self._file_version = -1  # the version of the file the overlay was computed against
        self.overlay_keys = np.zeros(0, np.uint64)
        self.merged: dict[str, str] = {}  # merged subject -> its survivor, as of ``version``
        self._origin: str | None = None  # the log ``merged`` was read from
        self.compiled = 0  # how many times this process compiled the file
        configured = reg.settings.check_file
        if configured is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="socialcredit-checks-")
            configured = Path(self._tmp.name) / "checks.bin"
        self.path = configured
        self._checked = 0.0
        self._lock = threading.Lock()
        self._lock_cache = threading.Lock()
        self._measures: dict[str, tuple[Measure, frozenset[str], dict[str, Any]]] = {}
        self._list_info: dict[str, dict[str, Any]] = {}
        self._rules_by_day: dict[date, dict[str, str]] = {}
        #: the exact path's reads, by subject (a merged code's under its survivor), valid for
        #: the log up to ``version``; ``_generation`` changes whenever entries are evicted, so
        #: a read that overlapped an eviction is not kept
        self._entries_cache: dict[str, tuple[Entry, ...]] = {}
        self._generation = 0
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
                    self._catch_up(conn, v)
            self._checked = time.monotonic()

    def _catch_up(self, conn: Connection, head: int) -> None:
        origin = _origin(conn)
        # the same log, moved forward: only the events since the last look are read (the
        # log grows with every batch of reads, and a look comes four times a second)
        continuing = origin == self._origin and 0 <= self.version <= head
        merged = self.merged
        if not continuing or _merged_since(conn, self.version):
            merged = merged_subjects(conn)  # another log, or a merge since the last look
        new = _touched_since(conn, self.version) if continuing else None
        if new is None or merged != self.merged:
            self._forget()
        else:  # always, so that a read which overlapped these events is not kept either
            self._forget(new)
        self._origin = origin
        f = self._mapped(origin, head)
        if f is None:
            f = self._compile(origin)
        if new is not None and f.version == self._file_version:
            touched = set(self.overlay) | new  # the same file: the newer events join
        else:
            touched = _touched_since(conn, f.version)
        if len(touched) > self.recompile_at:
            f = self._compile(origin)
            touched = _touched_since(conn, f.version)
        touched |= {m for m, s in merged.items() if s in touched}
        self.merged = merged
        self.file = f
        self._file_version = f.version
        self.overlay = frozenset(touched)
        self.overlay_keys = np.sort(subject_keys(sorted(touched)))
        self.version = head

    def _mapped(self, origin: str, head: int) -> CheckFile | None:
        """The file as it is on disk, if it belongs to this log and is not ahead of it."""
        f = self.file
        try:
            if f is None:
                f = CheckFile(self.path)
            else:
                f.refresh()
        except (OSError, ValueError):
            return None
        if f.version > head or (f.origin != origin and f.version > 0):
            return None  # another log's file (one compiled from an empty log holds nothing)
        return f

    def _compile(self, origin: str) -> CheckFile:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one compiler at a time; the others wait, then map
            with self.reg.engine.connect() as conn:
                head = head_seq(conn)
                current = self._mapped(origin, head)
                fresh = current is not None and len(_touched_since(conn, current.version)) == 0
                if not fresh:
                    aliases: dict[str, list[str]] = {}
                    for m, survivor in merged_subjects(conn).items():
                        aliases.setdefault(survivor, []).append(m)
                    compile_file(conn, self.reg.pack, self.path, head, origin, aliases)
                    self.compiled += 1
        if self.file is not None:
            self.file.refresh()
            return self.file
        return CheckFile(self.path)

    def compile(self) -> dict[str, Any]:
        """Compile the file now (``socialcredit checks compile``); returns its header."""
        with self._lock, self.reg.engine.connect() as conn:
            self._compile(_origin(conn))
            self.version = -1
        self._checked = 0.0
        self.ensure_fresh()
        assert self.file is not None
        return self.file.header

    def concerned(self, subject_id: str, measure_id: str, at: datetime) -> bool:
        """False when no listing can concern this check: the answer is a plain one."""
        if subject_id in self.overlay or self.file is None:
            return True
        return self.file.hit(subject_key(subject_id), measure_id, seconds(at))

    def concerned_many(self, keys: np.ndarray, measure_id: str, at: datetime) -> np.ndarray:
        if self.file is None:
            return np.ones(len(keys), dtype=bool)
        out = self.file.hits(keys, measure_id, at)
        if len(self.overlay_keys):
            out |= _member(self.overlay_keys, keys)
        return out

    def known(self, ref: SubjectRef) -> bool:
        """Is the subject in the register? Always true of a natural person (the answer must
        not tell an agency whether a person is registered); an organisation is looked up in the
        check file, or in the store when it was touched after the file was compiled."""
        if ref.kind != "organisation":
            return True
        if ref.subject_id not in self.overlay and self.file is not None:
            return self.file.registered(subject_key(ref.subject_id))
        return bool(self._registered([ref.subject_id]))

    def known_many(
        self, orgs: np.ndarray, keys: np.ndarray, id_of: Callable[[int], str]
    ) -> np.ndarray:
        """``known`` for many subjects: ``orgs`` marks the organisations, ``keys`` are the
        subjects' keys, ``id_of(i)`` the id of subject ``i`` (read only for the few that the
        check file cannot settle)."""
        out = np.ones(len(keys), dtype=bool)
        if not orgs.any():
            return out
        if self.file is not None:
            out[orgs] = self.file.registered_many(keys[orgs])
            exact = orgs & _member(self.overlay_keys, keys) if len(self.overlay_keys) else None
        else:
            exact = orgs
        if exact is not None and exact.any():
            where = np.flatnonzero(exact).tolist()
            have = self._registered([id_of(i) for i in where])
            for i in where:
                out[i] = id_of(i) in have
        return out

    def _registered(self, subject_ids: list[str]) -> set[str]:
        have: set[str] = set()
        with self.reg.engine.connect() as conn:
            for i in range(0, len(subject_ids), 500):
                have.update(
                    conn.execute(
                        select(subjects_table.c.subject_id).where(
                            subjects_table.c.subject_id.in_(subject_ids[i : i + 500])
                        )
                    ).scalars()
                )
        return have

    #: the cache is emptied when it holds more subjects than this
    CACHE_MAX = 200_000

    def _forget(self, subject_ids: set[str] | None = None) -> None:
        """Evict the cached listings of these subjects (of all, for None)."""
        with self._lock_cache:
            self._generation += 1
            if subject_ids is None:
                self._entries_cache = {}
            else:
                for s in subject_ids:
                    self._entries_cache.pop(s, None)

    def cached(self, subject_id: str) -> tuple[Entry, ...] | None:
        """The subject's listings if the exact path has them already (None: it must read)."""
        return self._entries_cache.get(self.merged.get(subject_id, subject_id))

    def entries(self, subject_ids: list[str]) -> dict[str, tuple[Entry, ...]]:
        """The exact path: the subjects' notified listings with their suspensions (a merged
        subject's are its survivor's), from the cache or else the store."""
        merged = self.merged
        cache = self._entries_cache
        targets = {merged.get(s, s) for s in subject_ids}
        found = {t: cache[t] for t in targets if t in cache}
        missing = sorted(targets - found.keys())
        if missing:
            generation = self._generation
            read = self._entries(missing)
            with self._lock_cache:
                if generation == self._generation:  # no eviction since the read began
                    if len(self._entries_cache) + len(missing) > self.CACHE_MAX:
                        self._entries_cache = {}
                    for t in missing:
                        self._entries_cache[t] = read.get(t, ())
            found.update(read)
        return {s: found[merged.get(s, s)] for s in subject_ids if found.get(merged.get(s, s))}

    def _entries(self, subject_ids: list[str]) -> dict[str, tuple[Entry, ...]]:
        by: dict[str, list[Entry]] = {}
        with self.reg.engine.connect() as conn:
            for i in range(0, len(subject_ids), 500):
                chunk = subject_ids[i : i + 500]
                rows = conn.execute(
                    select(
                        listings.c.subject_id,
                        listings.c.listing_id,
                        listings.c.list_id,
                        listings.c.decision_ref,
                        listings.c.notified_at,
                        listings.c.activates_at,
                        listings.c.until,
                        listings.c.ended_at,
                        listings.c.end_reason,
                    ).where(listings.c.subject_id.in_(chunk) & listings.c.notified_at.is_not(None))
                ).all()
                susp: dict[str, list[tuple[datetime, datetime | None]]] = {}
                objs: dict[str, list[tuple[datetime, datetime | None, datetime, str]]] = {}
                if rows:
                    for o in conn.execute(
                        select(
                            objections.c.listing_id,
                            objections.c.filed_at,
                            objections.c.decided_at,
                            objections.c.deadline,
                            objections.c.objection_id,
                            objections.c.suspends,
                        ).where(objections.c.listing_id.in_([r.listing_id for r in rows]))
                    ):
                        objs.setdefault(o.listing_id, []).append(
                            (o.filed_at, o.decided_at, o.deadline, o.objection_id)
                        )
                        if o.suspends:
                            susp.setdefault(o.listing_id, []).append((o.filed_at, o.decided_at))
                for r in rows:
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
                            tuple(sorted(objs.get(r.listing_id, ()))),
                        )
                    )
        return {k: tuple(v) for k, v in by.items()}

    def measure(self, measure_id: str) -> tuple[Measure, frozenset[str], dict[str, Any]]:
        try:
            return self._measures[measure_id]
        except KeyError:
            known = ", ".join(sorted(self._measures))
            raise UnknownEntity(f"unknown measure {measure_id!r} (known: {known})") from None

    def answer(self, ref: SubjectRef, measure_id: str, at: datetime) -> dict[str, Any]:
        self.measure(measure_id)
        t = to_utc_naive(at)
        concerned = self.concerned(ref.subject_id, measure_id, t)
        found = self.entries([ref.subject_id]).get(ref.subject_id, ()) if concerned else ()
        return self.build(ref, measure_id, at, found, known=bool(found) or self.known(ref))

    def build(
        self,
        ref: SubjectRef,
        measure_id: str,
        at: datetime,
        found: tuple[Entry, ...],
        *,
        known: bool = True,
    ) -> dict[str, Any]:
        """The explained answer from the subject's listings (none: a plain answer; and for an
        organisation the register does not hold, ``unknown_subject``)."""
        rules = self._rules(at)
        if not known:
            m, _lists, info = self.measure(measure_id)
            return {
                "subject": ref.display,
                "measure": measure_id,
                **info,
                "as_of": iso(at, self.reg.tz),
                "rules": rules,
                "restricted": False,
                "applies": False,
                "outcome": "unknown_subject",
                "listings": [],
                "how_to_resolve": None,
                "note": (
                    "the register holds no organisation with this code: nothing is known of "
                    "it, which is not a clearance (check the code, or ask the registration "
                    "authority)"
                ),
            }
        m, lists, info = self.measure(measure_id)
        t = to_utc_naive(at)
        hits: list[Entry] = []
        suspended: list[Entry] = []
        upcoming: list[Entry] = []
        blockers: list[Entry] = []
        for e in found:
            active = e.activates_at <= t < e.end and not (e.suspensions and e.suspended(t))
            if e.list_id in m.blocked_by and active:
                blockers.append(e)
            if e.list_id not in lists:
                continue
            if e.activates_at <= t < e.end:
                (suspended if e.suspensions and e.suspended(t) else hits).append(e)
            elif e.notified_at <= t < e.activates_at and (e.ended_at is None or t < e.ended_at):
                upcoming.append(e)
        tz = self.reg.tz
        applies = bool(hits) and not blockers
        sanction = m.kind == "sanction"
        out: dict[str, Any] = {
            "subject": ref.display,
            "measure": measure_id,
            **info,
            "as_of": iso(at, tz),
            "rules": rules,
            "restricted": applies and sanction,
            "applies": applies,
            "outcome": ("restricted" if sanction else "eligible")
            if applies
            else ("allowed" if sanction else "not_eligible"),
            "listings": [self._listing(e, tz, t) for e in hits],
            "how_to_resolve": (
                self._list_info[hits[0].list_id]["how_to_resolve"] if hits and sanction else None
            ),
        }
        if hits and blockers:
            out["blocked_by"] = [self._listing(e, tz, t) for e in blockers]
            out["note"] = (
                "the incentive is withheld while the subject has an active listing on a black "
                "list its rules name (blocked_by): "
                + "; ".join(self.reg.pack.cite(m.blocked_by_basis))
            )
        survivor = self.merged.get(ref.subject_id)
        if survivor is not None:
            out["merged_into"] = survivor
        if suspended:
            out["suspended"] = [self._listing(e, tz, t) for e in suspended]
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

    def _rules(self, at: datetime) -> dict[str, str]:
        """The pack, release and rules version an answer about ``at`` is computed under."""
        day = at.astimezone(self.reg.tz).date()
        rules = self._rules_by_day.get(day)
        if rules is None:
            rules = self._rules_by_day[day] = self.reg.pack.rules_on(day)
        return rules

    def _listing(self, e: Entry, tz: Any, t: datetime) -> dict[str, Any]:
        li = self._list_info[e.list_id]
        out = {
            "listing_id": e.listing_id,
            "list": e.list_id,
            "list_name": li["list_name"],
            "decision_ref": e.decision_ref,
            "legal_basis": li["legal_basis"],
            "since": iso(e.activates_at, tz),
            "until": iso(e.until, tz),
            "disputed": False,
            "dispute": None,
        }
        d = e.dispute(t) if e.objections else None
        if d is not None:  # the subject's objection is open: said wherever the listing is shown
            out["disputed"] = True
            out["dispute"] = {
                "objection_id": d[3],
                "filed_at": iso(d[0], tz),
                "deadline": iso(d[2], tz),
            }
        return out


def _origin(conn: Connection) -> str:
    first = conn.execute(select(events.c.hash).where(events.c.seq == 1)).scalar_one_or_none()
    return first or ""


def _merged_since(conn: Connection, version: int) -> bool:
    """Whether a merge was logged after ``version`` (reads only the newer events)."""
    q = select(events.c.seq).where((events.c.seq > version) & (events.c.type == T.SUBJECTS_MERGED))
    return conn.execute(q.limit(1)).first() is not None


def _touched_since(conn: Connection, version: int) -> set[str]:
    """Subjects of the events after ``version``: their answers take the exact path."""
    return set(
        conn.execute(
            select(events.c.subject_id)
            .where((events.c.seq > version) & events.c.subject_id.is_not(None))
            .distinct()
        ).scalars()
    )


def _member(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """For each key, whether it is in ``sorted_keys`` (sorted): a binary search per key, faster
    than ``np.isin``'s sort of both when the sorted side is small (the overlay)."""
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return np.asarray(sorted_keys[pos] == keys)


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
            reg.read_moment(),
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
    ids = [ref.subject_id for ref in refs]
    concerned = idx.concerned_many(subject_keys(ids), measure, to_utc_naive(moment))
    found = idx.entries([ids[i] for i in np.flatnonzero(concerned)])
    orgs = np.array([r.kind == "organisation" for r in refs], dtype=bool)
    known = idx.known_many(orgs, subject_keys(ids), ids.__getitem__)
    results = [
        idx.build(ref, measure, moment, found.get(ref.subject_id, ()), known=bool(k))
        for ref, k in zip(refs, known.tolist(), strict=True)
    ]
    if reader is not None:
        now = reg.read_moment()
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


def code_rows(joined: bytes, n: int) -> np.ndarray | None:
    """``n`` codes joined by newlines as an array of 18-byte rows, without a Python step per
    code, when every code has exactly 18 single-byte characters; None otherwise (the caller
    then reads them another way). Exactly n - 1 newlines, each where an 18-byte code ends,
    leave no other way to cut the bytes."""
    if len(joined) != 19 * n - 1 or joined.count(b"\n") != n - 1:
        return None
    matrix = np.frombuffer(joined + b"\n", np.uint8).reshape(n, 19)
    if not (matrix[:, 18] == 10).all():
        return None
    return np.ascontiguousarray(matrix[:, :18]).view("S18").reshape(n)


def answer_bulk(
    reg: Registry,
    subjects: list[str],
    measure: str,
    at: datetime | None = None,
    reader: str | None = None,
) -> dict[str, Any]:
    """A batch at point-of-service volume: the same answers as ``answer_many``, computed without
    Python work per subject for the common case (a canonical USCC that no listing concerns).

    Codes are validated together (``identifiers.uscc.valid_many``); the others (resident ID
    numbers, codes in lower case or with spaces, malformed ones) are read one by one, and any
    malformed code fails the batch, named, as in ``answer_many``. ``outcomes`` has one entry per
    subject, in order; ``answers`` holds the explained answer of every subject that a listing
    concerns (applies, suspended or notified and not yet active), with its ``index``.

    Reads: every answer in ``answers`` is recorded in its subject's file, as ``answer_many``
    records each. Plain answers are not recorded one by one: recording a read per subject
    costs more than the check itself at this volume (docs/scaling.md says so); an agency
    that must leave a trace of every plain check uses ``answer_many``."""
    idx = index(reg)
    idx.measure(measure)
    n = len(subjects)
    rows = code_rows("\n".join(subjects).encode(), n) if n else None
    if rows is None and n:
        codes = np.array(subjects)
        if codes.dtype.kind == "U" and codes.dtype.itemsize == 4 * 18:
            try:
                rows = codes.astype("S18")  # shorter codes are padded, and fail validation
            except UnicodeEncodeError:
                rows = None  # non-ASCII: everything takes the one-by-one path
    # the codes read together are USCCs: under another pack's scheme every code is read alone
    uscc = reg.org_scheme.builtin == "uscc"
    fast = valid_many(rows) if rows is not None and uscc else np.zeros(n, dtype=bool)
    ids = np.zeros(n, dtype="S40")
    if rows is not None:
        ids[fast] = rows[fast]
    refs: dict[int, SubjectRef] = {}
    bad: list[dict[str, Any]] = []
    for i in np.flatnonzero(~fast).tolist():
        try:
            ref = resolve_code(reg, subjects[i])
        except InvalidIdentifier as exc:
            bad.append({"index": i, "reason": exc.reason})
            continue
        refs[i] = ref
        ids[i] = ref.subject_id.encode()
    if bad:
        raise InvalidInput(
            f"{len(bad)} of {n} subject codes are malformed", detail={"invalid": bad}
        )
    idx.ensure_fresh()
    moment = at or reg.now()
    keys = subject_keys(ids)
    concerned = np.flatnonzero(idx.concerned_many(keys, measure, to_utc_naive(moment)))
    _m, _lists, info = idx.measure(measure)
    plain = "allowed" if info["kind"] == "sanction" else "not_eligible"
    answers: list[dict[str, Any]] = []
    # organisations the register does not hold (the codes validated together are USCCs),
    # marked without a Python step per code
    orgs = fast.copy()
    for i, ref in refs.items():
        orgs[i] = ref.kind == "organisation"
    marks = np.full(n, plain, dtype=object)
    marks[~idx.known_many(orgs, keys, lambda i: ids[i].decode())] = "unknown_subject"
    if len(concerned):
        cids = [ids[i].decode() for i in concerned.tolist()]
        found = idx.entries(cids)
        for i, sid in zip(concerned.tolist(), cids, strict=True):
            ref = refs.get(i) or SubjectRef(sid, "organisation", sid)
            a = idx.build(ref, measure, moment, found.get(sid, ()))
            if (
                a["outcome"] != plain
                or a.get("suspended")
                or a.get("notified_not_yet_active")
                or a.get("blocked_by")
            ):
                marks[i] = a["outcome"]
                answers.append({"index": i, **a})
    outcomes: list[str] = marks.tolist()
    if reader is not None:
        now = reg.read_moment()
        for a in answers:
            sid = ids[a["index"]].decode()
            idx.read_log.add(
                sid,
                reader,
                now,
                {"measure": measure, "outcome": a["outcome"], "as_of": a["as_of"], "batch": True},
            )
    return {
        "measure": measure,
        "as_of": iso(moment, reg.tz),
        "rules": idx._rules(moment),
        "count": n,
        "outcomes": outcomes,
        "answers": answers,
    }
