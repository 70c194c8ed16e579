"""Work that time alone brings, done in the background of a serving process.

Every 15 seconds: listings that time activated or ended are recorded (``listings.advance``),
due notices are delivered, the reads gathered since are recorded (checks in batches, anonymous
public reads as counts); every hour: personal data past its retention is purged and expired
rejects reports are deleted. Each step that fails is logged and tried again at the next turn;
one failing step never stops the others.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from . import checks, listings, notices, purge, reads

if TYPE_CHECKING:
    from ..bootstrap import Registry

log = logging.getLogger(__name__)

EVERY = 15.0  # seconds between turns
PURGE_EVERY = 3600.0


class Sweeper:
    def __init__(self, reg: Registry, every: float = EVERY) -> None:
        self.reg = reg
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bring the store up to date with time now, then sweep in a thread of its own."""
        listings.advance(self.reg, "system:sweep")
        channels = notices.Channels.from_url(
            self.reg.settings.smtp_url, self.reg.settings.mail_from
        )

        def run() -> None:
            last_purge = 0.0
            while not self._stop.wait(self.every):
                if time.monotonic() - last_purge > PURGE_EVERY:
                    try:
                        purge.purge(self.reg, actor="system:purge")
                    except Exception:
                        log.exception("purge failed; retrying in an hour")
                    last_purge = time.monotonic()
                try:
                    listings.advance(self.reg, "system:sweep")
                    notices.deliver_due(self.reg, channels)
                    flush_reads(self.reg)
                except Exception:
                    log.exception("sweep or notice delivery failed; retrying in 15 s")

        self._thread = threading.Thread(target=run, daemon=True, name="listing-sweep")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


def flush_reads(reg: Registry) -> None:
    """Record the reads gathered in this process: checks, and anonymous public reads."""
    if reg._check_index is not None and not checks.index(reg).read_log.flushing:
        checks.index(reg).read_log.flush()  # (a flusher thread writes them otherwise)
    reads.public_reads(reg).flush()
