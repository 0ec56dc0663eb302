"""Energy history on a regular UTC slot grid, read only before a decision time.

The load forecasters (``optimizer.forecast.load``) work on plain arrays so that the backtest can
make a forecast at each of ~10,000 decision times in a year quickly, and the service makes its
forecast with the same code from the store's history. A household keeps local clock time, so a
lag of ``k`` days is ``k`` *local* days: across a DST change it is 23 or 25 hours, and a local
time that does not exist (or exists twice) on the earlier day has no lagged value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.errors import InvalidInput
from optimizer.timeseries import FloatArray

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SlotSeries:
    """kWh per slot on ``[start, start + len(kwh) × slot)``; NaN where nothing was measured.

    ``timezone`` (IANA name) is the household's clock for day lags; ``None`` keeps UTC days.
    """

    start: datetime
    slot_minutes: int
    kwh: FloatArray
    timezone: str | None
    #: UTC offset of each slot's start, in slots (computed).
    offset_slots: IntArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() != timedelta(0):
            raise InvalidInput(f"slot series start {self.start!r} must be timezone-aware UTC")
        if self.slot_minutes <= 0 or 1440 % self.slot_minutes:
            raise InvalidInput(f"slot length {self.slot_minutes} min must divide a day")
        index = pd.date_range(self.start, periods=len(self.kwh), freq=f"{self.slot_minutes}min")
        if self.timezone is None:
            offsets = np.zeros(len(self.kwh), dtype=np.int64)
        else:
            local = index.tz_convert(self.timezone).tz_localize(None)
            minutes = (local - index.tz_localize(None)) / pd.Timedelta(minutes=1)
            offsets = np.asarray(minutes, dtype=np.int64) // self.slot_minutes
        object.__setattr__(self, "offset_slots", offsets)

    @property
    def per_day(self) -> int:
        """Slots in a 24-hour day."""
        return 1440 // self.slot_minutes

    def __len__(self) -> int:
        return len(self.kwh)

    def position(self, when: datetime) -> int:
        """The index of the slot starting at ``when`` (may lie outside the series)."""
        steps = (when - self.start) / timedelta(minutes=self.slot_minutes)
        if steps != int(steps):
            raise InvalidInput(f"{when.isoformat()} is not on the {self.slot_minutes}-min grid")
        return int(steps)

    def local_slot_of_day(self, slots: IntArray) -> IntArray:
        """Local slot of the day (0 = the slot starting at local midnight) of each of ``slots``."""
        offsets = self.offset_slots[_clipped(slots, len(self.kwh) - 1)]
        return np.asarray((slots + offsets) % self.per_day, dtype=np.int64)

    def days_back(self, slots: IntArray, days: int | IntArray) -> IntArray:
        """The slot at the same local clock time ``days`` local days before each of ``slots``.

        -1 where that slot is before the series or its local time does not exist once there.
        """
        n = len(self.kwh)
        inside = _clipped(slots, n - 1)
        local = slots + self.offset_slots[inside] - np.asarray(days) * self.per_day
        guess = local - self.offset_slots[_clipped(local, n - 1)]
        ok = (guess >= 0) & (guess < n)
        ok &= guess + self.offset_slots[_clipped(guess, n - 1)] == local
        return np.where(ok, guess, -1).astype(np.int64)

    def values(self, slots: IntArray, before: int) -> FloatArray:
        """kWh at ``slots``; NaN for -1, outside the series, or at/after ``before`` (the future)."""
        usable = (slots >= 0) & (slots < min(before, len(self.kwh)))
        out = np.full(slots.shape, np.nan)
        out[usable] = self.kwh[slots[usable]]
        return out


def _clipped(slots: IntArray, last: int) -> IntArray:
    """``slots`` held within ``0..last`` (``np.clip``'s result; two ufuncs cost less than its
    wrapper on the short arrays of one forecast)."""
    return np.minimum(np.maximum(slots, 0), last)


def series_from(
    history: pd.Series, start: datetime, end: datetime, slot_minutes: int, timezone: str | None
) -> SlotSeries:
    """A ``SlotSeries`` over ``[start, end)`` from a UTC-indexed kWh series (missing → NaN)."""
    periods = int((end - start) / timedelta(minutes=slot_minutes))
    index = pd.date_range(start, periods=max(periods, 0), freq=f"{slot_minutes}min")
    kwh = (
        history.reindex(index).to_numpy(np.float64) if len(history) else np.full(len(index), np.nan)
    )
    return SlotSeries(start, slot_minutes, np.asarray(kwh, dtype=np.float64), timezone)
