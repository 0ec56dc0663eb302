"""What the xStorage Home does with a command during one slot, and the LP → command mapping.

The device understands whole-percent power (of ``inverter_rating_w``, 5..100, in 5 % steps here)
and a whole-percent SOC target at which it stops. ``apply_command`` is the one model of that,
used to turn the LP's continuous plan into an executable one (the SOC path recomputed from the
rounded commands) and by the backtester to play commands against history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from optimizer import commands
from optimizer.domain import Action, BatterySpec, Command, DeviceCommand, GridSpec

POWER_STEP_PCT = 5
MIN_POWER_PCT = 5
MAX_POWER_PCT = 100
#: An LP flow smaller than this (kW) is treated as no flow at all.
MIN_FLOW_KW = 1e-3


@dataclass(frozen=True, slots=True)
class SlotOutcome:
    """The physical result of one slot (energies in kWh over the slot)."""

    charge_kwh: float
    discharge_kwh: float
    import_kwh: float
    export_kwh: float
    curtail_kwh: float
    soc_end_kwh: float


def idle_command(duration_h: int = 1) -> Command:
    """``SET_BASIC_MODE``: the inverter converts PV, the battery is left alone."""
    return commands.basic(duration_h)


def action_of(command: Command) -> Action:
    """The battery action a command asks for (direction from ``parameters.action``)."""
    if command.action == "ACTION_CHARGE":
        return Action.CHARGE
    if command.action == "ACTION_DISCHARGE":
        return Action.DISCHARGE
    return Action.IDLE


def _grid(net_kwh: float, pv_kwh: float, grid: GridSpec, dt_h: float) -> tuple[float, float, float]:
    """Import, export and curtailed PV for a net demand ``net_kwh`` (negative = surplus)."""
    if net_kwh >= 0:
        return net_kwh, 0.0, 0.0
    cap = grid.max_export_kw * dt_h if grid.export_allowed else 0.0
    surplus = -net_kwh
    curtail = min(max(surplus - cap, 0.0), pv_kwh)
    return 0.0, surplus - curtail, curtail


def _self_consumption(
    soc_kwh: float, net_kwh: float, dt_h: float, battery: BatterySpec
) -> tuple[float, float]:
    """Charge and discharge (kWh) in self-consumption mode: PV surplus only, cover net load.

    The device's own mode follows the meter: it stores surplus PV (never grid energy) and
    discharges to cover the house's net load, within its power limits and SOC window.
    """
    if net_kwh < 0:
        room = max(0.0, battery.kwh(battery.max_soc_pct) - soc_kwh) / battery.charge_efficiency
        return max(0.0, min(-net_kwh, battery.max_charge_kw * dt_h, room)), 0.0
    stored = max(0.0, soc_kwh - battery.kwh(battery.min_soc_pct)) * battery.discharge_efficiency
    return 0.0, max(0.0, min(net_kwh, battery.max_discharge_kw * dt_h, stored))


def apply_command(
    command: Command,
    soc_start_kwh: float,
    load_kwh: float,
    pv_kwh: float,
    dt_h: float,
    battery: BatterySpec,
    grid: GridSpec,
) -> SlotOutcome:
    """Play ``command`` for one slot of ``dt_h`` hours from ``soc_start_kwh``.

    The device runs at the commanded power until the target SOC (or the battery's own limits)
    is reached, then holds. ``SET_MAXIMIZE_AUTO_CONSUMPTION`` follows the slot's net load
    instead (see ``_self_consumption``); other modes without parameters leave the battery
    idle. Surplus PV beyond the export limit is curtailed.
    """
    params = command.parameters or {}
    action = action_of(command)
    charge = discharge = 0.0
    if command.command is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION:
        charge, discharge = _self_consumption(soc_start_kwh, load_kwh - pv_kwh, dt_h, battery)
    elif action is not Action.IDLE:
        power_kwh = float(params["power"]) / 100.0 * battery.inverter_rating_w / 1000.0 * dt_h
        target_kwh = battery.kwh(float(params["soc"]))
        if action is Action.CHARGE:
            room = min(target_kwh, battery.kwh(battery.max_soc_pct)) - soc_start_kwh
            charge = max(
                0.0, min(power_kwh, battery.max_charge_kw * dt_h, room / battery.charge_efficiency)
            )
        else:
            floor = max(target_kwh, battery.kwh(battery.min_soc_pct))
            stored = max(0.0, soc_start_kwh - floor) * battery.discharge_efficiency
            discharge = max(0.0, min(power_kwh, battery.max_discharge_kw * dt_h, stored))
    soc_end = (
        soc_start_kwh
        + charge * battery.charge_efficiency
        - discharge / battery.discharge_efficiency
    )
    imp, exp, curtail = _grid(load_kwh - pv_kwh + charge - discharge, pv_kwh, grid, dt_h)
    return SlotOutcome(charge, discharge, imp, exp, curtail, soc_end)


def _power_steps(kw: float, limit_kw: float, rating_w: float) -> tuple[int, int]:
    """The 5 % power steps just above and just below ``kw`` (each within 5..100 and the limit)."""
    pct = kw * 1000.0 / rating_w * 100.0
    up = math.ceil(pct / POWER_STEP_PCT - 1e-9) * POWER_STEP_PCT
    down = math.floor(pct / POWER_STEP_PCT + 1e-9) * POWER_STEP_PCT
    top = limit_kw * 1e5 / rating_w
    limit = min(MAX_POWER_PCT, math.floor(top / POWER_STEP_PCT + 1e-9) * POWER_STEP_PCT)
    limit = max(MIN_POWER_PCT, limit)
    return max(MIN_POWER_PCT, min(limit, up)), max(MIN_POWER_PCT, min(limit, down))


def command_for(
    charge_kw: float,
    discharge_kw: float,
    planned_soc_end_pct: float,
    battery: BatterySpec,
    discharge_wire: str = "SET_CHARGE",
    duration_h: int = 1,
) -> tuple[Command, Command | None]:
    """The command for a slot the LP planned, and a gentler alternative.

    Power is rounded up to the next 5 % step (at least 5 %), and the planned end SOC becomes the
    whole-percent target at which the device stops, so the planned energy is delivered even when
    the LP asked for less than the device's 5 % minimum. The alternative (one step lower, or
    ``None``) is used when rounding up would break a grid limit.
    """
    if charge_kw >= MIN_FLOW_KW and charge_kw >= discharge_kw:
        target = min(round(planned_soc_end_pct), math.floor(battery.max_soc_pct))
        up, down = _power_steps(charge_kw, battery.max_charge_kw, battery.inverter_rating_w)
        return commands.charge(up, target, duration_h), (
            commands.charge(down, target, duration_h) if down < up else None
        )
    if discharge_kw >= MIN_FLOW_KW:
        target = max(round(planned_soc_end_pct), math.ceil(battery.min_soc_pct))
        up, down = _power_steps(discharge_kw, battery.max_discharge_kw, battery.inverter_rating_w)
        return commands.discharge(up, target, duration_h, discharge_command=discharge_wire), (
            commands.discharge(down, target, duration_h, discharge_command=discharge_wire)
            if down < up
            else None
        )
    return commands.basic(duration_h), None
