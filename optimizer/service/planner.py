"""Make a plan from the store: stored prices, forecasts from stored history, the measured SOC.

Forecasts use ``optimizer.forecast.lagged_mean`` (load: same weekday and local time over the
last four weeks; PV: the last week's days at the same UTC time; a time-of-day profile or a
constant when history is short). Only history that starts before ``now`` is read, so nothing
comes from the future. Prices: the latest stored vintage per slot, from the current slot's start
as far as contiguous import prices reach (at most ``planner.horizon_hours``).
"""

from __future__ import annotations

import importlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from optimizer.config import Settings
from optimizer.domain import Timetable
from optimizer.errors import InvalidInput
from optimizer.forecast import LOAD_LAGS_DAYS, PV_LAGS_DAYS, lagged_mean
from optimizer.planning import PlanOptions, Problem, build_problem, plan_problem
from optimizer.store import Store
from optimizer.timeseries import to_slots

log = logging.getLogger(__name__)

HISTORY_DAYS = 29


def slot_start(now: datetime, slot_minutes: int) -> datetime:
    """The start (UTC) of the slot containing ``now``."""
    step = slot_minutes * 60
    return datetime.fromtimestamp(int(now.timestamp()) // step * step, tz=UTC)


def _contiguous(series: pd.Series, start: datetime, slot_minutes: int) -> pd.Series:
    """The run of slots from ``start`` without a gap (empty if ``start`` itself is missing)."""
    series = series[series.index >= pd.Timestamp(start)].dropna()
    if series.empty or series.index[0] != pd.Timestamp(start):
        return series.iloc[:0]
    expected = pd.date_range(start, periods=len(series), freq=f"{slot_minutes}min", tz="UTC")
    matches = np.asarray(series.index == expected)
    n = len(series) if matches.all() else int(np.argmin(matches))
    return series.iloc[:n]


def stored_prices(
    store: Store, settings: Settings, start: datetime
) -> tuple[pd.Series, pd.Series | None]:
    """Import and export prices (currency/kWh) on the planner's slots from ``start``."""
    minutes = settings.planner.slot_minutes
    end = start + timedelta(hours=settings.planner.horizon_hours)
    raw = store.prices(settings.tariff.import_code(), start, end)
    imports = _contiguous(to_slots(raw, minutes, "price", "import prices"), start, minutes)
    if imports.empty:
        raise InvalidInput(f"no stored import prices for the slot starting {start.isoformat()}")
    exports = None
    if settings.tariff.export_code():
        raw_export = store.prices(settings.tariff.export_code(), start, end)
        exports = to_slots(raw_export, minutes, "price", "export prices").reindex(imports.index)
        if exports.isna().any():
            log.warning("export prices missing for part of the horizon; counted as 0")
            exports = exports.fillna(0.0)
    return imports, exports


def forecasts(
    store: Store, settings: Settings, index: pd.DatetimeIndex, now: datetime
) -> tuple[pd.Series, pd.Series]:
    """Load and PV forecasts (kWh per slot) for ``index`` from history before ``now``."""
    since = now - timedelta(days=HISTORY_DAYS)
    slot_h = settings.planner.slot_minutes / 60.0
    fallback_kwh = settings.service.fallback_load_w / 1000.0 * slot_h
    load_history = store.load_series("load", since, now)
    pv_history = store.load_series("pv", since, now)
    tz = settings.planner.timezone
    load = lagged_mean(load_history, index, LOAD_LAGS_DAYS, tz, now, fallback_kwh)
    pv = lagged_mean(pv_history, index, PV_LAGS_DAYS, None, now, 0.0)
    return pd.Series(load, index=index), pd.Series(pv, index=index)


def options_for(settings: Settings, slots: int) -> PlanOptions:
    """Planner options from the settings for a horizon of ``slots``."""
    p = settings.planner
    return PlanOptions(
        slot_minutes=p.slot_minutes,
        horizon_slots=slots,
        solver=p.solver,
        terminal_soc_value=p.terminal_soc_value,
        discharge_command=settings.device.discharge_command,
        command_duration_h=1,
    )


def make_plan(store: Store, settings: Settings, now: datetime, soc_pct: float) -> Timetable:
    """A checked timetable from the current slot, starting at the measured ``soc_pct``."""
    start = slot_start(now, settings.planner.slot_minutes)
    imports, exports = stored_prices(store, settings, start)
    index = pd.DatetimeIndex(imports.index)
    load, pv = forecasts(store, settings, index, now)
    options = options_for(settings, len(index))
    soc = min(100.0, max(0.0, soc_pct))
    problem = build_problem(
        imports, exports, load, pv, settings.battery.spec(), settings.grid.spec(), soc, start,
        options,
    )  # fmt: skip
    if settings.service.strategy == "lp":
        return plan_problem(problem, options)
    return _by_strategy(settings.service.strategy, problem, options, now)


def _by_strategy(name: str, problem: Problem, options: PlanOptions, now: datetime) -> Timetable:
    """Any other strategy, found by name in the registry (imported only when needed), its
    commands played through the device model to give the planned SOC path."""
    registry: Any = importlib.import_module("optimizer.backtest.registry")
    context_type: Any = importlib.import_module("optimizer.backtest.strategy").DecisionContext
    strategy = registry.resolve(name)
    context = context_type(
        now, problem.index, problem.price_import, problem.price_export, problem.load_kwh,
        problem.pv_kwh, problem.battery.pct(problem.soc_start_kwh), problem.battery,
        problem.grid, options,
    )  # fmt: skip
    return played(problem, list(strategy.decide(context)), options, name)


def played(problem: Problem, chosen: list[Any], options: PlanOptions, name: str) -> Timetable:
    """A timetable whose slots run ``chosen`` commands (idle where none), SOC path recomputed."""
    from optimizer.planning.device import idle_command
    from optimizer.planning.timetable import no_battery_cost, played_slots

    idle = idle_command(options.command_duration_h)
    slots = played_slots(
        problem, [chosen[t] if t < len(chosen) else idle for t in range(problem.n)]
    )
    cost = sum(s.cost for s in slots)
    return Timetable(tuple(slots), f"strategy {name}", cost, no_battery_cost(problem), 0.0,
                     0.0, name, cost)  # fmt: skip
