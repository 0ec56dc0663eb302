"""UTC slot grids, input checks that name the first bad slot, DST-aware local days, resampling.

Every series handled here is a ``pandas.Series`` indexed by the UTC start of its interval.
Local time appears only in ``local_day_bounds`` (the edge where a user says "that day").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]


def require_utc(moment: datetime, what: str = "time") -> datetime:
    """Return ``moment`` in UTC; naive datetimes are rejected, never guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(f"{what} {moment.isoformat()} has no time zone; give it in UTC (…Z)")
    return moment.astimezone(UTC)


def parse_utc(text: str, what: str = "time") -> datetime:
    """Parse an ISO-8601 string that carries an offset (``Z`` allowed) into UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not an ISO-8601 time") from None
    return require_utc(moment, what)


def slot_index(start: datetime, periods: int, slot_minutes: int) -> pd.DatetimeIndex:
    """``periods`` slot starts from ``start`` (UTC), ``slot_minutes`` apart."""
    start = require_utc(start, "start")
    if (start.minute * 60 + start.second) % (slot_minutes * 60) or start.microsecond:
        raise InvalidInput(f"start {start.isoformat()} is not on a {slot_minutes}-minute boundary")
    return pd.date_range(start, periods=periods, freq=f"{slot_minutes}min", tz="UTC", unit="ns")


def local_day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """UTC start and end of local calendar ``day``: 23, 24 or 25 hours long."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def _ns(index: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    """Nanoseconds since the epoch, whatever resolution pandas chose for ``index``."""
    return index.as_unit("ns").asi8


def _first_bad(index: pd.DatetimeIndex, mask: npt.NDArray[np.bool_]) -> str:
    return pd.Timestamp(index[int(np.argmax(mask))]).isoformat()


def check_series(series: pd.Series, name: str, grid: pd.DatetimeIndex) -> FloatArray:
    """Validate ``series`` against the slot ``grid`` and return its values on that grid.

    Rejects, naming the first bad slot: a non-datetime or non-UTC index, duplicated slots,
    slots off the grid's length, missing slots and NaN or infinite values.
    """
    index = series.index
    if not isinstance(index, pd.DatetimeIndex):
        raise InvalidInput(f"{name}: index must be UTC timestamps, got {type(index).__name__}")
    if index.tz is None or str(index.tz) not in ("UTC", "utc"):
        where = index[0].isoformat() if len(index) else "(empty)"
        raise InvalidInput(
            f"{name}: index must be in UTC, got {index.tz or 'naive'} (first slot {where})"
        )
    dup = index.duplicated()
    if dup.any():
        raise InvalidInput(f"{name}: duplicated slot {_first_bad(index, dup)}")
    if not index.is_monotonic_increasing:
        order = np.diff(_ns(index)) < 0
        raise InvalidInput(f"{name}: slots out of order at {_first_bad(index[1:], order)}")
    window = series[(index >= grid[0]) & (index <= grid[-1])]
    window_index = pd.DatetimeIndex(window.index)
    step = grid.freq.nanos if grid.freq is not None else int(np.diff(_ns(grid))[0])
    off_grid = ((_ns(window_index) - grid[0].value) % step) != 0
    if off_grid.any():
        raise InvalidInput(
            f"{name}: slot {_first_bad(window_index, off_grid)} is not on the "
            f"{step // 60_000_000_000}-minute grid (wrong slot length)"
        )
    aligned = window.reindex(grid)
    missing = ~grid.isin(window.index)
    if missing.any():
        raise InvalidInput(f"{name}: missing slot {_first_bad(grid, missing)}")
    values = aligned.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise InvalidInput(f"{name}: value at slot {_first_bad(grid, bad)} is NaN or infinite")
    return values


def interval_length(series: pd.Series, name: str) -> pd.Timedelta:
    """The (single) interval length of a UTC-indexed series, from its most common spacing."""
    if len(series) < 2:
        raise InvalidInput(f"{name}: needs at least two rows to tell its interval length")
    diffs = pd.Series(np.diff(_ns(pd.DatetimeIndex(series.index))))
    return pd.Timedelta(int(diffs.mode().iloc[0]), unit="ns")


def to_slots(series: pd.Series, slot_minutes: int, kind: str, name: str) -> pd.Series:
    """Bring ``series`` to ``slot_minutes`` slots.

    ``kind="price"``: a rate, repeated when up-sampling and averaged when down-sampling.
    ``kind="energy"``: kWh per interval, split evenly when up-sampling and summed when
    down-sampling. Gaps stay gaps (NaN), so ``check_series`` can name them.
    """
    if series.empty:
        return series
    source = interval_length(series, name)
    target = pd.Timedelta(minutes=slot_minutes)
    if source == target:
        return series
    if source > target:
        if source % target:
            raise InvalidInput(
                f"{name}: {source} intervals do not split into {slot_minutes}-minute slots"
            )
        parts = int(source / target)
        starts = np.repeat(_ns(pd.DatetimeIndex(series.index)), parts) + np.tile(
            np.arange(parts) * target.value, len(series)
        )
        values = np.repeat(series.to_numpy(dtype=np.float64), parts)
        if kind == "energy":
            values = values / parts
        return pd.Series(values, index=pd.DatetimeIndex(starts, tz="UTC"), name=series.name)
    if target % source:
        raise InvalidInput(
            f"{name}: {source} intervals do not add up to {slot_minutes}-minute slots"
        )
    grouped = series.resample(target, origin="epoch")
    counts = grouped.count()
    result = grouped.sum() if kind == "energy" else grouped.mean()
    result[counts < int(target / source)] = np.nan
    return result
