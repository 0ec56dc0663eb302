"""What the views show about the PV forecast: today's and tomorrow's total, and its recent error.

* ``pv_days``: the PV forecast for the whole of today and of tomorrow (local days of
  ``planner.timezone``, 23 or 25 hours at a clock change), kWh, as the next plan would use it
  at ``now`` (``pvforecast.planned_pv``: the latest stored weather vintage per slot, the
  history forecast where none covers).
* ``pv_error``: over the last ``ERROR_WINDOW`` of slots the device measured, the forecast the
  plans used (per slot the newest plan holding it, ``plan_slots.pv_kwh``) against the PV the
  device measured (its metrics' ``photovoltaicProduction``, stored as ``pv`` energy): mean
  absolute error and bias (forecast − measured, + = too high), kWh per slot, every slot counted
  (night slots too).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from optimizer.config import Settings
from optimizer.forecast.lagged import lagged_mean
from optimizer.integrations.snapshot import PvError
from optimizer.service.planner import roof_calibration
from optimizer.service.pvforecast import planned_pv
from optimizer.store import Store
from optimizer.timeseries import local_day_bounds

ERROR_WINDOW = timedelta(hours=24)
PLAN_LOOKBACK = timedelta(days=3)  # plans made earlier never hold a slot of the window


def pv_days(store: Store, settings: Settings, now: datetime) -> tuple[float, float]:
    """kWh of PV forecast for today and tomorrow (local days), as planned at ``now``."""
    minutes = settings.planner.slot_minutes
    today = now.astimezone(ZoneInfo(settings.planner.timezone)).date()
    start, _ = local_day_bounds(today, settings.planner.timezone)
    _, end = local_day_bounds(today + timedelta(days=1), settings.planner.timezone)
    index = pd.date_range(start, end, freq=f"{minutes}min", inclusive="left", tz="UTC")
    lags = settings.forecast.pv_lag_days
    history = store.load_series("pv", start - timedelta(days=max(lags) + 1), now)
    fallback = lagged_mean(history, index, lags, None, now, 0.0)
    calibration = roof_calibration(store, settings, now)
    pv = planned_pv(store, settings.pv.forecast, index, minutes, now, fallback, calibration)
    midnight = pd.Timestamp(local_day_bounds(today, settings.planner.timezone)[1])
    first_day = np.asarray(index < midnight)
    return float(pv.kwh[first_day].sum()), float(pv.kwh[~first_day].sum())


def pv_error(store: Store, now: datetime) -> PvError | None:
    """The plans' PV forecast against the PV measured over the last ``ERROR_WINDOW`` (kWh per
    slot); ``None`` until some slot has both."""
    start = now - ERROR_WINDOW
    planned = store.planned_series("pv_kwh", start, now, start - PLAN_LOOKBACK)
    measured = store.load_series("pv", start, now)
    both = pd.concat([planned.rename("planned"), measured.rename("measured")], axis=1).dropna()
    if both.empty:
        return None
    diff = (both["planned"] - both["measured"]).to_numpy(np.float64)
    return PvError(float(np.abs(diff).mean()), float(diff.mean()), len(diff))
