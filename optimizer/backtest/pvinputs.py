"""``backtest --pv-forecast``: the PV forecast each decision had, from an archive of vintages.

At decision slot ``t`` every slot of the window gets the energy of the latest vintage issued at
or before the decision time that covers it (``optimizer.forecast.vintages.PvVintages``, the rule
the service uses too) and the history forecast (lagged, ``BacktestInputs.pv_forecast_kwh``)
where none does. With ``calibrate`` the vintage values are corrected by the roof's calibration
(``optimizer.forecast.pvcalibrate``) fitted on the pairs (freshest vintage for a slot, measured
PV) that ended before the decision's local day began. With ``inday`` the forecast ahead is
scaled by how the PV measured over the last hours compared with its forecast
(``pvcalibrate.InDay``). With ``hedge`` the archive's P10/P90
become PV scenarios for the plan (P10, the forecast and P90 weighted 0.25/0.5/0.25).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from optimizer.backtest.data import BacktestInputs
from optimizer.errors import InvalidInput
from optimizer.forecast.pvcalibrate import Calibration, CalibrationParams, InDay
from optimizer.forecast.vintages import PvVintages
from optimizer.timeseries import FloatArray

#: probabilities of the P10, the forecast and the P90 as three PV paths (a three-point
#: discretisation of the spread: the middle half on the forecast, a quarter on each side)
HEDGE_WEIGHTS = np.array([0.25, 0.5, 0.25])


def freshest(vintages: PvVintages, column: str = "kwh") -> FloatArray:
    """Each slot's kWh from the latest vintage issued at or before the slot's start (NaN where
    none covers it): the forecast a slot had just before it happened."""
    starts = vintages.index.as_unit("ns").asi8
    pick = (vintages.issued_ns <= starts[:, None]).sum(axis=1) - 1
    rows = np.arange(len(starts))
    out = np.array(vintages.values[column][rows, np.maximum(pick, 0)])
    out[pick < 0] = np.nan
    return out


class _DailyCalibration:
    """The calibration fitted on the pairs that ended before each local day began (cached)."""

    def __init__(self, inputs: BacktestInputs, forecast: FloatArray, timezone: str) -> None:
        self.index = inputs.index.as_unit("ns")
        self.forecast, self.measured = forecast, inputs.pv_kwh
        self.ok = np.isfinite(forecast) & np.isfinite(inputs.pv_kwh)
        self.ends = self.index.asi8 + inputs.slot_minutes * 60 * 10**9
        self.days = self.index.tz_convert(timezone).normalize()
        self.slot_minutes = float(inputs.slot_minutes)
        self.params = CalibrationParams()
        self.cache: dict[pd.Timestamp, Calibration] = {}

    def at(self, t: int) -> Calibration:
        day = self.days[t]
        if day not in self.cache:
            start = day.tz_convert("UTC").as_unit("ns").value
            past = self.ok & (self.ends <= start)
            past &= self.ends > start - (self.params.window_days + 1) * 86400 * 10**9
            self.cache[day] = Calibration.from_arrays(
                self.index[past],
                np.maximum(self.forecast[past], 0.0),
                np.maximum(self.measured[past], 0.0),
                self.slot_minutes,
                self.params,
            )
        return self.cache[day]


def with_pv_archive(
    inputs: BacktestInputs,
    archive: pd.DataFrame,
    calibrate: bool = False,
    hedge: bool = False,
    timezone: str = "UTC",
    name: str = "--pv-forecast",
    inday: InDay | None = None,
) -> BacktestInputs:
    """``inputs`` whose decisions read the PV forecast from ``archive`` (the frame of
    ``optimizer.csvdata.read_vintages_csv``).

    Raises ``InvalidInput`` when the archive covers no slot of the period, or when ``hedge``
    is asked of an archive without ``kwh_p10``/``kwh_p90``.
    """
    vintages = PvVintages.from_frame(archive, inputs.index, inputs.slot_minutes)
    covered = (vintages.issued_ns < np.iinfo(np.int64).max).any(axis=1)
    if not covered.any():
        first, last = archive["start_utc"].min(), archive["end_utc"].max()
        raise InvalidInput(
            f"{name}: the archive ({first:%Y-%m-%dT%H:%MZ} → {last:%Y-%m-%dT%H:%MZ}) covers no "
            f"slot of the backtest ({inputs.index[0]:%Y-%m-%dT%H:%MZ} → "
            f"{inputs.index[-1]:%Y-%m-%dT%H:%MZ})"
        )
    if hedge and not all(c in vintages.values for c in ("kwh_p10", "kwh_p90")):
        raise InvalidInput(f"{name}: hedging needs the columns kwh_p10 and kwh_p90")
    fresh = freshest(vintages)
    daily = _DailyCalibration(inputs, fresh, timezone) if calibrate else None
    history = inputs.pv_forecast_kwh
    said = np.where(np.isnan(fresh), history, fresh)  # what the slots were forecast to make

    def column(t: int, stop: int, name: str) -> FloatArray:
        values = vintages.at(inputs.index[t].to_pydatetime(), t, stop, column=name)
        if daily is not None:
            values = daily.at(t).apply_array(inputs.index[t:stop], values)
        values = np.where(np.isnan(values), history[t:stop], values)
        if inday is not None:
            values = values * inday.factors(inputs.pv_kwh, said, t, stop, inputs.slot_minutes)
        return values

    def at(t: int, stop: int) -> FloatArray:
        return column(t, stop, "kwh")

    scenarios: Callable[[int, int], tuple[FloatArray, FloatArray]] | None = None
    if hedge:

        def scenarios(t: int, stop: int) -> tuple[FloatArray, FloatArray]:
            paths = np.stack([column(t, stop, c) for c in ("kwh_p10", "kwh", "kwh_p90")])
            return paths, HEDGE_WEIGHTS

    return replace(inputs, pv_forecast_at=at, pv_scenarios_at=scenarios)
