"""Counts of what the registry holds, now or at a past moment."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..clock import iso, to_utc_naive
from ..db import events, listings, records, subjects
from ..rules.lists import status_at

if TYPE_CHECKING:
    from ..bootstrap import Registry


def stats(reg: Registry, at: datetime | None = None) -> dict[str, Any]:
    """Subjects, records, active listings (per list) and events as of ``at`` (aware; default
    now). Counts come from the projections' timestamps, so a past moment needs no replay."""
    moment = at or reg.now()
    t = to_utc_naive(moment)
    with reg.engine.connect() as conn:
        n_subjects = conn.execute(
            select(func.count()).select_from(subjects).where(subjects.c.registered_at <= t)
        ).scalar_one()
        n_records = conn.execute(
            select(func.count()).select_from(records).where(records.c.first_seen_at <= t)
        ).scalar_one()
        n_events = conn.execute(
            select(func.count()).select_from(events).where(events.c.at <= t)
        ).scalar_one()
        per_list: dict[str, int] = {}
        q = select(
            listings.c.list_id,
            listings.c.proposed_at,
            listings.c.notified_at,
            listings.c.activates_at,
            listings.c.until,
            listings.c.ended_at,
        ).where((listings.c.activates_at <= t) & (listings.c.proposed_at <= t))
        for row in conn.execute(q):
            state = status_at(
                t, row.proposed_at, row.notified_at, row.activates_at, row.until, row.ended_at
            )
            if state == "active":
                per_list[row.list_id] = per_list.get(row.list_id, 0) + 1
    return {
        "as_of": iso(moment, reg.tz),
        "subjects": int(n_subjects),
        "records": int(n_records),
        "listings_active": sum(per_list.values()),
        "listings_active_by_list": dict(sorted(per_list.items())),
        "events": int(n_events),
    }
