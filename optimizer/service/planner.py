"""Make a plan from the store: stored prices, forecasts from stored history, the measured SOC.

Load is forecast by the configured method (``[forecast] load_method``,
``optimizer.forecast.load``: the code the backtest calls at each of its decisions) and, with
``forecast.hedge_scenarios``, its load scenarios; PV from the stored weather forecasts as issued
(``[pv] forecast``; ``optimizer.service.pvforecast``) and, where none covers a slot, by
``optimizer.forecast.lagged`` (the last week's days at the same UTC time). A time-of-day profile
or a constant fills slots without history. Only slots before the current one are read, so
nothing comes from the future. Prices: the latest stored vintage per slot, from the current
slot's start as far as contiguous import prices reach (at most ``planner.horizon_hours``).
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from optimizer.backtest.strategy import DecisionContext, SlotChooser, Strategy, as_chooser
from optimizer.config import Settings
from optimizer.domain import BatterySpec, PlanSlot, Timetable
from optimizer.errors import InvalidInput
from optimizer.forecast.grid import series_from
from optimizer.forecast.lagged import lagged_mean
from optimizer.forecast.load import load_forecaster
from optimizer.forecast.pvcalibrate import Calibration
from optimizer.planning import PlanOptions, Policy, Problem, build_problem, plan_timetable
from optimizer.planning.device import apply_command, idle_command
from optimizer.planning.gate import check_timetable
from optimizer.planning.guard import guarded
from optimizer.planning.policy import slot_row
from optimizer.planning.timetable import no_battery_cost, walked_slots
from optimizer.service.pvforecast import PlannedPv, planned_pv
from optimizer.service.roof import RoofCalibration
from optimizer.store import Store
from optimizer.timeseries import FloatArray, to_slots

log = logging.getLogger(__name__)


def history_days(settings: Settings) -> int:
    """Days of stored load history the configured forecasts read (and their profile)."""
    f = settings.forecast
    return max(29, max(f.load_lag_days) + 2, f.recent_days + 3, max(f.pv_lag_days) + 1)


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


@dataclass(frozen=True)
class Forecasts:
    """Load and PV (kWh per slot on the plan's index) and, when the plan hedges, the load
    scenarios and their probabilities; ``pv_planned``: where each slot's PV came from."""

    load: pd.Series
    pv: pd.Series
    load_scenarios: tuple[FloatArray, FloatArray] | None = None
    pv_planned: PlannedPv | None = None


#: Each store's roof calibration (weakly held: it goes with its store, never reused by another).
_ROOFS: weakref.WeakKeyDictionary[Store, RoofCalibration] = weakref.WeakKeyDictionary()


def roof_calibration(store: Store, settings: Settings, now: datetime) -> Calibration | None:
    """Today's calibration of the weather forecast to the roof (``None`` with ``pv.calibrate
    = false`` or the history forecast); fitted once a local day per store (cached)."""
    if not settings.pv.calibrate or settings.pv.forecast == "history":
        return None
    roof = _ROOFS.get(store)
    if roof is None or roof.timezone != settings.planner.timezone:
        roof = _ROOFS[store] = RoofCalibration(settings.planner.timezone)
    return roof.at(store, now)


def forecasts(
    store: Store, settings: Settings, index: pd.DatetimeIndex, now: datetime
) -> Forecasts:
    """Forecasts for ``index`` (its first slot holds ``now``) from the history of the slots
    before ``index[0]``."""
    minutes = settings.planner.slot_minutes
    first = index[0].to_pydatetime()
    since = first - timedelta(days=history_days(settings))
    fallback_kwh = settings.service.fallback_load_w / 1000.0 * minutes / 60.0
    load_history = store.load_series("load", since, first)
    pv_history = store.load_series("pv", since, first)
    end = index[-1].to_pydatetime() + timedelta(minutes=minutes)
    grid = series_from(load_history, since, end, minutes, settings.planner.timezone)
    forecaster = load_forecaster(settings.forecast, fallback_kwh)
    at = grid.position(first)
    targets = np.arange(at, at + len(index), dtype=np.int64)
    load = forecaster(grid, at, targets)
    groups = settings.forecast.hedge_scenarios
    scenarios = forecaster.scenarios(grid, at, targets, groups) if groups >= 2 else None
    history_pv = lagged_mean(pv_history, index, settings.forecast.pv_lag_days, None, first, 0.0)
    calibration = roof_calibration(store, settings, now)
    pv = planned_pv(store, settings.pv.forecast, index, minutes, now, history_pv, calibration)
    return Forecasts(pd.Series(load, index=index), pd.Series(pv.kwh, index=index), scenarios, pv)


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
    pv: PlannedPv | None = None

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
    store: Store,
    settings: Settings,
    now: datetime,
    soc_pct: float,
    strategy: Strategy,
    battery: BatterySpec | None = None,
) -> Plan:
    """A plan from the current slot, starting at the measured ``soc_pct``, by ``strategy``;
    ``battery`` (default: ``settings.battery``) carries the device's measured backup level."""
    start = slot_start(now, settings.planner.slot_minutes)
    imports, exports = stored_prices(store, settings, start)
    index = pd.DatetimeIndex(imports.index)
    made = forecasts(store, settings, index, now)
    options = options_for(settings, len(index))
    soc = min(100.0, max(0.0, soc_pct))
    if battery is None:
        battery = guarded(settings.battery.spec(), settings.service.poll_seconds)
    problem = build_problem(
        imports, exports, made.load, made.pv, battery, settings.grid.spec(), soc,
        start, options,
    )  # fmt: skip
    context = DecisionContext(
        now, problem.index, problem.price_import, problem.price_export, problem.load_kwh,
        problem.pv_kwh, soc, problem.battery, problem.grid, options, made.load_scenarios,
    )  # fmt: skip
    chooser = as_chooser(strategy.decide(context))
    if isinstance(chooser, Policy):
        return Plan(plan_timetable(chooser), chooser, problem, made.pv_planned)
    return Plan(walked(problem, chooser, strategy.name), chooser, problem, made.pv_planned)


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
