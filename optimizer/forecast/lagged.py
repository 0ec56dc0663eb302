"""Load and PV forecasts built from the past only.

A forecast for slot ``t`` is the mean of the history at the same local clock time ``k`` days
earlier, over a list of lags (load: the same weekday over the last four weeks; PV: the last
week's days at the same UTC time, since the sun keeps UTC rather than clock time). Where none
of the lagged values exists (history too short, or a gap), a fallback profile is used: the mean
by local time of day of all history before ``fallback_before``, or a constant if there is none.

Because every lag is at least ``min(lags_days)`` days (less one hour across a DST change), a
forecast for a slot less than that far ahead of the decision time reads only the past; the
backtester checks its horizon against ``shortest_lag_hours``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from optimizer.errors import InvalidInput
from optimizer.timeseries import FloatArray

LOAD_LAGS_DAYS: tuple[int, ...] = (7, 14, 21, 28)
PV_LAGS_DAYS: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8)


def shortest_lag_hours(lags_days: Sequence[int], timezone: str | None) -> float:
    """The shortest look-back (hours) of a lag set; a local-time lag loses an hour at DST."""
    if not lags_days or min(lags_days) < 1:
        raise InvalidInput(f"forecast lags {list(lags_days)}: need at least one lag of >= 1 day")
    return min(lags_days) * 24.0 - (1.0 if timezone else 0.0)


def _shifted(targets: pd.DatetimeIndex, days: int, timezone: str | None) -> pd.DatetimeIndex:
    """``targets`` moved ``days`` back, keeping the local clock time when ``timezone`` is set.

    Local times that do not exist or are ambiguous on the earlier day become NaT (skipped).
    """
    if timezone is None:
        return targets - pd.Timedelta(days=days)
    local = targets.tz_convert(timezone).tz_localize(None) - pd.Timedelta(days=days)
    back = local.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    return back.tz_convert("UTC")


def _profile(history: pd.Series, before: datetime, timezone: str | None) -> pd.Series:
    """Mean by local time of day (minutes after midnight) of the history before ``before``."""
    past = history[history.index < pd.Timestamp(before)].dropna()
    index = pd.DatetimeIndex(past.index)
    local = index.tz_convert(timezone) if timezone else index
    minutes = local.hour * 60 + local.minute
    return past.groupby(np.asarray(minutes)).mean()


def lagged_mean(
    history: pd.Series,
    targets: pd.DatetimeIndex,
    lags_days: Sequence[int],
    timezone: str | None,
    fallback_before: datetime,
    fallback_kwh: float = 0.0,
) -> FloatArray:
    """Forecast (kWh per slot) for each of ``targets`` from ``history`` (UTC-indexed kWh).

    ``timezone`` keeps lags on the local clock (for household load); ``None`` uses plain UTC
    days (for PV). Slots with no lagged value take the fallback profile, then ``fallback_kwh``.
    """
    shortest_lag_hours(lags_days, timezone)
    stacked = np.full((len(lags_days), len(targets)), np.nan)
    for row, days in enumerate(lags_days):
        stacked[row] = history.reindex(_shifted(targets, days, timezone)).to_numpy(np.float64)
    counts = np.sum(np.isfinite(stacked), axis=0)
    sums = np.nansum(stacked, axis=0)
    forecast = np.divide(sums, counts, out=np.full(len(targets), np.nan), where=counts > 0)
    missing = ~np.isfinite(forecast)
    if missing.any():
        profile = _profile(history, fallback_before, timezone)
        local = targets.tz_convert(timezone) if timezone else targets
        minutes = np.asarray(local.hour * 60 + local.minute)
        filler = profile.reindex(minutes[missing]).to_numpy(np.float64)
        forecast[missing] = np.where(np.isfinite(filler), filler, fallback_kwh)
    return np.asarray(forecast, dtype=np.float64)
