"""Learn the roof in the service: the weather forecast calibrated on the PV the device measured.

Each plan records, for the slots starting within the next hour, the **raw** weather forecast it
planned on (energy kind ``pv_forecast``, upserted, so the last plan before a slot wins: the
forecast a slot had just before it happened, as the backtest's ``--pv-calibrate`` reads it).
Once per local day ``RoofCalibration`` fits ``optimizer.forecast.pvcalibrate.Calibration`` on
those raw values against the measured PV (kind ``pv``, from the device's metrics) over the
calibration window, on the past only; the plans of that day apply it. With too little data the
fit is the identity (its shrinkage), so a new installation plans on the raw forecast.

Control never depends on it: a store that cannot be read or written costs the calibration (the
raw forecast is planned on, said once), never a plan.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from optimizer.errors import StoreError
from optimizer.forecast.pvcalibrate import Calibration, CalibrationParams
from optimizer.store import Store
from optimizer.timeseries import FloatArray, local_day_bounds

log = logging.getLogger(__name__)

#: The energy kind holding the raw weather forecast each slot was last planned on (kWh).
RAW_KIND = "pv_forecast"
#: Slots starting this far ahead of a plan get their raw forecast recorded by it.
RECORD_AHEAD = timedelta(hours=1)


def record_raw(store: Store, index: pd.DatetimeIndex, raw: FloatArray, now: datetime) -> None:
    """Store the raw weather kWh of the slots of ``index`` that start before ``now`` +
    ``RECORD_AHEAD`` (NaN slots, which history filled, are skipped). A store failure is logged
    and dropped: it costs a calibration pair, never the plan."""
    slot = index[1] - index[0] if len(index) > 1 else pd.Timedelta(minutes=30)
    near = np.asarray(index < pd.Timestamp(now + RECORD_AHEAD)) & np.isfinite(raw)
    if not near.any():
        return
    starts = index[near]
    frame = pd.DataFrame({"end": starts + slot, "kwh": raw[near]}, index=starts)
    try:
        store.save_series(RAW_KIND, frame, "plan", replace=True)
    except StoreError as exc:
        log.warning("PV calibration: the raw forecast could not be stored (%s)", exc)


class RoofCalibration:
    """The calibration the plans of one local day apply, fitted once that day (cached)."""

    def __init__(self, timezone: str, params: CalibrationParams | None = None) -> None:
        self.timezone = timezone
        self.params = params or CalibrationParams()
        self._day: date | None = None
        self._fitted: Calibration | None = None

    def at(self, store: Store, now: datetime) -> Calibration:
        """The day's calibration: fitted on the pairs that ended before the local day of
        ``now`` began (identity when the store cannot be read or holds too few pairs)."""
        day = now.astimezone(ZoneInfo(self.timezone)).date()
        if self._fitted is None or day != self._day:
            self._fitted = self._fit(store, local_day_bounds(day, self.timezone)[0])
            self._day = day
        return self._fitted

    def _fit(self, store: Store, before: datetime) -> Calibration:
        since = before - timedelta(days=self.params.window_days)
        try:
            raw = store.load_series(RAW_KIND, since, before)
            measured = store.load_series("pv", since, before)
        except StoreError as exc:
            log.warning("PV calibration: history unreadable (%s); raw forecast today", exc)
            return Calibration.identity(self.params)
        if raw.empty:
            return Calibration.identity(self.params)
        fitted = Calibration.fit(raw, measured, self.params)
        log.info(
            "PV calibration: fitted on %d daylight slots before %s (factor by hour %.2f-%.2f)",
            fitted.pairs, before.isoformat(), float(fitted.hour_factor.min()),
            float(fitted.hour_factor.max()),
        )  # fmt: skip
        return fitted
