"""Simulated time: ``start + speed × elapsed real time + manual advances``.

``speed = 0`` freezes time, so tests move it only with ``advance`` (and with ``sleep``, which then
advances instead of waiting). The clock also satisfies the client's ``TimeSource`` protocol, so a
test can hand the same clock to both sides.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from optimizer.timeseries import require_utc


class SimClock:
    """A clock that runs ``speed`` times faster than real time and can be pushed forward."""

    def __init__(
        self,
        start: datetime | None = None,
        speed: float = 1.0,
        real: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._start = require_utc(start, "start") if start else datetime.now(UTC)
        self._speed = speed
        self._real = real
        self._real0 = real()
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SimClock(now={self.now().isoformat()}, speed={self._speed:g})"

    @property
    def speed(self) -> float:
        """Simulated seconds per real second (0 = manual)."""
        return self._speed

    @property
    def start(self) -> datetime:
        """Simulated time at creation (UTC)."""
        return self._start

    def now(self) -> datetime:
        """Current simulated time, aware UTC."""
        elapsed = (self._real() - self._real0) * self._speed
        with self._lock:
            return self._start + timedelta(seconds=elapsed) + self._offset

    def advance(self, delta: timedelta | float) -> None:
        """Jump forward by ``delta`` (a timedelta or seconds)."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("the clock never goes backwards")
        with self._lock:
            self._offset += step

    def monotonic(self) -> float:
        """Simulated seconds since ``start``."""
        return (self.now() - self._start).total_seconds()

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass: advance a manual clock, else really wait."""
        if seconds <= 0:
            return
        if self._speed == 0:
            self.advance(seconds)
        else:
            time.sleep(seconds / self._speed)
