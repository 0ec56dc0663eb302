"""The backtester's inputs on one slot grid, when prices become known, and the gaps.

Missing prices, load or PV are never filled: a slot missing any of them is a gap, the replay is
split into contiguous segments around it and the gap is reported. Forecasts are built once for
the whole grid from lagged history (see ``optimizer.forecast``), which is honest as long as the
planning horizon is shorter than the shortest lag; ``check_horizon`` enforces that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.errors import InvalidInput
from optimizer.forecast.grid import series_from
from optimizer.forecast.lagged import LOAD_LAGS_DAYS, PV_LAGS_DAYS, lagged_mean, shortest_lag_hours
from optimizer.forecast.load import LoadForecaster, LoadForecastTable
from optimizer.timeseries import FloatArray, require_utc, slot_index


@dataclass(frozen=True, slots=True)
class PublicationRule:
    """Day-ahead prices for ``[day_start, day_start + 1 day)`` appear at ``publish_time``.

    Times are local clock times in ``timezone``. Agile: 16:00 UK for 23:00 → 23:00 UK; an EU
    day-ahead market: about 13:00 CET for the next midnight-to-midnight day.
    ``all_known=True`` makes every price known at once (perfect price foresight).
    """

    publish_time: time = time(16, 0)
    day_start: time = time(23, 0)
    timezone: str = "Europe/London"
    all_known: bool = False

    def known_until(self, now: datetime) -> datetime | None:
        """UTC end of the last price slot published at or before ``now`` (``None``: all)."""
        if self.all_known:
            return None
        zone = ZoneInfo(self.timezone)
        local = require_utc(now, "decision time").astimezone(zone)
        published_on = local.date()
        if local.time().replace(tzinfo=None) < self.publish_time:
            published_on -= timedelta(days=1)
        first_day = published_on + timedelta(days=1 if self.day_start <= self.publish_time else 0)
        end = datetime.combine(first_day + timedelta(days=1), self.day_start, zone)
        return end.astimezone(require_utc(now).tzinfo)


@dataclass(frozen=True, slots=True)
class Gap:
    """Slots ``[start, end)`` (UTC) left out of the replay, and which inputs were missing."""

    start: datetime
    end: datetime
    slots: int
    missing: str


@dataclass(frozen=True, slots=True)
class BacktestInputs:
    """Actual prices (per kWh), load and PV (kWh per slot) and their forecasts, NaN = missing."""

    index: pd.DatetimeIndex
    slot_minutes: int
    price_import: FloatArray
    price_export: FloatArray
    load_kwh: FloatArray
    pv_kwh: FloatArray
    load_forecast_kwh: FloatArray
    pv_forecast_kwh: FloatArray
    #: The load forecast made at decision slot ``t`` for slots ``[t, end)`` from the history
    #: before ``t`` only; ``None``: ``load_forecast_kwh`` (lagged, made once) is used.
    load_forecast_at: Callable[[int, int], FloatArray] | None = None
    #: The load scenarios and their probabilities made at ``t`` for ``[t, end)`` (a plan
    #: that hedges); ``None``: plans stand on the forecast alone.
    load_scenarios_at: Callable[[int, int], tuple[FloatArray, FloatArray]] | None = None
    #: The PV forecast as known at decision slot ``t`` for slots ``[t, end)`` (an archive of
    #: issued forecasts, ``optimizer.backtest.pvinputs``); ``None``: ``pv_forecast_kwh``.
    pv_forecast_at: Callable[[int, int], FloatArray] | None = None
    #: PV scenarios (paths × slots, kWh) and their probabilities made at ``t`` (plans that
    #: hedge over the archive's quantiles); ``None``: plans stand on the PV forecast alone.
    pv_scenarios_at: Callable[[int, int], tuple[FloatArray, FloatArray]] | None = None

    @property
    def dt_h(self) -> float:
        """Slot length in hours."""
        return self.slot_minutes / 60.0

    def valid(self) -> npt.NDArray[np.bool_]:
        """Slots where every input is present."""
        arrays = (self.price_import, self.price_export, self.load_kwh, self.pv_kwh)
        return np.asarray(np.logical_and.reduce([np.isfinite(a) for a in arrays]), dtype=bool)

    def segments(self) -> list[tuple[int, int]]:
        """``[a, b)`` index ranges of consecutive valid slots."""
        flags = np.concatenate(([False], self.valid(), [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(flags))
        return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]

    def gaps(self) -> list[Gap]:
        """The runs of slots left out, each with the names of the missing inputs."""
        names = ("import price", "export price", "load", "PV")
        arrays = (self.price_import, self.price_export, self.load_kwh, self.pv_kwh)
        flags = np.concatenate(([False], ~self.valid(), [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(flags))
        step = pd.Timedelta(minutes=self.slot_minutes)
        found = []
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            missing = [n for n, arr in zip(names, arrays, strict=True) if np.isnan(arr[a:b]).any()]
            start = self.index[a].to_pydatetime()
            end = (self.index[b - 1] + step).to_pydatetime()
            found.append(Gap(start, end, int(b - a), ", ".join(missing)))
        return found


def _on_grid(series: pd.Series | None, name: str, grid: pd.DatetimeIndex) -> FloatArray:
    """``series`` values on ``grid`` (NaN where absent); rejects bad indexes and values."""
    if series is None:
        return np.zeros(len(grid))
    index = series.index
    if not isinstance(index, pd.DatetimeIndex) or str(index.tz) not in ("UTC", "utc"):
        raise InvalidInput(f"{name}: index must be UTC timestamps")
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise InvalidInput(f"{name}: duplicated slot {dup.isoformat()}")
    inside = series[(index >= grid[0]) & (index <= grid[-1])]
    off = ~pd.DatetimeIndex(inside.index).isin(grid)
    if off.any():
        raise InvalidInput(
            f"{name}: slot {inside.index[int(np.argmax(off))].isoformat()} is off "
            f"the {grid.freqstr} grid (wrong slot length or alignment)"
        )
    values = inside.reindex(grid).to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        raise InvalidInput(
            f"{name}: infinite value at slot {grid[int(np.argmax(np.isinf(values)))]}"
        )
    return values


def _non_negative(values: FloatArray, name: str, grid: pd.DatetimeIndex) -> FloatArray:
    negative = np.nan_to_num(values, nan=0.0) < 0
    if negative.any():
        slot = grid[int(np.argmax(negative))].isoformat()
        raise InvalidInput(f"{name}: negative energy {values[negative][0]} kWh at slot {slot}")
    return values


@dataclass(frozen=True, slots=True)
class SeriesSet:
    """The raw inputs, each a UTC-indexed series on the slot grid, named for error messages."""

    price_import: pd.Series
    load_kwh: pd.Series
    price_export: pd.Series | None = None
    pv_kwh: pd.Series | None = None
    names: Sequence[str] = ("import prices", "load", "export prices", "PV")
    price_unit: str = "GBP/kWh"


def prepare_inputs(
    series: SeriesSet,
    start: datetime,
    end: datetime,
    slot_minutes: int,
    timezone: str = "Europe/London",
    lags: tuple[Sequence[int], Sequence[int]] = (LOAD_LAGS_DAYS, PV_LAGS_DAYS),
    fallback_load_kwh: float = 0.0,
    load_forecaster: LoadForecaster | None = None,
    hedge_scenarios: int = 0,
) -> BacktestInputs:
    """Align every input to the slot grid ``[start, end)`` and build the forecasts.

    Load and PV history before ``start`` feeds the forecasts (and their fallback profile).
    With ``load_forecaster`` the load forecast is made at each decision time instead (the
    service's way), from the load history before it; ``timezone`` is the household's clock.
    ``hedge_scenarios`` (with a forecaster) also makes that many load scenarios per decision.
    """
    start, end = require_utc(start, "--from"), require_utc(end, "--to")
    periods = int((end - start) / timedelta(minutes=slot_minutes))
    if periods < 1:
        raise InvalidInput(f"period {start.isoformat()} → {end.isoformat()} holds no slot")
    grid = slot_index(start, periods, slot_minutes)
    imp_name, load_name, exp_name, pv_name = series.names
    load = _non_negative(_on_grid(series.load_kwh, load_name, grid), load_name, grid)
    pv = _non_negative(_on_grid(series.pv_kwh, pv_name, grid), pv_name, grid)
    pv_history = series.pv_kwh if series.pv_kwh is not None else pd.Series(dtype=np.float64)
    forecast_at = scenarios_at = None
    if load_forecaster is not None:
        forecast_at, scenarios_at = _forecast_at(
            load_forecaster, series.load_kwh, (start, end), slot_minutes, timezone,
            hedge_scenarios,
        )  # fmt: skip
    return BacktestInputs(
        index=grid,
        slot_minutes=slot_minutes,
        price_import=_on_grid(series.price_import, imp_name, grid),
        price_export=_on_grid(series.price_export, exp_name, grid),
        load_kwh=load,
        pv_kwh=pv,
        load_forecast_kwh=lagged_mean(
            series.load_kwh, grid, lags[0], timezone, start, fallback_load_kwh
        ),
        pv_forecast_kwh=lagged_mean(pv_history, grid, lags[1], None, start, 0.0)
        if series.pv_kwh is not None
        else np.zeros(len(grid)),
        load_forecast_at=forecast_at,
        load_scenarios_at=scenarios_at if hedge_scenarios >= 2 else None,
    )


def _forecast_at(
    forecaster: LoadForecaster,
    history: pd.Series,
    period: tuple[datetime, datetime],
    slot_minutes: int,
    timezone: str,
    groups: int = 0,
) -> tuple[Callable[[int, int], FloatArray], Callable[[int, int], tuple[FloatArray, FloatArray]]]:
    """``(t, end) -> forecast`` and ``(t, end) -> (scenarios, weights)`` on the backtest's
    grid, over the whole load history (``groups`` scenarios)."""
    start, end = period
    first = min(start, pd.Timestamp(history.index[0]).to_pydatetime()) if len(history) else start
    step = timedelta(minutes=slot_minutes)
    first = start - (start - first) // step * step  # on the backtest's grid
    grid = series_from(history, first, end, slot_minutes, timezone)
    offset = grid.position(start)
    table = LoadForecastTable(forecaster, grid)  # the same forecasts, made once for the grid

    def at(t: int, stop: int) -> FloatArray:
        return table.ahead(offset + t, offset + stop)

    def scenarios(t: int, stop: int) -> tuple[FloatArray, FloatArray]:
        targets = np.arange(offset + t, offset + stop, dtype=np.int64)
        return forecaster.scenarios(grid, offset + t, targets, groups)

    return at, scenarios


def check_horizon(horizon_hours: float, pv_lags: Sequence[int]) -> None:
    """Refuse a horizon that would let the lagged PV forecast read data after the decision
    time (the load forecast is made at each decision from the past only)."""
    shortest = shortest_lag_hours(pv_lags, None)
    if horizon_hours > shortest:
        raise InvalidInput(
            f"planner horizon {horizon_hours:g} h is longer than the shortest PV forecast lag "
            f"({shortest:g} h): the forecast would see the future; shorten the horizon"
        )
