"""Static time-of-use tariffs (Octopus Go, Economy 7, ...) and price CSV files.

Bands are in the tariff's local clock time, so a 00:30–05:30 band stays 00:30–05:30 local across
DST changes: the slot grid is built in UTC and each slot is looked up by its local time. Whether a
slot is a weekday or weekend slot is judged by its own local date (so the part of a Friday-night
band after midnight counts as Saturday).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.config import TouBand
from optimizer.csvdata import price_factor, read_series_csv
from optimizer.errors import InvalidInput, TariffError
from optimizer.tariffs.model import price_frame
from optimizer.timeseries import interval_length, require_utc

DAY_MINUTES = 24 * 60


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _band_mask(band: TouBand, minute: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    lo, hi = _minutes(band.start), _minutes(band.end) or DAY_MINUTES
    if lo < hi:
        return (minute >= lo) & (minute < hi)
    return (minute >= lo) | (minute < hi)


def _day_mask(days: str, weekend: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    if days == "weekday":
        return ~weekend
    if days == "weekend":
        return weekend
    return np.ones_like(weekend)


def static_frame(
    bands: Sequence[TouBand],
    default_per_kwh: float,
    timezone: str,
    start: datetime,
    end: datetime,
    slot_minutes: int = 30,
) -> pd.DataFrame:
    """Slots of ``slot_minutes`` over ``[start, end)`` (UTC) priced by ``bands`` (local time).

    Outside every band the price is ``default_per_kwh``; where bands overlap the later one wins.
    Prices are currency units per kWh.
    """
    step = timedelta(minutes=slot_minutes)
    grid = pd.date_range(require_utc(start), require_utc(end), freq=step, inclusive="left")
    local = grid.tz_convert(timezone)
    minute = np.asarray(local.hour * 60 + local.minute, dtype=np.int64)
    weekend = np.asarray(local.day_of_week >= 5, dtype=np.bool_)
    values = np.full(len(grid), default_per_kwh, dtype=np.float64)
    for band in bands:
        values[_band_mask(band, minute) & _day_mask(band.days, weekend)] = band.price
    return price_frame(grid, grid + step, values)


def csv_frame(path: Path | str, unit: str, start: datetime, end: datetime) -> pd.DataFrame:
    """A ``start_utc,end_utc,price`` CSV in ``unit`` → slots in ``[start, end)`` per kWh.

    The slot end is the start plus the file's (most common) interval length.
    """
    try:
        factor = price_factor(unit)
        series = read_series_csv(path)
    except InvalidInput as exc:
        raise TariffError(str(exc)) from None
    mask = (series.index >= require_utc(start)) & (series.index < require_utc(end))
    window = series[mask]
    if len(series) < 2:
        raise TariffError(f"{path}: needs at least two rows to tell its interval length")
    step = interval_length(series, str(path))
    return price_frame(window.index, window.index + step, window.to_numpy() * factor)
