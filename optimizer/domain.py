"""Frozen value types shared by the planner, the executor and the backtester.

Sign convention: battery power is positive when charging. Powers are in kW at the AC side,
energies in kWh, state of charge in percent of ``capacity_kwh``; every name carries its unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class BatterySpec:
    """The battery and inverter as the planner models them."""

    capacity_kwh: float = 4.2
    min_soc_pct: float = 10.0
    max_soc_pct: float = 100.0
    max_charge_kw: float = 3.6
    max_discharge_kw: float = 3.6
    charge_efficiency: float = 0.92
    discharge_efficiency: float = 0.92
    cycle_cost_per_kwh: float = 0.0
    inverter_rating_w: float = 3600.0
    #: The device's own floor (``bmsBackupLevel``, %): its modes (self-consumption, peak
    #: shaving) discharge down to it, whatever the planner's ``min_soc_pct``.
    backup_pct: float = 0.0
    #: The service's in-slot reserve guard (%, 0: none; ``optimizer.planning.guard``): it ends
    #: self-consumption and peak shaving (basic mode) at a reading at or below this SOC, so the
    #: planner and the backtest model those modes with this floor. The device does not know it.
    guard_pct: float = 0.0

    def kwh(self, soc_pct: float) -> float:
        """Stored energy in kWh at ``soc_pct`` percent."""
        return self.capacity_kwh * soc_pct / 100.0

    def pct(self, soc_kwh: float) -> float:
        """State of charge in percent for ``soc_kwh`` stored."""
        return soc_kwh / self.capacity_kwh * 100.0


@dataclass(frozen=True, slots=True)
class GridSpec:
    """Limits at the house's grid meter."""

    export_allowed: bool = True
    max_import_kw: float = 15.0
    max_export_kw: float = 3.68


class Action(StrEnum):
    """What the battery does during one slot."""

    CHARGE = "charge"
    DISCHARGE = "discharge"
    IDLE = "idle"


class DeviceCommand(StrEnum):
    """``command`` values of ``POST /api/device/command``."""

    SET_CHARGE = "SET_CHARGE"
    SET_DISCHARGE = "SET_DISCHARGE"
    SET_BASIC_MODE = "SET_BASIC_MODE"
    SET_MAXIMIZE_AUTO_CONSUMPTION = "SET_MAXIMIZE_AUTO_CONSUMPTION"
    SET_VARIABLE_GRID_INJECTION = "SET_VARIABLE_GRID_INJECTION"
    SET_FREQUENCY_REGULATION = "SET_FREQUENCY_REGULATION"
    SET_PEAK_SHAVING = "SET_PEAK_SHAVING"


@dataclass(frozen=True, slots=True)
class Command:
    """One manual-mode command exactly as the device receives it.

    ``parameters`` is ``None`` for modes without parameters; for charge/discharge it holds
    ``action`` (``ACTION_CHARGE``/``ACTION_DISCHARGE``), ``power`` (integer % of the inverter
    rating, 5..100) and ``soc`` (integer target %). ``duration_h`` is whole hours, 1..12.
    """

    command: DeviceCommand
    duration_h: int = 1
    parameters: dict[str, Any] | None = field(default=None)

    def body(self) -> dict[str, Any]:
        """The JSON body for ``POST /api/device/command``."""
        return {
            "command": str(self.command),
            "duration": self.duration_h,
            "parameters": dict(self.parameters) if self.parameters is not None else None,
        }

    @property
    def action(self) -> str | None:
        """``ACTION_CHARGE``/``ACTION_DISCHARGE`` for battery commands, else ``None``."""
        if self.parameters is None:
            return None
        value = self.parameters.get("action")
        return str(value) if value is not None else None

    def describe(self) -> str:
        """One readable line for logs, with units: ``SET_CHARGE charge at 50 % power to 90 %
        SOC for 1 h`` (never a raw dict)."""
        params = self.parameters or {}
        hours = f"for {self.duration_h} h"
        if "power" not in params:
            return f"{self.command} {hours}"
        verb = {"ACTION_CHARGE": "charge", "ACTION_DISCHARGE": "discharge"}.get(
            str(params.get("action")), str(params.get("action"))
        )
        target = "to" if verb == "charge" else "down to"
        return (
            f"{self.command} {verb} at {params['power']} % power {target} {params.get('soc')} % "
            f"SOC {hours}"
        )


@dataclass(frozen=True, slots=True)
class PlanSlot:
    """One row of a timetable: what to do during ``[start, end)`` and what it should give."""

    start: datetime
    end: datetime
    action: Action
    charge_kw: float
    discharge_kw: float
    grid_import_kwh: float
    grid_export_kwh: float
    soc_start_pct: float
    soc_end_pct: float
    price_import_per_kwh: float
    price_export_per_kwh: float
    load_kwh: float
    pv_kwh: float
    pv_curtailed_kwh: float
    command: Command

    @property
    def cost(self) -> float:
        """Import cost minus export revenue of this slot, in currency units."""
        return (
            self.grid_import_kwh * self.price_import_per_kwh
            - self.grid_export_kwh * self.price_export_per_kwh
        )


@dataclass(frozen=True, slots=True)
class Timetable:
    """A checked plan: one ``PlanSlot`` per slot plus its money figures (currency units)."""

    slots: tuple[PlanSlot, ...]
    status: str
    cost: float
    no_battery_cost: float
    cycle_cost: float
    terminal_value_per_kwh: float
    solver: str
    lp_cost: float

    @property
    def savings(self) -> float:
        """No-battery cost minus planned cost."""
        return self.no_battery_cost - self.cost

    def end_energy_value(self, capacity_kwh: float) -> float:
        """What the energy the plan leaves above (or below, negative) its starting SOC is worth,
        in currency units: ``(soc_end - soc_start) / 100 × capacity_kwh ×
        terminal_value_per_kwh`` (the planner's own value of stored energy at the horizon's
        end). A plan that charges for tomorrow costs more than idling today by about this."""
        if not self.slots:
            return 0.0
        gained_pct = self.slots[-1].soc_end_pct - self.slots[0].soc_start_pct
        return gained_pct / 100.0 * capacity_kwh * self.terminal_value_per_kwh


#: Household load forecast methods (``optimizer.forecast.load``; ``[forecast] load_method``).
LoadMethodName = Literal["weekday", "recent", "blend", "blend-inday"]
LOAD_METHODS: tuple[LoadMethodName, ...] = ("weekday", "recent", "blend", "blend-inday")
