"""The planner: a pure function from prices, forecasts and the battery's state to a timetable.

``plan_policy()`` checks feasibility and computes the exact cost-to-go of the planner's model
(dynamic programme over stored energy, ``dp.value_functions``: one direction per slot for the
battery and the meter). The resulting ``Policy`` chooses every slot's device command from the SOC
actually reached (``policy.Policy.choose``); ``plan_problem()`` plays it along the forecast into
the executable timetable, which only goes out after the acceptance gate passes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.domain import BatterySpec, GridSpec, PlanSlot, Timetable
from optimizer.errors import InfeasiblePlan
from optimizer.planning.dp import CostToGo, cost_to_go, optimal_path
from optimizer.planning.gate import check_timetable
from optimizer.planning.hedge import hedged_cost_to_go, scenario_pairs
from optimizer.planning.inputs import PlanOptions, Problem, build_problem, terminal_value_per_kwh
from optimizer.planning.policy import Policy
from optimizer.planning.solution import LpSolution
from optimizer.planning.timetable import idle_slots, no_battery_cost
from optimizer.timeseries import FloatArray

if TYPE_CHECKING:
    from optimizer.planning.reuse import ModelCache

__all__ = [
    "PlanOptions",
    "Policy",
    "Problem",
    "build_problem",
    "plan",
    "plan_policy",
    "plan_problem",
    "plan_timetable",
]

IDLE_STATUS = "idle (no executable plan beats doing nothing)"


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


def _money(problem: Problem, solution: LpSolution) -> float:
    return float(
        solution.import_kwh @ problem.price_import - solution.export_kwh @ problem.price_export
    )


def _check_reachable(slots: list[PlanSlot], problem: Problem) -> None:
    """``InfeasiblePlan`` naming the first slot whose import the device's commands cannot keep
    within the grid limit (the model's continuous optimum can, by less than one power step or
    one whole percent of SOC)."""
    cap = problem.grid.max_import_kw * problem.dt_h
    for slot in slots:
        if slot.grid_import_kwh > cap + 1e-6:
            raise InfeasiblePlan(
                f"slot {slot.start.isoformat()}: the device's commands (whole-percent SOC "
                f"targets, 5 % power steps) cannot keep the import within the grid limit: "
                f"{slot.grid_import_kwh:.3f} kWh against {cap:.3f} kWh"
            )


def _with_slack(problem: Problem) -> Problem | None:
    """``problem`` with the import limit one whole percent of SOC (as AC energy per slot)
    tighter, where the limit can bind at all (``None`` where it cannot: most houses).

    The cost-to-go is exact for continuous control; the device moves in whole-percent targets
    and 5 % power steps. Where a load the import limit cannot carry alone needs the battery, a
    continuous plan on the very edge may be out of the device's reach, so the plan is made with
    this much room and the commands are chosen within the true limit.
    """
    b, grid, dt = problem.battery, problem.grid, problem.dt_h
    slack_kw = b.kwh(1.0) / b.charge_efficiency / dt
    peak_kw = float(problem.net_kwh.max()) / dt + b.max_charge_kw
    if peak_kw <= grid.max_import_kw - slack_kw:
        return None
    tighter = replace(
        grid, max_import_kw=max(grid.max_import_kw - slack_kw, grid.max_import_kw / 2)
    )
    return replace(problem, grid=tighter)


def _cost_to_go(problem: Problem, value: float) -> CostToGo | None:
    """``dp.cost_to_go`` of ``problem``, or ``None`` when it is infeasible from its start."""
    try:
        backward = cost_to_go(problem, value)
    except InfeasiblePlan:
        return None
    if not np.isfinite(backward.to_go[0].at(np.array([problem.soc_start_kwh]))[0]):
        return None
    return backward


def _hedged(
    problem: Problem,
    scenarios: tuple[FloatArray, FloatArray] | None,
    value: float,
    pv_scenarios: tuple[FloatArray, FloatArray] | None = None,
) -> CostToGo | None:
    """The cost-to-go hedged over ``(load paths, weights)`` and ``(PV paths, weights)``
    (every pair of a load and a PV path, weights multiplied; ``None``: no scenarios, or one
    of them cannot be supplied: the plan then stands on the forecast alone)."""
    if scenarios is None and pv_scenarios is None:
        return None  # scenario_pairs' answer for one path each, without building them
    paths = scenario_pairs(problem, scenarios, pv_scenarios)
    if paths is None:
        return None
    try:
        hedged = hedged_cost_to_go(problem, paths[0], paths[2], value, pvs=paths[1])
    except InfeasiblePlan:
        return None
    if hedged is None or not np.isfinite(hedged.to_go[0].at(np.array([problem.soc_start_kwh]))[0]):
        return None
    return hedged


def plan_policy(
    problem: Problem,
    options: PlanOptions,
    with_path: bool = False,
    scenarios: tuple[FloatArray, FloatArray] | None = None,
    pv_scenarios: tuple[FloatArray, FloatArray] | None = None,
) -> Policy:
    """The policy of an already checked ``Problem``: its exact cost-to-go and command choice.

    ``with_path`` builds the forecast path's rows on the way (for a timetable). ``scenarios``
    (load paths × slots in kWh, and their probabilities) make the cost-to-go their expected
    one (``optimizer.planning.hedge``) where the import limit cannot bind; ``pv_scenarios``
    (PV paths × slots in kWh, and their probabilities) likewise.
    Raises ``InfeasiblePlan`` naming the slot that cannot be supplied.
    """
    value = terminal_value_per_kwh(problem, options.terminal_soc_value)
    roomy = _with_slack(problem)
    hedged = _hedged(problem, scenarios, value, pv_scenarios) if roomy is None else None
    backward = (
        hedged or (_cost_to_go(roomy, value) if roomy else None) or _cost_to_go(problem, value)
    )
    if backward is None:
        raise _explain_infeasible(problem)
    policy = Policy(
        problem, backward, options, value, slack=roomy is not None or hedged is not None
    )
    if with_path:
        policy.path()
    idle_feasible = bool(
        (problem.net_kwh <= problem.grid.max_import_kw * problem.dt_h + 1e-9).all()
    )
    # A hedged plan is made for the scenarios, not the point forecast: it may pay on the
    # forecast to be ready for the dull or busy case, so it is not compared on the forecast.
    if hedged is None and idle_feasible and policy.walk_cost() > no_battery_cost(problem) + 1e-9:
        # The device's whole-percent targets and power steps can, rarely, undo a marginal
        # gain; doing nothing is then the better executable plan, so never act worse than it
        # (where doing nothing is possible at all: a load above the import limit needs the
        # battery).
        return policy.with_idle()
    return policy


def plan_timetable(policy: Policy, cache: ModelCache | None = None) -> Timetable:
    """The executable timetable of ``policy`` along its forecast, through the acceptance gate.

    ``lp_cost`` is the optimiser's own figure: the exact optimum's import cost less export
    revenue before device commands (``planner.solver = "highs"``/``"cbc"`` computes it with the
    LP, a cross-check of the dynamic programme).
    """
    problem, options = policy.problem, policy.options
    value = policy.terminal_value_per_kwh
    if options.solver == "dp":
        # With room kept at the import limit the backward pass is of a tighter model: the
        # optimum's own figure is the true model's.
        true_model = _cost_to_go(problem, value) if policy.slack else policy.backward
        solution = optimal_path(problem, true_model or policy.backward)
    elif cache is None:
        from optimizer.planning.model import solve  # PuLP and HiGHS only when asked for

        solution = solve(problem, value, options.solver)
    else:
        solution = cache.solve(problem, value, options.solver)
    if policy.idle:
        slots, status = idle_slots(problem, options), IDLE_STATUS
    else:
        slots = policy.path()
        both = f", the LP did both directions {solution.exact_slots} times"
        status = f"optimal ({solution.solver}{both if solution.exact_slots else ''})"
    _check_reachable(slots, problem)
    check_timetable(slots, problem)
    discharged = sum(slot.discharge_kw for slot in slots) * problem.dt_h
    return Timetable(
        slots=tuple(slots),
        status=status,
        cost=sum(slot.cost for slot in slots),
        no_battery_cost=no_battery_cost(problem),
        cycle_cost=discharged * problem.battery.cycle_cost_per_kwh,
        terminal_value_per_kwh=value,
        solver=solution.solver,
        lp_cost=_money(problem, solution),
    )


def plan_problem(
    problem: Problem, options: PlanOptions, cache: ModelCache | None = None
) -> Timetable:
    """Plan an already checked ``Problem`` into a checked executable timetable."""
    return plan_timetable(plan_policy(problem, options, with_path=True), cache)


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
