"""The one interface every planning policy implements, and what it may know when it decides.

A strategy is any object with a ``name`` and ``decide(context)``, which returns a
``SlotChooser``: for each slot ``k`` from ``context.now`` (at most ``context.n`` of them) the
device command to run, given the SOC actually reached at that slot's start. The planner's
``optimizer.planning.Policy`` is one (it chooses from the cost-to-go); a fixed list of commands
(``FixedCommands``, or any ``Sequence[Command]``) is another. The service and the backtester
call the same chooser the same way, so what a backtest scores is what the service sends.
The context holds only what was known at the decision time: prices published so far,
forecasts built from the past, the measured SOC and the battery and grid limits. Strategies marked
``foresight = "perfect"`` are benchmarks: the backtester hands them the actual future instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, cast, runtime_checkable

import pandas as pd

from optimizer.domain import BatterySpec, Command, GridSpec
from optimizer.planning import PlanOptions, Policy, Problem
from optimizer.timeseries import FloatArray

Foresight = Literal["realistic", "perfect"]


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """Everything a strategy may use at ``now`` (UTC), one array entry per slot from ``now``.

    Prices are currency units per kWh; load and PV are kWh per slot (forecasts, except for
    perfect-foresight strategies, which get the actuals); ``soc_pct`` is the measured SOC.
    """

    now: datetime
    index: pd.DatetimeIndex
    price_import_per_kwh: FloatArray
    price_export_per_kwh: FloatArray
    load_kwh: FloatArray
    pv_kwh: FloatArray
    soc_pct: float
    battery: BatterySpec
    grid: GridSpec
    options: PlanOptions
    #: Load paths (paths × slots, kWh) around ``load_kwh`` and their probabilities, when
    #: ``forecast.hedge_scenarios`` asks the plan to hedge (``None``: plan on ``load_kwh``).
    load_scenarios: tuple[FloatArray, FloatArray] | None = None
    #: PV paths (paths × slots, kWh) around ``pv_kwh`` and their probabilities, when the PV
    #: forecast has quantiles and the backtest hedges over them (``None``: plan on ``pv_kwh``).
    pv_scenarios: tuple[FloatArray, FloatArray] | None = None

    @property
    def n(self) -> int:
        """Number of slots known from ``now``."""
        return len(self.index)

    @property
    def dt_h(self) -> float:
        """Slot length in hours."""
        return self.options.slot_minutes / 60.0

    def problem(self) -> Problem:
        """The context as the planner's arrays-only ``Problem`` (no re-checking needed)."""
        return Problem(
            index=self.index,
            dt_h=self.dt_h,
            price_import=self.price_import_per_kwh,
            price_export=self.price_export_per_kwh,
            load_kwh=self.load_kwh,
            pv_kwh=self.pv_kwh,
            soc_start_kwh=self.battery.kwh(self.soc_pct),
            battery=self.battery,
            grid=self.grid,
        )


@runtime_checkable
class SlotChooser(Protocol):
    """A decision's commands: ``command_at(k, soc_kwh)`` for slot ``k`` (0-based from the
    decision) from ``soc_kwh`` stored at its start; ``len()`` slots are covered."""

    def __len__(self) -> int:
        """Slots covered."""
        ...

    def command_at(self, k: int, soc_kwh: float) -> Command:
        """The command for slot ``k`` from ``soc_kwh`` (kWh stored)."""
        ...


@dataclass(frozen=True, slots=True)
class FixedCommands:
    """Commands fixed at the decision time, whatever SOC the slots start from."""

    commands: Sequence[Command]

    def __len__(self) -> int:
        """Slots covered."""
        return len(self.commands)

    def command_at(self, k: int, soc_kwh: float) -> Command:
        """The ``k``-th command (``soc_kwh`` is not used)."""
        return self.commands[k]


def as_chooser(decided: SlotChooser | Sequence[Command]) -> SlotChooser:
    """A strategy's answer as a ``SlotChooser`` (a plain sequence becomes ``FixedCommands``)."""
    # The usual answers first: a Protocol isinstance check lists the protocol's members
    # afresh at every call (~6 µs a decision); a list or tuple has no ``command_at``.
    kind = type(decided)
    if kind is Policy or kind is FixedCommands:
        return cast(SlotChooser, decided)
    if kind is not list and kind is not tuple and isinstance(decided, SlotChooser):
        return decided
    return FixedCommands(tuple(cast(Sequence[Command], decided)))


@runtime_checkable
class Strategy(Protocol):
    """A planning policy: ``decide`` returns the slot chooser for the slots from
    ``context.now`` (a plain ``Sequence[Command]`` is accepted too)."""

    name: str
    foresight: Foresight

    def decide(self, context: DecisionContext) -> SlotChooser | Sequence[Command]:
        """Commands for the slots of ``context`` (fewer is allowed: the rest idle)."""
        ...
