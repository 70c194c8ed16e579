"""Keys that cannot silently differ. Run from another directory, the demo's hint made a fresh
development key file, and a check on a listed person answered "allowed" with nothing on stderr:
with other keys the person's keyed id is another one. The store now records the fingerprint of
its keys; a process whose keys differ refuses person data with an error naming its key source,
and development keys live beside the database, not in the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.config import Settings, new_keys
from socialcredit.errors import ConfigurationError
from socialcredit.services import checks, ingest
from tests.fixtures.rows import ORG, PERSON, judgment, numbered


def test_other_keys_refuse_person_data_and_say_why(
    reg: Registry, env: dict[str, str], clock: FixedClock
) -> None:
    ingest.ingest(
        reg,
        numbered([judgment(), judgment("BJ-7", PERSON, conduct="evades_enforcement")]),
        "court",
        actor="court",
    )
    clock.set(parse_moment("2026-03-02T12:00"))
    assert checks.answer(reg, PERSON, "restrict_air_travel")["restricted"]

    keys = new_keys()
    other = dict(
        env,
        SOCIALCREDIT_ID_HASH_KEY=keys["id_hash_key"],
        SOCIALCREDIT_ID_ENCRYPTION_KEY=keys["id_encryption_key"],
    )
    stranger = Registry(Settings.from_env(other), clock=clock)
    try:
        with pytest.raises(ConfigurationError) as exc:
            checks.answer(stranger, PERSON, "restrict_air_travel")
        assert "environment" in exc.value.message and "not the keys" in exc.value.message
        with pytest.raises(ConfigurationError):
            ingest.ingest(
                stranger,
                numbered([judgment("BJ-8", PERSON, conduct="evades_enforcement")]),
                "court",
                actor="court",
            )
        # organisations need no keys: their checks still answer
        assert checks.answer(stranger, ORG, "restrict_air_travel")["restricted"]
    finally:
        stranger.close()
    # the store's own keys still work
    assert checks.answer(reg, PERSON, "restrict_air_travel")["restricted"]


def test_development_keys_live_beside_the_database(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "demo.db"
    db.parent.mkdir()
    s = Settings.from_env({"SOCIALCREDIT_DATABASE_URL": f"sqlite:///{db}"})
    assert (tmp_path / "elsewhere" / "demo.db.keys.json").is_file()
    assert str(db) + ".keys.json" in s.key_source
    again = Settings.from_env({"SOCIALCREDIT_DATABASE_URL": f"sqlite:///{db}"})
    assert again.id_hash_key == s.id_hash_key
