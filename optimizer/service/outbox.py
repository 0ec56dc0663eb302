"""Records on their way to the store: control never waits for, nor fails on, a write.

The service hands every reading and every command record to an ``Outbox`` and carries on. The
outbox writes them in order when asked (``flush``, after the job's command went out); when the
store fails (disk full, read-only, locked past its busy timeout, gone) the records stay queued,
one warning says so, and no write is tried again before ``retry_s`` of service time has passed.
When a write works again, everything queued is written and one line says the store is back.
The queue is bounded: past ``max_records`` the oldest are dropped (counted in ``dropped`` and
warned about once), so a store that never comes back cannot exhaust memory.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from optimizer.errors import StoreConflict
from optimizer.store import Store
from optimizer.store.records import CommandRecord, Reading

log = logging.getLogger(__name__)

MAX_RECORDS = 20_000  # two weeks of readings at one a minute
RETRY = timedelta(seconds=60)

Record = Reading | CommandRecord


class Outbox:
    """A bounded, ordered queue of readings and command records for ``store``."""

    def __init__(
        self,
        store: Store,
        now: Callable[[], datetime],
        max_records: int = MAX_RECORDS,
        retry: timedelta = RETRY,
    ) -> None:
        self._store = store
        self._now = now
        self._queue: deque[Record] = deque()
        self._max = max_records
        self._retry = retry
        self._retry_at: datetime | None = None
        self.failing: str | None = None
        self.dropped = 0
        self.written = 0

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, record: Record) -> None:
        """Queue ``record`` (dropping the oldest one when full)."""
        if len(self._queue) >= self._max:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1:
                log.error("store: %d records waiting; dropping the oldest from now on", self._max)
        self._queue.append(record)

    def flush(self) -> bool:
        """Write what is queued, oldest first; True when nothing is left. A failure keeps the
        rest queued and blocks further tries for ``retry``."""
        now = self._now()
        if not self._queue or (self._retry_at is not None and now < self._retry_at):
            return not self._queue
        while self._queue:
            try:
                self._write(self._queue[0])
            except StoreConflict as exc:  # stored already: this record is done
                log.warning("store: %s; record skipped", exc)
            except Exception as exc:  # any store failure: keep the records, control goes on
                self._failed(now, f"{type(exc).__name__}: {exc}")
                return False
            self._queue.popleft()
            self.written += 1
        if self.failing is not None:
            log.warning("store: writable again; the waiting records are stored")
            self.failing = None
        self._retry_at = None
        return True

    def _write(self, record: Record) -> None:
        if isinstance(record, Reading):
            self._store.save_reading(record)
        else:
            self._store.save_command(record)

    def _failed(self, now: datetime, why: str) -> None:
        self._retry_at = now + self._retry
        if self.failing is None:
            log.warning(
                "store: cannot write (%s); %d record(s) wait in memory and control goes on "
                "(said once until the store is back)",
                why,
                len(self._queue),
            )
        self.failing = why
