"""The simulated battery: stored energy moved by AC power through charge/discharge efficiencies.

Sign convention as in ``optimizer.domain``: battery power is + when charging, at the AC side, in W.
``grid_w = load_w - pv_w + battery_w`` (+ = import). The model is pure arithmetic on a dataclass.

How each mode sets the battery power (the real device's control laws are not documented; these are
plausible approximations, good enough to exercise a scheduler):

* charge / discharge: ``power`` % of the inverter rating, until the target SOC (charge) or the
  floor ``max(soc, backup level)`` (discharge) is reached, then idle until the mode ends.
* maximize auto consumption: absorb PV surplus, cover the deficit, within the rating.
* variable grid injection: charge only the PV surplus above the export cap ``maximumPower``.
* peak shaving: discharge whatever grid draw exceeds ``maxHousePeakConsumption``; charge surplus.
* basic, frequency regulation, anything unknown: idle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HOURS_PER_S = 1.0 / 3600.0


@dataclass(frozen=True, slots=True)
class Flows:
    """Average powers over one step, W. ``battery_w`` + = charging; ``grid_w`` + = import."""

    battery_w: float
    grid_w: float
    load_w: float
    pv_w: float


@dataclass(slots=True)
class BatteryModel:
    """State of charge plus the limits that move it."""

    capacity_kwh: float = 4.2
    soc_pct: float = 50.0
    rating_w: float = 3600.0
    charge_efficiency: float = 0.92
    discharge_efficiency: float = 0.92
    backup_pct: float = 0.0

    def limits(self, command: str | None, params: dict[str, Any] | None) -> tuple[float, float]:
        """``(floor_pct, ceiling_pct)`` the SOC may move between in this mode."""
        params = params or {}
        floor, ceiling = self.backup_pct, 100.0
        if params.get("action") == "ACTION_CHARGE":
            ceiling = min(ceiling, float(params.get("soc", 100)))
        elif params.get("action") == "ACTION_DISCHARGE":
            floor = max(floor, float(params.get("soc", 0)))
        return floor, ceiling

    def move(self, power_w: float, seconds: float, floor_pct: float, ceiling_pct: float) -> float:
        """Apply ``power_w`` (AC, + charge) for ``seconds``; return the power actually achieved.

        Charging stores ``power × charge_efficiency``; discharging draws ``power /
        discharge_efficiency`` from the cells. The power is cut so the SOC stops exactly at the
        ceiling or the floor.
        """
        if seconds <= 0 or power_w == 0:
            return 0.0
        hours = seconds * HOURS_PER_S
        stored_kwh = self.capacity_kwh * self.soc_pct / 100.0
        if power_w > 0:
            room_kwh = max(0.0, self.capacity_kwh * ceiling_pct / 100.0 - stored_kwh)
            delta_kwh = min(power_w / 1000.0 * hours * self.charge_efficiency, room_kwh)
            achieved = delta_kwh / self.charge_efficiency / hours * 1000.0
        else:
            room_kwh = max(0.0, stored_kwh - self.capacity_kwh * floor_pct / 100.0)
            delta_kwh = -min(-power_w / 1000.0 * hours / self.discharge_efficiency, room_kwh)
            achieved = delta_kwh * self.discharge_efficiency / hours * 1000.0
        self.soc_pct = (stored_kwh + delta_kwh) / self.capacity_kwh * 100.0
        return achieved


def wanted_power_w(
    command: str | None, params: dict[str, Any] | None, load_w: float, pv_w: float, rating_w: float
) -> float:
    """The AC battery power (+ charge, W) a mode asks for before SOC limits."""
    params = params or {}
    surplus = pv_w - load_w
    if params.get("action") in ("ACTION_CHARGE", "ACTION_DISCHARGE"):
        power = float(params.get("power", 0)) / 100.0 * rating_w
        return power if params["action"] == "ACTION_CHARGE" else -power
    if command == "SET_MAXIMIZE_AUTO_CONSUMPTION":
        return _clip(surplus, rating_w)
    if command == "SET_VARIABLE_GRID_INJECTION":
        cap = float(params.get("maximumPower", 0))
        return _clip(max(0.0, surplus - cap), rating_w)
    if command == "SET_PEAK_SHAVING":
        peak = float(params.get("maxHousePeakConsumption", 0))
        return _clip(surplus if surplus > 0 else min(0.0, surplus + peak), rating_w)
    return 0.0


def _clip(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


def step(
    battery: BatteryModel,
    command: str | None,
    params: dict[str, Any] | None,
    load_w: float,
    pv_w: float,
    seconds: float,
) -> Flows:
    """Advance ``battery`` by ``seconds`` in the given mode; return the average flows."""
    floor, ceiling = battery.limits(command, params)
    wanted = wanted_power_w(command, params, load_w, pv_w, battery.rating_w)
    achieved = battery.move(wanted, seconds, floor, ceiling)
    return Flows(battery_w=achieved, grid_w=load_w - pv_w + achieved, load_w=load_w, pv_w=pv_w)
