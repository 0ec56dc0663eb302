"""Turn the LP's continuous solution into the executable timetable the device can follow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from optimizer import commands
from optimizer.domain import Action, Command, PlanSlot
from optimizer.planning.execution import SlotOutcome, action_of, apply_command, command_for
from optimizer.planning.inputs import PlanOptions, Problem
from optimizer.planning.solution import LpSolution

TOL_KWH = 1e-6


@dataclass(frozen=True, slots=True)
class _SlotInput:
    t: int
    soc_kwh: float


def _within_grid(outcome: SlotOutcome, problem: Problem) -> bool:
    grid, dt = problem.grid, problem.dt_h
    cap = grid.max_export_kw * dt if grid.export_allowed else 0.0
    return (
        outcome.import_kwh <= grid.max_import_kw * dt + TOL_KWH
        and outcome.export_kwh <= cap + TOL_KWH
    )


def _play(problem: Problem, slot: _SlotInput, command: Command) -> SlotOutcome:
    t = slot.t
    return apply_command(
        command,
        slot.soc_kwh,
        float(problem.load_kwh[t]),
        float(problem.pv_kwh[t]),
        problem.dt_h,
        problem.battery,
        problem.grid,
    )


def _choose(
    problem: Problem, solution: LpSolution, slot: _SlotInput, options: PlanOptions
) -> tuple[Command, SlotOutcome]:
    """The rounded command for slot ``t`` and what it does, falling back to gentler ones."""
    t, dt = slot.t, problem.dt_h
    first, second = command_for(
        float(solution.charge_kwh[t]) / dt,
        float(solution.discharge_kwh[t]) / dt,
        problem.battery.pct(float(solution.soc_end_kwh[t])),
        problem.battery,
        options.discharge_command,
        options.command_duration_h,
    )
    # Among the rounded commands (and idle), take the one that is cheapest once the energy it
    # leaves in the battery is valued at the LP's marginal value of stored energy.
    value = float(solution.soc_value_per_kwh[t])
    best: tuple[float, Command, SlotOutcome] | None = None
    if action_of(first) is Action.IDLE:
        return first, _play(problem, slot, first)
    for command in (first, second, commands.basic(options.command_duration_h)):
        if command is None:
            continue
        outcome = _play(problem, slot, command)
        if not _within_grid(outcome, problem):
            continue
        price_in, price_out = float(problem.price_import[t]), float(problem.price_export[t])
        score = (
            outcome.import_kwh * price_in
            - outcome.export_kwh * price_out
            + outcome.discharge_kwh * problem.battery.cycle_cost_per_kwh
            - value * outcome.soc_end_kwh
        )
        if best is None or score < best[0] - 1e-9:
            best = (score, command, outcome)
    if best is None:
        idle = commands.basic(options.command_duration_h)
        return idle, _play(problem, slot, idle)
    return best[1], best[2]


def _row(
    problem: Problem, t: int, soc_kwh: float, command: Command, outcome: SlotOutcome
) -> PlanSlot:
    dt, battery = problem.dt_h, problem.battery
    return PlanSlot(
        start=problem.starts[t],
        end=problem.starts[t] + timedelta(hours=dt),
        action=action_of(command),
        charge_kw=outcome.charge_kwh / dt,
        discharge_kw=outcome.discharge_kwh / dt,
        grid_import_kwh=outcome.import_kwh,
        grid_export_kwh=outcome.export_kwh,
        soc_start_pct=battery.pct(soc_kwh),
        soc_end_pct=battery.pct(outcome.soc_end_kwh),
        price_import_per_kwh=float(problem.price_import[t]),
        price_export_per_kwh=float(problem.price_export[t]),
        load_kwh=float(problem.load_kwh[t]),
        pv_kwh=float(problem.pv_kwh[t]),
        pv_curtailed_kwh=outcome.curtail_kwh,
        command=command,
    )


def executable_slots(
    problem: Problem, solution: LpSolution, options: PlanOptions
) -> list[PlanSlot]:
    """Map each slot to a device command and recompute the SOC path the commands really give.

    Each slot's target is the LP's planned end SOC (whole percent), so rounding errors do not
    accumulate: every slot aims at an absolute SOC from wherever the previous slot really ended.
    """
    slots: list[PlanSlot] = []
    soc = problem.soc_start_kwh
    for t in range(problem.n):
        command, outcome = _choose(problem, solution, _SlotInput(t, soc), options)
        if (
            action_of(command) is not Action.IDLE
            and outcome.charge_kwh + outcome.discharge_kwh <= TOL_KWH
        ):
            command = commands.basic(options.command_duration_h)
        slots.append(_row(problem, t, soc, command, outcome))
        soc = outcome.soc_end_kwh
    return slots


def played_slots(problem: Problem, chosen: Sequence[Command]) -> list[PlanSlot]:
    """Slots that run ``chosen`` commands in order, with the SOC path they really give."""
    slots: list[PlanSlot] = []
    soc = problem.soc_start_kwh
    for t, command in enumerate(chosen):
        outcome = _play(problem, _SlotInput(t, soc), command)
        slots.append(_row(problem, t, soc, command, outcome))
        soc = outcome.soc_end_kwh
    return slots


def idle_slots(problem: Problem, options: PlanOptions) -> list[PlanSlot]:
    """The do-nothing timetable: ``SET_BASIC_MODE`` in every slot."""
    return played_slots(problem, [commands.basic(options.command_duration_h)] * problem.n)


def no_battery_cost(problem: Problem) -> float:
    """What the horizon costs with the battery left idle (currency units)."""
    net = problem.load_kwh - problem.pv_kwh
    cap = problem.grid.max_export_kw * problem.dt_h if problem.grid.export_allowed else 0.0
    imports = np.clip(net, 0.0, None)
    exports = np.minimum(np.clip(-net, 0.0, None), cap)
    return float(imports @ problem.price_import - exports @ problem.price_export)
