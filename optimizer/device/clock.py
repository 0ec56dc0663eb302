"""Time sources: what the client and the service need of a clock (``TimeSource``), the real
clock (``SystemTime``) and simulated time (``SimClock``), injectable.

``SimClock`` runs ``start + speed × elapsed real time + manual advances``: ``run --speed``, the
demo and the simulator use it, and tests pass one clock to both sides so that sleeping advances
simulated time instantly and token ages, lockouts and read-back waits run without real waiting.
``speed = 0`` freezes time, so tests move it only with ``advance`` (and with ``sleep``, which then
advances instead of waiting). ``hold()`` makes a running clock behave like that until
``release()``, after which it runs on from where it stood (the demo holds the clock while the
service starts up, so the simulated day begins when the service is ready).

It lives here, not in the simulator package, so that the service (``run --speed``) gets it
without importing the simulator (its HTTPS server and certificate code).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from optimizer.timeseries import require_utc


class TimeSource(Protocol):
    """What the client needs from a clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemTime:
    """The real clock."""

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """``time.monotonic()`` in seconds."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """``time.sleep(seconds)``."""
        time.sleep(max(0.0, seconds))


class SimClock:
    """A clock that runs ``speed`` times faster than real time and can be pushed forward."""

    def __init__(
        self,
        start: datetime | None = None,
        speed: float = 1.0,
        real: Callable[[], float] = time.monotonic,
        *,
        held: bool = False,
    ) -> None:
        """A clock at ``start`` (default: now), running ``speed`` times real time as measured
        by ``real`` (seconds), or held there (``held``) until ``release()``."""
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._start = require_utc(start, "start") if start else datetime.now(UTC)
        self._speed = speed
        self._real = real
        self._real0 = real()
        self._offset = timedelta(0)
        self._held = held
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

    @property
    def held(self) -> bool:
        """True between ``hold()`` and ``release()``."""
        return self._held

    def _running_s(self) -> float:
        """Simulated seconds of running since the last release (0 while held)."""
        return 0.0 if self._held else (self._real() - self._real0) * self._speed

    def now(self) -> datetime:
        """Current simulated time, aware UTC."""
        with self._lock:
            return self._start + timedelta(seconds=self._running_s()) + self._offset

    def hold(self) -> None:
        """Stop running: until ``release()`` only ``advance`` and ``sleep`` move the clock."""
        with self._lock:
            self._offset += timedelta(seconds=self._running_s())
            self._held = True

    def release(self) -> None:
        """Run again (at ``speed``) from the time the clock has reached."""
        with self._lock:
            if self._held:
                self._real0 = self._real()
                self._held = False

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
        if self._speed == 0 or self._held:
            self.advance(seconds)
        else:
            time.sleep(seconds / self._speed)
