"""Fixtures: the smallest registry a test needs, on SQLite and (when available) PostgreSQL.

``db_url`` is parametrised over both databases. PostgreSQL comes from
SOCIALCREDIT_TEST_POSTGRES_URL (scripts/test starts a throwaway cluster and sets it); each test
gets its own schema, dropped afterwards. Under CI a missing PostgreSQL is an error, not a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from socialcredit.bootstrap import Registry
from socialcredit.clock import FixedClock, parse_moment
from socialcredit.config import Settings

PG_URL = os.environ.get("SOCIALCREDIT_TEST_POSTGRES_URL")
TEST_KEYS = {
    "SOCIALCREDIT_ID_HASH_KEY": "test-hash-key-0123456789abcdef",
    "SOCIALCREDIT_ID_ENCRYPTION_KEY": "xUJ9iBnbKrzQe6Mj4nq0n8DljGn6zUGNs7y6lPkcM9k=",
    "SOCIALCREDIT_LOG_SIGNING_KEY": "9b1m0Q3oMQ4X0Ue+v6c8iZ0nE8h8Lw7t3mJ8oYl1ZKs=",
}


def _pg_schema_url(schema: str) -> str:
    assert PG_URL
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail(
                "SOCIALCREDIT_TEST_POSTGRES_URL is not set in CI: PostgreSQL must be tested"
            )
        pytest.skip("no PostgreSQL (set SOCIALCREDIT_TEST_POSTGRES_URL or run scripts/test)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for commands run against the test database."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALCREDIT_")}
    e.update(TEST_KEYS)
    e["SOCIALCREDIT_DATABASE_URL"] = db_url
    e["SOCIALCREDIT_KEY_FILE"] = str(tmp_path / "keys.json")
    e["SOCIALCREDIT_OPEN_DATA_DIR"] = str(tmp_path / "open-data")
    return e


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(parse_moment("2026-02-01T09:00"))


@pytest.fixture
def reg(env: dict[str, str], clock: FixedClock) -> Iterator[Registry]:
    r = Registry(Settings.from_env(env), clock=clock)
    yield r
    r.close()
