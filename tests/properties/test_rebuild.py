"""After any sequence of submissions and time steps, a rebuild reproduces the live projections
and the chain verifies (STYLE.md habits: replay equals projection)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.config import Settings
from socialcredit.services import audit, checks, ingest, listings
from tests.conftest import TEST_KEYS
from tests.fixtures.rows import MINOR, ORG, ORG2, PERSON, judgment, tax_rating

SUBJECTS = [ORG, ORG2, PERSON, MINOR]

judgment_step = st.builds(
    lambda rid, subj, status, conduct, ref: (
        "court",
        judgment(
            f"J{rid}",
            subj,
            status=status,
            conduct=conduct,
            listing_ref="（2026）京0105执1234号之一" if ref else None,
            **({"performed_on": "2026-01-20"} if status == "performed" else {}),
        ),
    ),
    st.integers(0, 3),
    st.sampled_from(SUBJECTS),
    st.sampled_from(["unperformed", "performed"]),
    st.sampled_from([None, "able_but_refuses", "evades_enforcement"]),
    st.booleans(),
)
tax_step = st.builds(
    lambda rid, subj, level: ("tax", tax_rating(f"T{rid}", subj, level=level)),
    st.integers(0, 2),
    st.sampled_from([ORG, ORG2]),
    st.sampled_from(["A", "B"]),
)
step = st.one_of(judgment_step, tax_step, st.integers(1, 400).map(lambda d: ("days", d)))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(step, min_size=1, max_size=12))
def test_rebuild_equals_live_projections_after_any_sequence(tmp_path: Path, steps: list) -> None:  # type: ignore[type-arg]
    db = tmp_path / f"p{abs(hash(str(steps)))}.db"
    env = {
        **TEST_KEYS,
        "SOCIALCREDIT_DATABASE_URL": f"sqlite:///{db}",
        "SOCIALCREDIT_KEY_FILE": str(tmp_path / "k.json"),
    }
    clock = FixedClock(parse_moment("2026-02-01"))
    reg = Registry(Settings.from_env(env), clock=clock)
    try:
        for kind, value in steps:
            if kind == "days":
                clock.set(clock.now() + timedelta(days=value))
                listings.advance(reg, "prop")
            else:
                ingest.ingest(reg, [(1, value)], kind, actor="prop")
            for s in (ORG, PERSON):
                a = checks.answer(reg, s, "restrict_air_travel")
                # never restricted without a court decision on file
                assert all(x["decision_ref"] for x in a["listings"])
        assert checks.answer(reg, MINOR, "restrict_air_travel")["restricted"] is False
        before = audit.fingerprint(reg)
        audit.rebuild(reg)
        assert audit.fingerprint(reg) == before
        assert audit.verify_chain(reg).ok
    finally:
        reg.close()
        db.unlink(missing_ok=True)
