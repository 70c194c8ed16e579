"""The one place that builds the registry's real dependencies: engine, pack, clock, keys, index."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, inspect, text

from .clock import Clock, SystemClock, to_utc_naive
from .config import Settings
from .db import SCHEMA_REVISION, make_engine
from .events.store import StoredEvent
from .identifiers.protect import IdProtector
from .identifiers.schemes import scheme as identifier_scheme
from .policy import Pack, load_pack
from .policy.durations import WorkingCalendar
from .uow import UnitOfWork

T = TypeVar("T")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(conn: Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_schema(engine: Engine) -> bool:
    """Bring the schema to the newest migration; True when something was applied.

    Alembic is imported only when a migration has to run: commands stay quick to start.
    """
    if schema_revision(engine) == SCHEMA_REVISION:
        return False
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    return True


class Registry:
    """Everything a service needs, built once per process (or per test)."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        pack: Pack | None = None,
        engine: Engine | None = None,
        migrate: bool = True,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.pack = pack or load_pack(settings.pack_path)
        self.tz = ZoneInfo(self.pack.meta.timezone)
        cal = self.pack.meta.calendar
        self.calendar = WorkingCalendar(
            country=self.pack.meta.calendar_country,
            extra_workdays=frozenset(cal.extra_workdays),
            extra_holidays=frozenset(cal.extra_holidays),
            announced_years=frozenset(cal.announced_years),
        )
        ids = self.pack.meta.ids
        #: how subjects' numbers are read under this pack (``identifiers.schemes``)
        org = ids.organisation
        self.org_scheme = identifier_scheme(org.scheme, org.stdnum, org.pattern, org.example)
        self.person_scheme = (
            identifier_scheme(
                ids.person.scheme, ids.person.stdnum, ids.person.pattern, ids.person.example
            )
            if ids.person is not None
            else None
        )
        self.engine = engine or make_engine(settings.database_url)
        if migrate:
            upgrade_schema(self.engine)
        self.protector = IdProtector(settings.id_hash_key, settings.id_encryption_key)
        self._check_keys()
        self._listeners: list[Any] = []
        self._check_index: Any = None
        self._shared: dict[str, Any] = {}
        self._shared_lock = threading.Lock()

    def shared(self, name: str, make: Callable[[], T]) -> T:
        """The process's one ``name`` object for this registry, made by ``make`` on first use
        (the sign-in guard, the counter of public reads, the chain check's progress)."""
        with self._shared_lock:
            found = self._shared.get(name)
            if found is None:
                found = self._shared[name] = make()
            return cast(T, found)

    def _check_keys(self) -> None:
        """Record the keys' fingerprint in a new store; refuse person data when this process's
        keys differ from the store's (with other keys a listed person's check answered
        "allowed", and said nothing)."""
        from sqlalchemy import insert, select
        from sqlalchemy.exc import DBAPIError

        from .db import store_keys

        ours = self.protector.fingerprint()
        try:
            with self.engine.connect() as conn:
                stored = conn.execute(
                    select(store_keys.c.fingerprint).where(store_keys.c.id == 1)
                ).scalar()
        except DBAPIError:
            return  # a store older than the fingerprint, opened without migrating
        if stored is None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(store_keys).values(
                            id=1, fingerprint=ours, recorded_at=to_utc_naive(self.now())
                        )
                    )
            except DBAPIError:
                pass  # another process recorded it first: read it on the next start
            return
        if stored != ours:
            self.protector.refuse(
                f"the ID keys from {self.settings.key_source} are not the keys this store "
                f"({self.settings.database_label}) was written with (fingerprint "
                f"{ours[:8]}, the store's {stored[:8]}): persons would be keyed and decrypted "
                "wrongly, so person data is refused. Use the store's keys "
                "(SOCIALCREDIT_ID_HASH_KEY and SOCIALCREDIT_ID_ENCRYPTION_KEY, or the "
                "development key file beside the database)"
            )

    @classmethod
    def from_env(cls, **kwargs: Any) -> Registry:
        return cls(Settings.from_env(), **kwargs)

    def now(self) -> datetime:
        return self.clock.now()

    def read_moment(self) -> datetime:
        """When a read happens (a check, a file read, a sign-out): the clock's moment, but
        never later than the system's. A question asked as of a future moment (``--as-of``
        in a demo) is still asked now: recorded at that future moment it would move the log's
        clock past every real-time write, and the registry would refuse them all."""
        at = self.clock.now()
        if isinstance(self.clock, SystemClock):
            return at
        real = datetime.now(UTC)
        return at if at <= real else real

    def uow(self, actor: str, *, clamp: bool = False) -> UnitOfWork:
        """A transaction acting at the clock's moment. ``clamp`` is for records of reads
        (what happened now, not a decision dated by the clock): at ``read_moment`` (never in
        the system's future), or at the log's latest moment instead of refusing when that is
        later (reads made while replaying the past: the read happens now, the question is
        about then). A read can therefore never block a later write."""
        live = (lambda: to_utc_naive(self.now())) if isinstance(self.clock, SystemClock) else None
        at = self.read_moment() if clamp else self.now()
        return UnitOfWork(
            self.engine,
            to_utc_naive(at),
            actor,
            self._committed,
            clamp=clamp,
            live=live,
            tz=self.tz,
        )

    def on_commit(self, listener: Any) -> None:
        self._listeners.append(listener)

    def _committed(self, events: list[StoredEvent]) -> None:
        for listener in self._listeners:
            listener(events)

    def close(self) -> None:
        self.engine.dispose()
