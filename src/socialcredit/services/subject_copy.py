"""A copy of everything held about a subject (PIPL Art. 45), and the subject's calendar.

The copy is one archive: the subject's whole file (records, listings, notices, objections,
statements, repairs, consents, reads, grades) as JSON, every entry of the log about it with the
proof that ties it into the log, the calendar as an iCalendar file, and the file as a readable
PDF (laid out by the pages, which add it). Nothing about anyone else is in it: the file and the
trail are the subject's own, and a proof carries only hashes of other entries. The request and
its delivery are recorded as a read of the file (kind ``copy``, with the archive's digest).

The calendar lists the dates that matter to the subject: the day each record leaves
publicity, each listing's latest end, the earliest day each repair may be asked for, each open
objection's deadline.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

import icalendar

from ..policy.durations import Duration, add_duration
from ..policy.versions import publicity_term
from . import audit, grading
from .reads import record_read
from .subjects import resolve_code, subject_file

if TYPE_CHECKING:
    from ..bootstrap import Registry

OPEN_OBJECTION = ("open", "escalated")
LIVE_LISTING = ("notified", "active", "suspended")


def _day(value: str | None) -> date | None:
    return datetime.fromisoformat(value).date() if value else None


def calendar(reg: Registry, file: dict[str, Any]) -> list[dict[str, Any]]:
    """The dates that matter in a subject's file, soonest first, each with what happens then
    and the entry it concerns (in the pack's languages)."""
    today = reg.now().astimezone(reg.tz).date()
    out: list[dict[str, Any]] = []

    def add(day: date | None, what: str, entry: str, zh: str, en: str) -> None:
        if day is not None and day >= today:
            text = {"zh": zh, "en": en}
            out.append(
                {
                    "date": day.isoformat(),
                    "what": what,
                    "entry": entry,
                    "text": {k: v for k, v in text.items() if k in reg.pack.meta.languages},
                }
            )

    for r in file["records"]:
        if r.get("retracted"):
            continue
        name = reg.pack.record_types[r["record_type"]].name
        add(
            _day(r["publicity_until"]),
            "publicity_ends",
            r["record"],
            f"{name.zh}（{r['decision_ref']}）停止公示",
            f"{name.en} ({r['decision_ref']}) leaves publicity",
        )
        rt, _v = reg.pack.record_type_at(r["record_type"], _day(r["decided_on"]) or today)
        if rt.repair is not None and not r.get("repaired"):
            term = publicity_term(rt.repair.minimum_shown, r["fields"])
            start = datetime.combine(_day(r["decided_on"]) or today, time(0, 0), tzinfo=reg.tz)
            earliest = add_duration(start, Duration.parse(term), reg.calendar, reg.tz).at.date()
            add(
                earliest,
                "repair_possible",
                r["record"],
                f"{name.zh}（{r['decision_ref']}）最早可申请信用修复",
                f"{name.en} ({r['decision_ref']}): credit repair may be asked for from this day",
            )
    for li in file["listings"]:
        if li["status"] not in LIVE_LISTING:
            continue
        ld = reg.pack.lists[li["list"]]
        add(
            _day(li["until"]),
            "listing_ends",
            li["id"],
            f"{ld.name.zh}列入最迟届满",
            f"{ld.name.en}: the listing ends at the latest",
        )
        if ld.repair is not None and li.get("since"):
            since = datetime.fromisoformat(li["since"])
            earliest = add_duration(
                since, Duration.parse(ld.repair.minimum_served), reg.calendar, reg.tz
            ).at.date()
            add(
                earliest,
                "repair_possible",
                li["id"],
                f"{ld.name.zh}最早可申请信用修复",
                f"{ld.name.en}: credit repair may be asked for from this day",
            )
    listed = {li["id"]: li for li in file["listings"]}
    recorded = {r["record"]: r for r in file["records"]}
    for o in file["objections"]:
        if o["status"] in OPEN_OBJECTION:
            # named by what it disputes, as the subject knows it, never by its internal id
            li, rec = listed.get(o.get("listing_id") or ""), recorded.get(o.get("record") or "")
            if li is not None:
                ln = reg.pack.lists[li["list"]].name
                zh, en = (
                    f"对{ln.zh}列入（{li['decision_ref']}）",
                    f"to the {ln.en} ({li['decision_ref']})",
                )
            elif rec is not None:
                rn = reg.pack.record_types[rec["record_type"]].name
                zh, en = (
                    f"对{rn.zh}（{rec['decision_ref']}）",
                    f"to the {rn.en} ({rec['decision_ref']})",
                )
            else:
                zh, en = "", ""
            add(
                _day(o["deadline"]),
                "objection_deadline",
                o["id"],
                f"您{zh}提出的异议的答复期限",
                f"The answer to your objection {en} is due".replace("  ", " "),
            )
    out.sort(key=lambda x: (x["date"], x["what"], x["entry"]))
    return out


def ics(reg: Registry, subject: str, items: list[dict[str, Any]]) -> bytes:
    """The calendar as an iCalendar file (RFC 5545): one all-day event per date."""
    cal = icalendar.Calendar()
    cal.add("prodid", f"-//socialcredit//{reg.pack.meta.id}//")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{subject}")
    cal.add("x-wr-timezone", reg.pack.meta.timezone)
    lang = reg.pack.meta.languages[0]
    stamp = reg.now()
    for it in items:
        ev = icalendar.Event()
        ev.add("uid", f"{it['what']}-{it['entry']}@socialcredit")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", date.fromisoformat(it["date"]))
        ev.add("summary", it["text"].get(lang) or next(iter(it["text"].values())))
        ev.add("categories", [it["what"]])
        cal.add_component(ev)
    return bytes(cal.to_ical())


def own_file(reg: Registry, code: str, reader: str | None) -> dict[str, Any]:
    """The subject's file with its grades and calendar, read by ``reader`` (recorded; None:
    the caller records the read itself)."""
    file = subject_file(reg, code, reader=reader, purpose="the subject reads its file")
    file = grading.with_grades(reg, file)
    file["calendar"] = calendar(reg, file)
    return file


def archive(
    reg: Registry,
    code: str,
    *,
    reader: str,
    readable: Callable[[dict[str, Any]], bytes] | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """The copy as a zip archive, and its manifest. ``readable`` lays the file out as a PDF
    (the pages pass their renderer); without it the archive holds the data alone."""
    ref = resolve_code(reg, code)
    file = own_file(reg, code, None)  # one read for the copy, recorded below with its digest
    trail = audit.export_subject(reg, code)
    parts: dict[str, bytes] = {
        "file.json": json.dumps(file, ensure_ascii=False, indent=1, default=str).encode(),
        "log.json": json.dumps(trail, ensure_ascii=False, indent=1, default=str).encode(),
        "calendar.ics": ics(reg, file["subject"], file["calendar"]),
    }
    if readable is not None:
        parts["file.pdf"] = readable(file)
    manifest = {
        "subject": file["subject"],
        "as_of": file["as_of"],
        "rules": file["rules"],
        "legal_basis": "PIPL Art. 45",
        "contents": {
            "records": len(file["records"]),
            "listings": len(file["listings"]),
            "notices": len(file["notices"]),
            "objections": len(file["objections"]),
            "statements": len(file["statements"]),
            "repairs": len(file["repairs"]),
            "consents": len(file["consents"]),
            "reads": len(file["reads"]),
            "grades": len(file.get("grades", [])),
            "log_entries": len(trail),
            "calendar": len(file["calendar"]),
        },
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in parts.items()},
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        for name, data in parts.items():
            z.writestr(name, data)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    # the delivery is on file: what was given, when, to whom
    record_read(
        reg,
        ref.subject_id,
        reader,
        "copy",
        {"purpose": "a copy of everything held (PIPL Art. 45)", "sha256": digest},
    )
    manifest["sha256"] = digest
    return data, manifest
