"""Replay history slot by slot with a strategy, releasing information as it would have been.

At each decision time the strategy gets a ``DecisionContext`` holding only the prices published
by then (``PublicationRule``), load/PV forecasts built from the past, and the simulated SOC.
Between re-plans each slot's command comes from the last decision's ``SlotChooser`` given the
SOC the simulation actually reached, exactly as the service asks it with the measured SOC
(``optimizer.planning.Policy`` for ``lp``/``perfect``). Every command is played
with ``optimizer.planning.device.apply_command`` (the device model the live planner and the
simulator use) against the *actual* load and PV, which
settle the bill. Slots with missing inputs are gaps:
the battery idles through them and they are left out of every figure.

This module takes a strategy object; it never imports the ``strategies`` package.
"""

from __future__ import annotations

import json
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from optimizer.backtest.data import BacktestInputs, Gap, PublicationRule
from optimizer.backtest.strategy import (
    DecisionContext,
    FixedCommands,
    SlotChooser,
    Strategy,
    as_chooser,
)
from optimizer.domain import BatterySpec, Command, DeviceCommand, GridSpec
from optimizer.errors import InvalidInput
from optimizer.planning import PlanOptions
from optimizer.planning.device import SlotOutcome, action_of, apply_command, idle_command

Replan = Literal["slot", "hour", "day"]
Progress = Callable[[int], None]

_COLUMNS = (
    "charge_kwh",
    "discharge_kwh",
    "import_kwh",
    "export_kwh",
    "curtail_kwh",
    "soc_start_kwh",
    "soc_end_kwh",
    "power_pct",
    "target_soc_pct",
)


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """How to replay: battery, grid, planner options, cadence, horizon and information rule."""

    battery: BatterySpec = field(default_factory=BatterySpec)
    grid: GridSpec = field(default_factory=GridSpec)
    options: PlanOptions = field(default_factory=PlanOptions)
    replan: Replan = "hour"
    horizon_hours: float = 36.0
    publication: PublicationRule = field(default_factory=PublicationRule)
    initial_soc_pct: float = 10.0


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """One strategy's replay: the per-slot frame (UTC index, valid slots only) and its gaps."""

    strategy: str
    frame: pd.DataFrame
    gaps: tuple[Gap, ...]
    decisions: int
    seconds: float


class _Recorder:
    """Per-slot outcomes in preallocated arrays (fast), turned into a frame at the end."""

    def __init__(self, n: int) -> None:
        self.values = {name: np.full(n, np.nan) for name in _COLUMNS}
        self.action = np.full(n, "", dtype=object)
        self.command = np.full(n, "", dtype=object)
        self.replanned = np.zeros(n, dtype=bool)
        #: each slot's load forecast as the decision that chose its command believed it
        self.load_forecast = np.full(n, np.nan)
        #: each slot's PV forecast as the decision that chose its command believed it
        self.pv_forecast = np.full(n, np.nan)

    def record(self, t: int, command: Command, soc_start: float, outcome: SlotOutcome) -> None:
        params = command.parameters or {}
        row = self.values
        for name in ("charge_kwh", "discharge_kwh", "import_kwh", "export_kwh", "curtail_kwh"):
            row[name][t] = getattr(outcome, name)
        row["soc_start_kwh"][t] = soc_start
        row["soc_end_kwh"][t] = outcome.soc_end_kwh
        row["power_pct"][t] = float(params.get("power", 0))
        row["target_soc_pct"][t] = float(params.get("soc", np.nan))
        self.command[t] = json.dumps(command.body(), sort_keys=True)
        self.action[t] = (
            "self-use"
            if command.command is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION
            else str(action_of(command))
        )


class _Replay:
    """The replay of one strategy over ``inputs``; call ``run()``."""

    def __init__(self, strategy: Strategy, inputs: BacktestInputs, config: BacktestConfig) -> None:
        self.strategy, self.inputs, self.config = strategy, inputs, config
        self.perfect = getattr(strategy, "foresight", "realistic") == "perfect"
        self.horizon_slots = max(1, int(config.horizon_hours * 60 // inputs.slot_minutes))
        self.due = _due_flags(inputs.index, config)
        self.rec = _Recorder(len(inputs.index))
        self.decisions = 0
        #: Slot starts as ``datetime``s, converted once (a pandas lookup per decision costs more).
        self.starts: list[datetime] = list(inputs.index.to_pydatetime())

    def run(self, progress: Progress | None) -> None:
        battery = self.config.battery
        soc = battery.kwh(self.config.initial_soc_pct)
        for a, b in self.inputs.segments():
            soc = self._segment(a, b, soc, progress)

    def _segment(self, a: int, b: int, soc: float, progress: Progress | None) -> float:
        inputs, config = self.inputs, self.config
        chooser: SlotChooser = FixedCommands(())
        k = 0
        for t in range(a, b):
            if t == a or k >= len(chooser) or (self.due[t] and not self.perfect):
                chooser, k = self._decide(t, b, soc), 0
                self.rec.replanned[t] = True
            command = chooser.command_at(k, soc) if k < len(chooser) else idle_command()
            k += 1
            outcome = apply_command(
                command,
                soc,
                float(inputs.load_kwh[t]),
                float(inputs.pv_kwh[t]),
                inputs.dt_h,
                config.battery,
                config.grid,
            )
            self.rec.record(t, command, soc, outcome)
            soc = outcome.soc_end_kwh
            if progress is not None:
                progress(1)
        return soc

    def _window_end(self, t: int, b: int) -> int:
        """Index just past the last slot known at slot ``t`` (within the segment)."""
        if self.perfect:
            return b
        until = self.config.publication.known_until(self.starts[t])
        end = b
        if until is not None:
            step = timedelta(minutes=self.inputs.slot_minutes)
            end = min(b, int((until - self.starts[0]) / step))
        return min(end, t + self.horizon_slots)

    def _decide(self, t: int, b: int, soc_kwh: float) -> SlotChooser:
        end = self._window_end(t, b)
        if end <= t:
            return FixedCommands(())
        context = self._context(t, end, soc_kwh)
        chooser = as_chooser(self.strategy.decide(context))
        self.decisions += 1
        if len(chooser) > context.n:
            raise InvalidInput(
                f"strategy {self.strategy.name!r} returned {len(chooser)} commands for "
                f"{context.n} known slots at {context.now.isoformat()}"
            )
        return chooser

    def _context(self, t: int, end: int, soc_kwh: float) -> DecisionContext:
        inputs, config = self.inputs, self.config
        if self.perfect:
            pv = inputs.pv_kwh[t:end]
        elif inputs.pv_forecast_at is not None:
            pv = inputs.pv_forecast_at(t, end)
        else:
            pv = inputs.pv_forecast_kwh[t:end]
        self.rec.pv_forecast[t:end] = pv
        if self.perfect:
            load = inputs.load_kwh[t:end]
        elif inputs.load_forecast_at is not None:
            load = inputs.load_forecast_at(t, end)
        else:
            load = inputs.load_forecast_kwh[t:end]
        self.rec.load_forecast[t:end] = load
        scenarios = None
        if not self.perfect and inputs.load_scenarios_at is not None:
            scenarios = inputs.load_scenarios_at(t, end)
        pv_scenarios = None
        if not self.perfect and inputs.pv_scenarios_at is not None:
            pv_scenarios = inputs.pv_scenarios_at(t, end)
        battery = config.battery
        soc_pct = min(100.0, max(0.0, battery.pct(soc_kwh)))
        return DecisionContext(
            now=self.starts[t],
            index=inputs.index[t:end],
            price_import_per_kwh=inputs.price_import[t:end],
            price_export_per_kwh=inputs.price_export[t:end],
            load_kwh=load,
            pv_kwh=pv,
            soc_pct=soc_pct,
            battery=battery,
            grid=config.grid,
            options=config.options,
            load_scenarios=scenarios,
            pv_scenarios=pv_scenarios,
        )

    def frame(self) -> pd.DataFrame:
        """The per-slot frame of the valid slots (UTC index)."""
        inputs, rec = self.inputs, self.rec
        frame = pd.DataFrame(
            {
                "price_import_per_kwh": inputs.price_import,
                "price_export_per_kwh": inputs.price_export,
                "load_forecast_kwh": rec.load_forecast,
                "load_kwh": inputs.load_kwh,
                "pv_forecast_kwh": rec.pv_forecast,
                "pv_kwh": inputs.pv_kwh,
                "action": rec.action,
                "command": rec.command,
                "replanned": rec.replanned,
                **rec.values,
            },
            index=inputs.index,
        )
        frame = frame[inputs.valid()].copy()
        _add_money(frame, self.config)
        return frame


def _add_money(frame: pd.DataFrame, config: BacktestConfig) -> None:
    """Cost columns (currency units) and SOC in percent."""
    battery, grid = config.battery, config.grid
    p_in, p_out = frame["price_import_per_kwh"], frame["price_export_per_kwh"]
    frame["cost"] = frame["import_kwh"] * p_in - frame["export_kwh"] * p_out
    dt_h = (frame.index[1] - frame.index[0]).total_seconds() / 3600 if len(frame) > 1 else 0.5
    net = frame["load_kwh"] - frame["pv_kwh"]
    cap = grid.max_export_kw * dt_h if grid.export_allowed else 0.0
    frame["no_battery_cost"] = net.clip(lower=0) * p_in - (-net).clip(lower=0, upper=cap) * p_out
    frame["soc_start_pct"] = frame["soc_start_kwh"] / battery.capacity_kwh * 100
    frame["soc_end_pct"] = frame["soc_end_kwh"] / battery.capacity_kwh * 100


def _due_flags(index: pd.DatetimeIndex, config: BacktestConfig) -> np.ndarray:
    """Slots at which a re-plan is due under the configured cadence."""
    if config.replan == "slot":
        return np.ones(len(index), dtype=bool)
    local = index.tz_convert(config.publication.timezone)
    minutes = np.asarray(local.hour * 60 + local.minute)
    if config.replan == "hour":
        return np.asarray(local.minute == 0)
    publish = config.publication.publish_time
    at = publish.hour * 60 + publish.minute
    step = int((index[1] - index[0]).total_seconds() // 60) if len(index) > 1 else 30
    return (minutes <= at) & (at < minutes + step)


def run_backtest(
    strategy: Strategy,
    inputs: BacktestInputs,
    config: BacktestConfig,
    progress: Progress | None = None,
) -> BacktestResult:
    """Replay ``strategy`` over ``inputs``; ``progress(n)`` is called per simulated slot."""
    began = _time.perf_counter()
    replay = _Replay(strategy, inputs, config)
    replay.run(progress)
    return BacktestResult(
        strategy=strategy.name,
        frame=replay.frame(),
        gaps=tuple(inputs.gaps()),
        decisions=replay.decisions,
        seconds=_time.perf_counter() - began,
    )
