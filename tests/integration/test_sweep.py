"""The background sweep of a serving process: what time alone brings is recorded, and the
reads gathered in memory reach the store, turn after turn."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.db import events, listings
from socialcredit.services import ingest, sweep
from socialcredit.services.reads import public_reads
from tests.fixtures.rows import ORG, judgment, numbered


def test_the_sweep_records_what_time_brought_and_the_reads(
    reg: Registry, clock: FixedClock
) -> None:
    ingest.ingest(reg, numbered([judgment()]), "court", actor="court")
    clock.set(parse_moment("2026-03-02T12:00"))  # the notice period has run
    sweeper = sweep.Sweeper(reg, every=0.05)
    sweeper.start()
    try:
        with reg.engine.connect() as conn:
            assert conn.execute(select(listings.c.status)).scalar_one() == "active"
        public_reads(reg).add(ORG, reg.now())
        deadline = time.monotonic() + 10
        while True:
            with reg.engine.connect() as conn:
                counted = conn.execute(
                    select(func.count())
                    .select_from(events)
                    .where(events.c.type == "public-reads-counted")
                ).scalar_one()
            if counted:
                break
            assert time.monotonic() < deadline, "the sweep did not record the reads"
            time.sleep(0.05)
    finally:
        sweeper.stop()
