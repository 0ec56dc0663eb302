"""Timetables that play given commands, and the do-nothing reference."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from optimizer import commands
from optimizer.domain import Command, PlanSlot
from optimizer.planning.device import apply_command
from optimizer.planning.inputs import PlanOptions, Problem
from optimizer.planning.policy import slot_row


def walked_slots(problem: Problem, command_at: Callable[[int, float], Command]) -> list[PlanSlot]:
    """Every slot of ``problem`` running ``command_at(t, soc_kwh)`` from the SOC the earlier
    slots reach (on the problem's forecast), with the outcome the device model gives."""
    slots: list[PlanSlot] = []
    soc = problem.soc_start_kwh
    for t in range(problem.n):
        command = command_at(t, soc)
        outcome = apply_command(
            command, soc, float(problem.load_kwh[t]), float(problem.pv_kwh[t]), problem.dt_h,
            problem.battery, problem.grid,
        )  # fmt: skip
        slots.append(slot_row(problem, t, soc, command, outcome))
        soc = outcome.soc_end_kwh
    return slots


def played_slots(problem: Problem, chosen: Sequence[Command]) -> list[PlanSlot]:
    """Slots that run ``chosen`` commands in order (one per slot), with the SOC path they give."""
    return walked_slots(problem, lambda t, _soc: chosen[t])


def idle_slots(problem: Problem, options: PlanOptions) -> list[PlanSlot]:
    """The do-nothing timetable: ``SET_BASIC_MODE`` in every slot."""
    return played_slots(problem, [commands.basic(options.command_duration_h)] * problem.n)


def no_battery_cost(problem: Problem) -> float:
    """What the horizon costs with the battery left idle (currency units)."""
    net = problem.net_kwh
    cap = problem.grid.max_export_kw * problem.dt_h if problem.grid.export_allowed else 0.0
    imports = np.maximum(net, 0.0)  # np.clip(net, 0.0, None) is this, behind a wrapper
    exports = np.minimum(np.maximum(-net, 0.0), cap)
    return float(imports @ problem.price_import - exports @ problem.price_export)
