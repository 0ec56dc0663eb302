"""The planner: a pure function from prices, forecasts and the battery's state to a timetable.

``plan()`` checks its inputs, solves the LP (exactly excluding simultaneous charge/discharge
and import/export), maps every slot onto a command the xStorage Home understands, recomputes
the SOC path those commands really give, and only returns it after the acceptance gate passes.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from optimizer.domain import BatterySpec, GridSpec, PlanSlot, Timetable
from optimizer.errors import InfeasiblePlan
from optimizer.planning.dp import solve_dp
from optimizer.planning.gate import check_timetable
from optimizer.planning.inputs import PlanOptions, Problem, build_problem, terminal_value_per_kwh
from optimizer.planning.model import solve
from optimizer.planning.reuse import ModelCache
from optimizer.planning.solution import LpSolution
from optimizer.planning.timetable import executable_slots, idle_slots, no_battery_cost

__all__ = ["ModelCache", "PlanOptions", "Problem", "build_problem", "plan", "plan_problem"]


def _explain_infeasible(problem: Problem) -> InfeasiblePlan:
    dt = problem.dt_h
    demand = problem.load_kwh - problem.pv_kwh
    short = demand > (problem.grid.max_import_kw + problem.battery.max_discharge_kw) * dt
    if short.any():
        t = int(np.argmax(short))
        return InfeasiblePlan(
            f"slot {problem.index[t].isoformat()}: net load {demand[t] / dt:.2f} kW is more than "
            f"grid import ({problem.grid.max_import_kw} kW) plus battery discharge "
            f"({problem.battery.max_discharge_kw} kW) can supply"
        )
    return InfeasiblePlan(
        "no plan meets the battery, grid and SOC limits: net load exceeds what the grid "
        "import limit and the stored energy above min_soc_pct can supply"
    )


def _lp_cost(problem: Problem, solution: LpSolution) -> float:
    return float(
        solution.import_kwh @ problem.price_import - solution.export_kwh @ problem.price_export
    )


def _adjusted_cost(slots: list[PlanSlot], problem: Problem, value: float) -> float:
    """Cost of ``slots`` less the value of the energy they add to the battery."""
    gained_kwh = problem.battery.kwh(slots[-1].soc_end_pct) - problem.soc_start_kwh
    cycle = sum(s.discharge_kw for s in slots) * problem.dt_h * problem.battery.cycle_cost_per_kwh
    return sum(s.cost for s in slots) + cycle - value * gained_kwh


def plan_problem(
    problem: Problem, options: PlanOptions, cache: ModelCache | None = None
) -> Timetable:
    """Plan an already checked ``Problem``.

    ``cache`` re-uses solver models between calls (same result, faster for many similar plans).
    """
    value = terminal_value_per_kwh(problem, options.terminal_soc_value)
    try:
        if options.solver == "dp":
            solution = solve_dp(problem, value)
        elif cache is None:
            solution = solve(problem, value, options.solver)
        else:
            solution = cache.solve(problem, value, options.solver)
    except InfeasiblePlan:
        raise _explain_infeasible(problem) from None
    slots = executable_slots(problem, solution, options)
    exact = (
        f", LP did both directions in {solution.exact_slots} slots" if solution.exact_slots else ""
    )
    status = f"optimal ({solution.solver}{exact})"
    if _adjusted_cost(slots, problem, value) > no_battery_cost(problem) + 1e-9:
        # Rounding to device commands can, rarely, undo a marginal gain; doing nothing is then
        # the better executable plan, so never hand out one that is worse than it.
        slots = idle_slots(problem, options)
        status = "idle (no executable plan beats doing nothing)"
    check_timetable(slots, problem)
    cost = sum(slot.cost for slot in slots)
    discharged = sum(slot.discharge_kw for slot in slots) * problem.dt_h
    return Timetable(
        slots=tuple(slots),
        status=status,
        cost=cost,
        no_battery_cost=no_battery_cost(problem),
        cycle_cost=discharged * problem.battery.cycle_cost_per_kwh,
        terminal_value_per_kwh=value,
        solver=solution.solver,
        lp_cost=_lp_cost(problem, solution),
    )


def plan(
    price_import: pd.Series,
    price_export: pd.Series | None,
    load_kwh: pd.Series | None,
    pv_kwh: pd.Series | None,
    battery: BatterySpec,
    grid: GridSpec,
    soc_pct: float,
    start: datetime,
    options: PlanOptions | None = None,
) -> Timetable:
    """A checked timetable from ``start`` (UTC) for the given prices and forecasts.

    Prices are currency units per kWh, load and PV kWh per slot, all indexed by UTC slot start.
    Raises ``InvalidInput`` (naming the first bad slot), ``InfeasiblePlan`` or ``SolverError``.
    """
    options = options or PlanOptions()
    problem = build_problem(
        price_import, price_export, load_kwh, pv_kwh, battery, grid, soc_pct, start, options
    )
    return plan_problem(problem, options)
