"""Check and align the planner's inputs into one arrays-only problem.

Everything here is pure. Series are UTC-indexed by slot start; the problem's arrays hold energy
per slot (kWh) and prices per kWh (currency units).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

from optimizer.domain import BatterySpec, GridSpec
from optimizer.errors import InvalidInput
from optimizer.timeseries import FloatArray, check_series, require_utc, slot_index

TerminalValue = float | Literal["auto", "none"]


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """How to plan: slot length, horizon, solver, end-of-horizon value, discharge wire form."""

    slot_minutes: int = 30
    horizon_slots: int | None = None
    solver: Literal["highs", "cbc", "dp"] = "dp"
    terminal_soc_value: TerminalValue = "auto"
    discharge_command: Literal["SET_CHARGE", "SET_DISCHARGE"] = "SET_CHARGE"
    command_duration_h: int = 1


@dataclass(frozen=True)
class Problem:
    """Aligned, checked planner inputs (arrays of one length, one per slot)."""

    index: pd.DatetimeIndex
    dt_h: float
    price_import: FloatArray
    price_export: FloatArray
    load_kwh: FloatArray
    pv_kwh: FloatArray
    soc_start_kwh: float
    battery: BatterySpec
    grid: GridSpec

    @property
    def n(self) -> int:
        """Number of slots."""
        return len(self.index)

    @cached_property
    def starts(self) -> list[datetime]:
        """Slot starts as aware UTC ``datetime`` objects."""
        return [moment.to_pydatetime() for moment in self.index]

    @cached_property
    def net_kwh(self) -> FloatArray:
        """Net load per slot, ``load_kwh - pv_kwh`` (kWh; negative: PV surplus)."""
        return self.load_kwh - self.pv_kwh


def _horizon(prices: pd.Series, start: datetime, options: PlanOptions) -> int:
    """Slots to plan: the requested horizon, or as far as import prices reach from ``start``."""
    if options.horizon_slots is not None:
        if options.horizon_slots < 1:
            raise InvalidInput(f"horizon must be at least one slot, got {options.horizon_slots}")
        return options.horizon_slots
    index = prices.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        return 0  # check_series names the problem
    ahead = index[index >= pd.Timestamp(start)]
    if not len(ahead):
        raise InvalidInput(f"import prices: no slot at or after start {start.isoformat()}")
    span_h = (ahead[-1] - pd.Timestamp(start)).total_seconds() / 3600 + options.slot_minutes / 60
    return max(1, math.floor(span_h * 60 / options.slot_minutes + 1e-9))


def _check_specs(battery: BatterySpec, grid: GridSpec, soc_pct: float) -> None:
    if not 0.0 <= soc_pct <= 100.0 or not math.isfinite(soc_pct):
        raise InvalidInput(f"current SOC {soc_pct} %: must be between 0 and 100")
    if not 0.0 <= battery.min_soc_pct <= battery.max_soc_pct <= 100.0:
        raise InvalidInput(
            f"battery SOC window {battery.min_soc_pct}..{battery.max_soc_pct} %: "
            "need 0 <= min <= max <= 100"
        )
    for name in ("charge_efficiency", "discharge_efficiency"):
        value = getattr(battery, name)
        if not 0.0 < value <= 1.0:
            raise InvalidInput(f"battery.{name} = {value}: must be in (0, 1]")
    if grid.max_import_kw <= 0 or grid.max_export_kw < 0:
        raise InvalidInput("grid limits must be max_import_kw > 0 and max_export_kw >= 0")


def _optional(series: pd.Series | None, name: str, grid_index: pd.DatetimeIndex) -> FloatArray:
    if series is None:
        return np.zeros(len(grid_index))
    values = check_series(series, name, grid_index)
    negative = values < 0
    if negative.any():
        raise InvalidInput(
            f"{name}: negative energy at slot {grid_index[int(np.argmax(negative))].isoformat()}"
        )
    return values


def build_problem(
    price_import: pd.Series,
    price_export: pd.Series | None,
    load_kwh: pd.Series | None,
    pv_kwh: pd.Series | None,
    battery: BatterySpec,
    grid: GridSpec,
    soc_pct: float,
    start: datetime,
    options: PlanOptions,
) -> Problem:
    """Check every input against one slot grid and return the aligned ``Problem``.

    Without export prices, export earns nothing; without load or PV, they are zero.
    """
    start = require_utc(start, "start")
    _check_specs(battery, grid, soc_pct)
    index = slot_index(start, _horizon(price_import, start, options), options.slot_minutes)
    p_imp = check_series(price_import, "import prices", index)
    p_exp = (
        np.zeros(len(index))
        if price_export is None
        else check_series(price_export, "export prices", index)
    )
    return Problem(
        index=index,
        dt_h=options.slot_minutes / 60.0,
        price_import=p_imp,
        price_export=p_exp,
        load_kwh=_optional(load_kwh, "load", index),
        pv_kwh=_optional(pv_kwh, "PV", index),
        soc_start_kwh=battery.kwh(soc_pct),
        battery=battery,
        grid=grid,
    )


def terminal_value_per_kwh(problem: Problem, setting: TerminalValue) -> float:
    """Value (currency per stored kWh) of energy left in the battery at the horizon end.

    ``"auto"``: the median, over the horizon, of the price a stored kWh would displace (import
    price where the house has net load, else export price), times the discharge efficiency,
    less the cycle cost, never below zero. So energy is kept for dearer-than-typical slots
    after the horizon, and the battery is not emptied just because the prices end.
    """
    if setting == "none":
        return 0.0
    if setting != "auto":
        return float(setting)
    net_load = problem.load_kwh > problem.pv_kwh
    displaced = np.where(net_load, problem.price_import, problem.price_export)
    value = median(displaced) * problem.battery.discharge_efficiency
    return max(0.0, value - problem.battery.cycle_cost_per_kwh)


def median(values: FloatArray) -> float:
    """``float(np.median(values))`` of a 1-D array, from one sort of its values as floats.

    ``np.median`` costs more than the rest of the terminal value on one plan's prices
    (~27 µs against ~4 µs). The same IEEE operations on the same middle values give the same
    bits: NumPy's mean adds them to ``+0.0`` (so a zero comes out ``+0.0``, whichever sign its
    partition picked among equal values) and divides by their count. Empty or non-finite
    input goes to ``np.median`` itself (NaN propagates there).
    """
    ordered: list[float] = sorted(values.tolist())
    n = len(ordered)
    if not n or not math.isfinite(sum(ordered)):
        return float(np.median(values))
    mid = n // 2
    return ordered[mid] + 0.0 if n % 2 else (ordered[mid - 1] + ordered[mid] + 0.0) / 2
