"""Re-use one HiGHS model per problem shape across many similar plans (the rolling backtest).

Re-planning every slot solves thousands of LPs that differ only in their data. Building a
PuLP model and handing it to HiGHS each time costs more than solving it, so ``ModelCache``
builds the PuLP model of a *shape* (number of slots, slot length, battery, grid) once, hands
it to HiGHS with ``BulkHiGHS`` (PuLP stays the modelling layer), and for each later problem of
that shape only changes what depends on the problem:

* costs: import price, minus export price, minus the terminal value of the last SOC column;
* column bounds: curtailment cap (= PV, kWh), SOC window (it widens to include the start SOC);
* row bounds: balance (load - PV), source (PV) and first state row (start SOC), all kWh.

HiGHS then solves it from scratch: re-starting from the previous basis is faster, but where
optima tie (equal prices) it can return another optimal plan than a fresh model would, and the
results must equal the fresh solve's. Every slot has a curtailment column (capped at 0
where there is no PV), which is the same feasible set as the fresh model's. When the LP optimum
charges and discharges, or imports and exports, in one slot (binaries needed), the fresh exact
``solve()`` goes on from those slots' binaries; when it is not optimal, or the solver is CBC,
the fresh ``solve()`` does everything: results and errors are unchanged.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import highspy
import numpy as np
import pulp

from optimizer.domain import BatterySpec, GridSpec
from optimizer.planning.inputs import Problem
from optimizer.planning.model import (
    _Model,
    _solver,
    curtailment_may_pay,
    exact_solution,
    solve,
    starts_outside_window,
)
from optimizer.planning.solution import LpSolution, both_directions
from optimizer.timeseries import FloatArray, IntArray

Shape = tuple[int, float, BatterySpec, GridSpec]


def _shape(problem: Problem) -> Shape:
    return (problem.n, problem.dt_h, problem.battery, problem.grid)


def _columns(variables: list[pulp.LpVariable]) -> IntArray:
    return np.array([v.index for v in variables], dtype=np.int32)


def _rows(model: _Model, prefix: str) -> IntArray:
    """HiGHS row indices of the constraints ``prefix0``, ``prefix1``, ... (one per slot)."""
    rows = [model.lp.get_constraint_by_name(f"{prefix}{t}") for t in range(model.problem.n)]
    return np.array([row.index for row in rows if row is not None], dtype=np.int32)


class _Reusable:
    """The HiGHS model of one shape, built once from PuLP and updated in place per problem."""

    def __init__(self, problem: Problem, terminal_value: float) -> None:
        model = _Model(problem, terminal_value, curtail_everywhere=True)
        solver = _solver("highs")
        solver.createAndConfigureSolver(model.lp)
        solver.buildSolverModel(model.lp)
        self.highs: Any = model.lp.solverModel
        curtail = [u for u in model.curtail if u is not None]
        self.charge, self.discharge = _columns(model.charge), _columns(model.discharge)
        self.imp, self.exp = _columns(model.imp), _columns(model.exp)
        self.soc, self.curtail = _columns(model.soc), _columns(curtail)
        self.priced = np.concatenate([self.imp, self.exp, self.soc[-1:]])
        self.bounded = np.concatenate([self.soc, self.curtail])
        self.balance, self.source = _rows(model, "bal"), _rows(model, "src")
        self.state = _rows(model, "soc")
        self.rows = np.concatenate([self.balance, self.source, self.state[:1]])

    def _update(self, problem: Problem, terminal_value: float) -> None:
        battery, start, n = problem.battery, problem.soc_start_kwh, problem.n
        cost = np.concatenate([problem.price_import, -problem.price_export, [-terminal_value]])
        self.highs.changeColsCost(len(self.priced), self.priced, cost.astype(np.float64))
        # Same window as the fresh model: a start outside it may stay, never go further out.
        low = min(battery.kwh(battery.min_soc_pct), start)
        high = max(battery.kwh(battery.max_soc_pct), start)
        pv = np.asarray(problem.pv_kwh, dtype=np.float64)
        lower = np.concatenate([np.full(n, low), np.zeros(n)])
        upper = np.concatenate([np.full(n, high), pv])
        self.highs.changeColsBounds(len(self.bounded), self.bounded, lower, upper)
        net = np.asarray(problem.load_kwh - problem.pv_kwh, dtype=np.float64)
        row_low = np.concatenate([net, np.full(n, -highspy.kHighsInf), [start]])
        row_high = np.concatenate([net, pv, [start]])
        self.highs.changeRowsBounds(len(self.rows), self.rows, row_low, row_high)

    def solve(self, problem: Problem, terminal_value: float) -> LpSolution | int | None:
        """The LP optimum of ``problem``; else how many slots of it do both directions, or
        ``None`` when there is no optimum."""
        self._update(problem, terminal_value)
        # Solve from scratch, as a fresh model would: from the last problem's basis HiGHS can
        # end at another optimal vertex where optima tie, i.e. another plan of equal cost.
        self.highs.clearSolver()
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        solution = self.highs.getSolution()
        x = np.asarray(solution.col_value, dtype=np.float64)
        charge, discharge = x[self.charge], x[self.discharge]
        imp, exp = x[self.imp], x[self.exp]
        violations = both_directions(charge, discharge, imp, exp)
        if violations:
            return violations
        curtail: FloatArray = x[self.curtail]
        return LpSolution(
            charge_kwh=charge,
            discharge_kwh=discharge,
            import_kwh=imp,
            export_kwh=exp,
            curtail_kwh=curtail,
            soc_end_kwh=x[self.soc],
            objective=float(self.highs.getInfo().objective_function_value),
            solver="highs",
        )


class ModelCache:
    """Solves ``Problem``s like ``model.solve`` does, re-using one HiGHS model per shape.

    Keep one per run of similar plans (not a global): it holds up to ``max_shapes`` models,
    dropping the least recently used. ``reused`` and ``fresh`` count the solves that took the
    cached model and the ones that went on to the exact DP, to CBC or found no optimum.
    """

    def __init__(self, max_shapes: int = 256) -> None:
        self.max_shapes = max_shapes
        self._models: OrderedDict[Shape, _Reusable] = OrderedDict()
        self.reused = 0
        self.fresh = 0

    def _model(self, problem: Problem, terminal_value: float) -> _Reusable:
        key = _shape(problem)
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = _Reusable(problem, terminal_value)
            if len(self._models) > self.max_shapes:
                self._models.popitem(last=False)
        else:
            self._models.move_to_end(key)
        return model

    def solve(self, problem: Problem, terminal_value: float, solver: str = "highs") -> LpSolution:
        """Optimal schedule of ``problem``; raises ``InfeasiblePlan`` or ``SolverError``."""
        if solver == "highs" and not (
            starts_outside_window(problem) or curtailment_may_pay(problem)
        ):
            solution = self._model(problem, terminal_value).solve(problem, terminal_value)
            if isinstance(solution, LpSolution):
                self.reused += 1
                return solution
            if solution is not None:
                self.fresh += 1
                return exact_solution(problem, terminal_value, solution)
        self.fresh += 1
        return solve(problem, terminal_value, solver)
