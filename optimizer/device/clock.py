"""The time source the client uses: wall clock (UTC), a monotonic clock and sleep, injectable.

Tests pass the simulator's clock (which has the same three methods) so that sleeping advances
simulated time instantly and token ages, lockouts and read-back waits run without real waiting.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


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
