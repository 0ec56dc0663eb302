"""The plan acceptance gate: a timetable is checked before anyone may act on it.

Bounds, energy balance, the SOC recursion, the SOC window, one direction per slot for the
battery and for the meter, and commands the device accepts. A failure is a bug or a solver
fault, never something to execute: it raises ``SolverError`` naming the slot and the rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from optimizer import commands
from optimizer.domain import DeviceCommand, PlanSlot
from optimizer.errors import InvalidInput, SolverError
from optimizer.planning.inputs import Problem

TOL_KWH = 1e-6


def _fail(slot: PlanSlot, rule: str) -> None:
    raise SolverError(f"plan acceptance gate: slot {slot.start.isoformat()}: {rule}")


def _check_flows(slot: PlanSlot, problem: Problem) -> None:
    dt, battery, grid = problem.dt_h, problem.battery, problem.grid
    if slot.charge_kw < -TOL_KWH or slot.charge_kw > battery.max_charge_kw + TOL_KWH:
        _fail(slot, f"charge {slot.charge_kw:.4f} kW outside 0..{battery.max_charge_kw}")
    if slot.discharge_kw < -TOL_KWH or slot.discharge_kw > battery.max_discharge_kw + TOL_KWH:
        _fail(slot, f"discharge {slot.discharge_kw:.4f} kW outside 0..{battery.max_discharge_kw}")
    if min(slot.charge_kw, slot.discharge_kw) > TOL_KWH:
        _fail(slot, "charges and discharges in the same slot")
    if min(slot.grid_import_kwh, slot.grid_export_kwh) > TOL_KWH:
        _fail(slot, "imports and exports in the same slot")
    if slot.grid_import_kwh > grid.max_import_kw * dt + TOL_KWH:
        _fail(slot, f"import {slot.grid_import_kwh:.4f} kWh above the grid limit")
    export_cap = grid.max_export_kw * dt if grid.export_allowed else 0.0
    if slot.grid_export_kwh > export_cap + TOL_KWH:
        _fail(slot, f"export {slot.grid_export_kwh:.4f} kWh above the allowed {export_cap:.4f}")
    balance = (
        slot.grid_import_kwh
        - slot.grid_export_kwh
        - (slot.load_kwh - (slot.pv_kwh - slot.pv_curtailed_kwh))
        - (slot.charge_kw - slot.discharge_kw) * dt
    )
    if abs(balance) > 1e-5:
        _fail(slot, f"energy balance off by {balance:.6f} kWh")


def _check_state(slot: PlanSlot, problem: Problem, soc_before: float) -> None:
    battery, dt = problem.battery, problem.dt_h
    if abs(slot.soc_start_pct - soc_before) > 1e-6:
        _fail(slot, "SOC path is not continuous")
    expected = battery.kwh(slot.soc_start_pct) + dt * (
        slot.charge_kw * battery.charge_efficiency
        - slot.discharge_kw / battery.discharge_efficiency
    )
    if abs(battery.kwh(slot.soc_end_pct) - expected) > 1e-5:
        _fail(slot, "SOC recursion does not hold")
    start = problem.soc_start_kwh
    low = min(battery.kwh(battery.min_soc_pct), start) - 1e-5
    high = max(battery.kwh(battery.max_soc_pct), start) + 1e-5
    if not low <= battery.kwh(slot.soc_end_pct) <= high:
        _fail(slot, f"SOC {slot.soc_end_pct:.2f} % outside the window")
    tol = 1e-6
    if slot.soc_end_pct > battery.max_soc_pct + tol and slot.soc_end_pct > slot.soc_start_pct + tol:
        _fail(slot, f"charges above max_soc_pct ({battery.max_soc_pct:g} %)")
    if slot.soc_end_pct < battery.min_soc_pct - tol and slot.soc_end_pct < slot.soc_start_pct - tol:
        _fail(slot, f"discharges below min_soc_pct ({battery.min_soc_pct:g} %)")


def _check_command(slot: PlanSlot) -> None:
    try:
        commands.validate(slot.command)
    except InvalidInput as exc:
        _fail(slot, f"command {slot.command.body()}: {exc}")
    forced = slot.command.action
    if forced == commands.ACTION_CHARGE and slot.discharge_kw > TOL_KWH:
        _fail(slot, "a charge command discharges")
    if forced == commands.ACTION_DISCHARGE and slot.charge_kw > TOL_KWH:
        _fail(slot, "a discharge command charges")
    if slot.command.command is DeviceCommand.SET_BASIC_MODE and (
        slot.charge_kw > TOL_KWH or slot.discharge_kw > TOL_KWH
    ):
        _fail(slot, "basic mode moves the battery")


def check_timetable(slots: Sequence[PlanSlot], problem: Problem) -> None:
    """Raise ``SolverError`` unless every slot passes every rule."""
    if len(slots) != problem.n:
        raise SolverError(
            f"plan acceptance gate: {len(slots)} slots for a {problem.n}-slot horizon"
        )
    soc_before = problem.battery.pct(problem.soc_start_kwh)
    for slot in slots:
        _check_flows(slot, problem)
        _check_state(slot, problem, soc_before)
        _check_command(slot)
        soc_before = slot.soc_end_pct
