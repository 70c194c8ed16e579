"""No public route tells a right resident ID number from a wrong one.

The attack this holds against: open data shows a listed person as a masked number beside the
court's case number, whose court code gives the district; the check character leaves ~2,600
candidate birth dates, and ``GET /v1/subjects/{number}`` answered 200 for the right number only:
a full number was recovered in 12 s. Here every public route that takes a code is asked for a
listed person's number and for a wrong number with the same mask and division, and must answer
both alike; the person's public entry is reached from the list instead.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
import pytest
from stdnum.cn import ric

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.services import ingest, opendata
from tests.fixtures.rows import PERSON, judgment, numbered

pytestmark = pytest.mark.e2e


def same_mask_other_birth_date(number: str) -> str:
    """A valid number with the same division and last four characters, another birth date."""
    day = date(1950, 1, 1)
    while True:
        first17 = number[:6] + day.strftime("%Y%m%d") + number[14:17]
        candidate = first17 + ric.calc_check_digit(first17 + "0")
        if candidate != number and candidate[-4:] == number[-4:]:
            return candidate
        day += timedelta(days=1)


ROUTES = (
    "/v1/subjects/{n}",
    "/v1/subjects/{n}?as_of=2026-03-02",
    "/subjects?code={n}",
    "/check?subject={n}",
    "/search?q={n}",
    "/v1/search?q={n}",
    "/v1/checks?subject={n}&measure=restrict_air_travel",
    "/v1/file/{n}",
    "/org/{n}",
)


def test_public_routes_answer_alike_for_the_right_and_a_wrong_number(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    ingest.ingest(
        reg,
        numbered([judgment("BJ-7", PERSON, conduct="evades_enforcement", listing_term_years="2")]),
        "court",
        actor="court",
    )
    clock.set(parse_moment("2026-03-02T12:00"))  # the listing is active: the person is public
    wrong = same_mask_other_birth_date(PERSON)
    assert wrong[-4:] == PERSON[-4:] and ric.is_valid(wrong)
    with httpx.Client(base_url=server, timeout=30) as client:
        for route in ROUTES:
            right_r = client.get(route.format(n=PERSON))
            wrong_r = client.get(route.format(n=wrong))
            assert right_r.status_code == wrong_r.status_code, route
            assert right_r.status_code < 500, route
            # the number typed is echoed in a form field: compare the answers without it
            assert right_r.text.replace(PERSON, "N") == wrong_r.text.replace(wrong, "N"), route

        # nor by the registry's own key for the person: a real one and a made-up one alike
        real, made_up = reg.protector.subject_key(PERSON), "P-" + "0" * 32
        for route in ("/v1/subjects/{n}", "/subjects?code={n}", "/check?subject={n}", "/org/{n}"):
            right_r = client.get(route.format(n=real))
            wrong_r = client.get(route.format(n=made_up))
            assert right_r.status_code == wrong_r.status_code, route
            # what was typed is echoed (upper-cased by the code parser): compare without it
            said = re.sub(re.escape(real), "N", right_r.text, flags=re.IGNORECASE)
            assert said == re.sub(re.escape(made_up), "N", wrong_r.text), route

        # the person's public entry is reached from the list, masked, now only
        (listing,) = list(opendata.public_listings(reg))
        assert listing["subject"] == "**************002X"
        lid = listing["listing_id"]
        entry = client.get(f"/v1/listings/{lid}")
        assert entry.status_code == 200, entry.text
        body = entry.json()
        assert body["subject"] == "**************002X" and body["name"] == "张*"
        assert body["listings"] and PERSON not in entry.text
        page = client.get(f"/listing/{lid}")
        assert page.status_code == 200 and "张*" in page.text and PERSON not in page.text
        assert client.get("/v1/listings/L" + "0" * 31).status_code == 404

        # no longer listed: the entry is gone (public means now)
        clock.set(parse_moment("2028-06-01T12:00"))
        assert client.get(f"/v1/listings/{lid}").status_code == 404
        assert client.get(f"/listing/{lid}").status_code == 404


def test_anonymous_reads_are_counted_not_appended(
    reg: Registry, clock: FixedClock, server: str
) -> None:
    """2,000 anonymous reads of a listed person's entry add a constant number of events (they
    added one each: ~2,500 events in 20 s from one client), and the person's "who looked" shows
    one line with the count."""
    from sqlalchemy import func, select

    from socialcredit.db import events, reads
    from socialcredit.services.reads import public_reads

    ingest.ingest(
        reg,
        numbered([judgment("BJ-7", PERSON, conduct="evades_enforcement", listing_term_years="2")]),
        "court",
        actor="court",
    )
    clock.set(parse_moment("2026-03-02T12:00"))
    (listing,) = list(opendata.public_listings(reg))

    def n_events() -> int:
        with reg.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())

    before = n_events()
    with httpx.Client(base_url=server, timeout=30) as client:
        for _ in range(2000):
            assert client.get(f"/v1/listings/{listing['listing_id']}").status_code == 200
    public_reads(reg).flush()
    assert n_events() - before <= 2
    sid = reg.protector.subject_key(PERSON)
    with reg.engine.connect() as conn:
        rows = conn.execute(select(reads).where(reads.c.subject_id == sid)).all()
    counted = [r for r in rows if r.kind == "public-count"]
    assert len(counted) == 1 and '"count":2000' in counted[0].detail
