"""Timetables that play given commands, and the do-nothing reference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from optimizer import commands
from optimizer.domain import Command, PlanSlot
from optimizer.planning.device import apply_command
from optimizer.planning.inputs import PlanOptions, Problem
from optimizer.planning.policy import slot_row


def played_slots(problem: Problem, chosen: Sequence[Command]) -> list[PlanSlot]:
    """Slots that run ``chosen`` commands in order, with the SOC path they really give."""
    slots: list[PlanSlot] = []
    soc = problem.soc_start_kwh
    for t, command in enumerate(chosen):
        outcome = apply_command(
            command, soc, float(problem.load_kwh[t]), float(problem.pv_kwh[t]), problem.dt_h,
            problem.battery, problem.grid,
        )  # fmt: skip
        slots.append(slot_row(problem, t, soc, command, outcome))
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
