"""Make a plan from the store: stored prices, forecasts from stored history, the measured SOC.

Forecasts use ``optimizer.forecast.lagged_mean`` (load: same weekday and local time over the
last four weeks; PV: the last week's days at the same UTC time; a time-of-day profile or a
constant when history is short). Only history that starts before ``now`` is read, so nothing
comes from the future. Prices: the latest stored vintage per slot, from the current slot's start
as far as contiguous import prices reach (at most ``planner.horizon_hours``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from optimizer.backtest.strategy import DecisionContext, SlotChooser, Strategy, as_chooser
from optimizer.config import Settings
from optimizer.domain import PlanSlot, Timetable
from optimizer.errors import InvalidInput
from optimizer.forecast import LOAD_LAGS_DAYS, PV_LAGS_DAYS, lagged_mean
from optimizer.planning import PlanOptions, Policy, Problem, build_problem, plan_timetable
from optimizer.planning.device import apply_command, idle_command
from optimizer.planning.gate import check_timetable
from optimizer.planning.policy import slot_row
from optimizer.planning.timetable import no_battery_cost, walked_slots
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


def _on_slots(frame: pd.DataFrame, minutes: int, name: str) -> pd.Series:
    """Stored prices (``Store.price_frame``) on the planner's slots. A single stored price has
    no neighbour to tell its interval from, so its own stored end does."""
    prices = frame["price_per_kwh"].astype(np.float64)
    if len(prices) != 1:
        return to_slots(prices, minutes, "price", name)
    first = pd.Timestamp(prices.index[0])
    slots = int((pd.Timestamp(frame["end"].iloc[0]) - first) / pd.Timedelta(minutes=minutes))
    index = pd.date_range(first, periods=max(slots, 1), freq=f"{minutes}min")
    return pd.Series(float(prices.iloc[0]), index=index)


def stored_prices(
    store: Store, settings: Settings, start: datetime
) -> tuple[pd.Series, pd.Series | None]:
    """Import and export prices (currency/kWh) on the planner's slots from ``start``."""
    minutes = settings.planner.slot_minutes
    end = start + timedelta(hours=settings.planner.horizon_hours)
    raw = store.price_frame(settings.tariff.import_code(), start, end)
    imports = _contiguous(_on_slots(raw, minutes, "import prices"), start, minutes)
    if imports.empty:
        raise InvalidInput(f"no stored import prices for the slot starting {start.isoformat()}")
    exports = None
    if settings.tariff.export_code():
        raw_export = store.price_frame(settings.tariff.export_code(), start, end)
        exports = _on_slots(raw_export, minutes, "export prices").reindex(imports.index)
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


@dataclass(frozen=True)
class Plan:
    """A plan in force: its executable timetable along the forecast (stored, shown, the drift
    band) and the chooser that picks each slot's command from the measured SOC."""

    timetable: Timetable
    chooser: SlotChooser
    problem: Problem

    def slot_index(self, start: datetime) -> int | None:
        """The plan's index of the slot starting at ``start`` (``None`` outside the plan)."""
        for k, slot in enumerate(self.timetable.slots):
            if slot.start == start:
                return k if k < len(self.chooser) else None
        return None

    def choose(self, k: int, soc_pct: float) -> PlanSlot:
        """Slot ``k``'s row as the chooser decides it from ``soc_pct`` measured at its start
        (the same call the backtest makes with its simulated SOC)."""
        p = self.problem
        soc_kwh = p.battery.kwh(min(100.0, max(0.0, soc_pct)))
        command = self.chooser.command_at(k, soc_kwh)
        outcome = apply_command(
            command, soc_kwh, float(p.load_kwh[k]), float(p.pv_kwh[k]), p.dt_h, p.battery, p.grid
        )
        return slot_row(p, k, soc_kwh, command, outcome)


def make_plan(
    store: Store, settings: Settings, now: datetime, soc_pct: float, strategy: Strategy
) -> Plan:
    """A plan from the current slot, starting at the measured ``soc_pct``, by ``strategy``."""
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
    context = DecisionContext(
        now, problem.index, problem.price_import, problem.price_export, problem.load_kwh,
        problem.pv_kwh, soc, problem.battery, problem.grid, options,
    )  # fmt: skip
    chooser = as_chooser(strategy.decide(context))
    if isinstance(chooser, Policy):
        return Plan(plan_timetable(chooser), chooser, problem)
    return Plan(walked(problem, chooser, strategy.name), chooser, problem)


def walked(problem: Problem, chooser: SlotChooser, name: str) -> Timetable:
    """The timetable ``chooser`` gives along the forecast from the start SOC (idle past its
    end), SOC path from the device model, through the acceptance gate."""
    idle = idle_command()
    slots = walked_slots(
        problem, lambda k, soc: chooser.command_at(k, soc) if k < len(chooser) else idle
    )
    check_timetable(slots, problem)
    cost = sum(s.cost for s in slots)
    return Timetable(tuple(slots), f"strategy {name}", cost, no_battery_cost(problem), 0.0,
                     0.0, name, cost)  # fmt: skip
