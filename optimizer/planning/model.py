"""The linear program: build it with PuLP, solve it with HiGHS (CBC as fallback), read it back.

Per slot ``t`` (energies in kWh over the slot, AC side):
``charge[t]``, ``discharge[t]``, ``grid_import[t]``, ``grid_export[t]``, ``curtail[t]`` (PV not
used, only where PV > 0) and ``soc[t]`` (stored kWh at the slot's end), with

* balance:  import - export = load - (pv - curtail) + charge - discharge
* state:    soc[t] = soc[t-1] + eta_c * charge - discharge / eta_d   (one-step recursion)
* source:   export <= (pv - curtail) + discharge   (never export energy bought from the grid)
* bounds:   power limits x slot length, grid limits, SOC window

minimising ``import * p_import - export * p_export + cycle_cost * discharge - v * soc[end]``.

One inverter and one meter cannot charge and discharge, nor import and export, in the same slot.
Such a plan only pays when prices make wasting energy profitable (negative prices, export paid
more than import), so the model first solves the plain LP: when its optimum does neither
anywhere, it is the optimum of the exact model too (it solves a relaxation of it). Otherwise
the exact model is solved by the dynamic programme over stored energy in
``optimizer.planning.dp``, which is exact without binaries and, for these horizons, several
times faster than the mixed-integer model it replaced (``docs/benchmarks.md``).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pulp

from optimizer.errors import InfeasiblePlan, SolverError
from optimizer.planning.dp import solve_dp
from optimizer.planning.highs import BulkHiGHS
from optimizer.planning.inputs import Problem
from optimizer.planning.solution import TIE_BREAK_PER_KWH, LpSolution, both_directions
from optimizer.timeseries import FloatArray

log = logging.getLogger(__name__)


class _Model:
    """One PuLP model of a ``Problem``."""

    def __init__(
        self, problem: Problem, terminal_value: float, curtail_everywhere: bool = False
    ) -> None:
        self.problem = problem
        #: A ``curtail`` column in every slot (capped at the PV, so 0 where there is none):
        #: the same feasible set, in a shape that does not depend on where PV is forecast.
        self.curtail_everywhere = curtail_everywhere
        self.lp = pulp.LpProblem("xstorage_plan", pulp.LpMinimize)
        self._variables()
        self._constraints()
        self._objective(terminal_value)

    def _soc_bounds(self) -> tuple[float, float]:
        battery, start = self.problem.battery, self.problem.soc_start_kwh
        # A battery measured outside its window may stay where it is, but never go further out.
        low = min(battery.kwh(battery.min_soc_pct), start)
        high = max(battery.kwh(battery.max_soc_pct), start)
        return low, high

    def _variables(self) -> None:
        p, dt = self.problem, self.problem.dt_h
        export_cap = p.grid.max_export_kw * dt if p.grid.export_allowed else 0.0
        low, high = self._soc_bounds()
        var = self.lp.add_variable
        n = range(p.n)
        self.charge = [var(f"c{t}", 0, p.battery.max_charge_kw * dt) for t in n]
        self.discharge = [var(f"d{t}", 0, p.battery.max_discharge_kw * dt) for t in n]
        self.imp = [var(f"i{t}", 0, p.grid.max_import_kw * dt) for t in n]
        self.exp = [var(f"e{t}", 0, export_cap) for t in n]
        self.soc = [var(f"s{t}", low, high) for t in n]
        self.curtail: list[pulp.LpVariable | None] = [
            var(f"u{t}", 0, float(p.pv_kwh[t]))
            if p.pv_kwh[t] > 0 or self.curtail_everywhere
            else None
            for t in n
        ]

    def _constraints(self) -> None:
        p = self.problem
        eta_c, inv_eta_d = p.battery.charge_efficiency, 1.0 / p.battery.discharge_efficiency
        expr, add = pulp.LpAffineExpression, self.lp.addConstraint
        for t in range(p.n):
            c, d, i, e, u = (
                self.charge[t],
                self.discharge[t],
                self.imp[t],
                self.exp[t],
                self.curtail[t],
            )
            balance = [(i, 1.0), (e, -1.0), (c, -1.0), (d, 1.0)]
            source = [(e, 1.0), (d, -1.0)]
            if u is not None:
                balance.append((u, -1.0))
                source.append((u, 1.0))
            net = float(p.load_kwh[t] - p.pv_kwh[t])
            add(pulp.LpConstraint(expr(balance), pulp.LpConstraintEQ, f"bal{t}", net))
            add(pulp.LpConstraint(expr(source), pulp.LpConstraintLE, f"src{t}", float(p.pv_kwh[t])))
            state = [(self.soc[t], 1.0), (c, -eta_c), (d, inv_eta_d)]
            previous = p.soc_start_kwh
            if t:
                state.append((self.soc[t - 1], -1.0))
                previous = 0.0
            add(pulp.LpConstraint(expr(state), pulp.LpConstraintEQ, f"soc{t}", previous))

    def _objective(self, terminal_value: float) -> None:
        p = self.problem
        cycle = p.battery.cycle_cost_per_kwh
        terms: list[tuple[pulp.LpVariable, float]] = []
        for t in range(p.n):
            terms.append((self.imp[t], float(p.price_import[t])))
            terms.append((self.exp[t], -float(p.price_export[t])))
            terms.append((self.discharge[t], cycle + TIE_BREAK_PER_KWH))
            terms.append((self.charge[t], TIE_BREAK_PER_KWH))
        if terminal_value:
            terms.append((self.soc[-1], -terminal_value))
        self.lp.setObjective(pulp.LpAffineExpression(terms))

    def values(self, variables: list[pulp.LpVariable]) -> FloatArray:
        """Solution values of ``variables``; a missing value is a solver fault."""
        out = np.empty(len(variables))
        for k, v in enumerate(variables):
            value = v.value()
            if value is None:
                raise SolverError(f"solver returned no value for {v.name}")
            out[k] = value
        return out


def _solver(name: str) -> pulp.LpSolver:
    if name == "highs":
        return BulkHiGHS(msg=False, threads=1, timeLimit=60)
    return pulp.PULP_CBC_CMD(msg=False, timeLimit=60)


def _run(model: _Model, solver_name: str) -> str:
    """Solve with ``solver_name``, falling back to CBC when HiGHS is unusable."""
    order = [solver_name] if solver_name == "cbc" else [solver_name, "cbc"]
    failures = []
    for name in order:
        try:
            model.lp.solve(_solver(name))
        except (pulp.PulpSolverError, ImportError, OSError) as exc:
            failures.append(f"{name}: {exc}")
            log.warning("solver %s failed (%s); trying the next one", name, exc)
            continue
        return name
    raise SolverError("no LP solver could run: " + "; ".join(failures))


def _check_status(model: _Model, solver: str) -> None:
    status = model.lp.status
    if status == pulp.LpStatusInfeasible:
        raise InfeasiblePlan("no plan meets the battery, grid and SOC limits for these inputs")
    if status != pulp.LpStatusOptimal or model.lp.sol_status != pulp.LpSolutionOptimal:
        raise SolverError(
            f"{solver} finished with status {pulp.LpStatus.get(status, status)} "
            f"(solution status {model.lp.sol_status}); refusing to use it"
        )


def exact_solution(problem: Problem, terminal_value: float, violations: int) -> LpSolution:
    """The exact model's optimum when the LP's does both directions in ``violations`` slots."""
    log.debug("LP optimum does both directions in %d slots: exact DP", violations)
    return replace(solve_dp(problem, terminal_value), exact_slots=violations)


def starts_outside_window(problem: Problem) -> bool:
    """True when the start SOC lies outside ``min_soc_pct..max_soc_pct`` (the LP cannot state
    the path-dependent bounds that apply then)."""
    b = problem.battery
    return not b.kwh(b.min_soc_pct) <= problem.soc_start_kwh <= b.kwh(b.max_soc_pct)


def curtailment_may_pay(problem: Problem) -> bool:
    """True when some slot has PV at a negative import or export price: there the LP's free
    ``curtail`` column could pay, which the device cannot do (it curtails only beyond the export
    limit or under an export limit of 0 W, ``optimizer.planning.dp``)."""
    negative = (problem.price_import < 0) | (problem.price_export < 0)
    return bool(np.any((problem.pv_kwh > 0) & negative))


def solve(problem: Problem, terminal_value: float, solver: str = "highs") -> LpSolution:
    """Optimal schedule of ``problem``; raises ``InfeasiblePlan`` or ``SolverError``.

    A start outside the SOC window makes the bounds depend on the path (never charged back
    above ``max_soc_pct``, never discharged below ``min_soc_pct``), which an LP cannot state:
    the exact dynamic programme decides then; so it does where the LP could curtail PV in a way
    the device cannot (``curtailment_may_pay``).
    """
    if starts_outside_window(problem) or curtailment_may_pay(problem):
        return solve_dp(problem, terminal_value)
    model = _Model(problem, terminal_value)
    used = _run(model, solver)
    _check_status(model, used)
    flows = [model.values(v) for v in (model.charge, model.discharge, model.imp, model.exp)]
    violations = both_directions(*flows)
    if violations:
        return exact_solution(problem, terminal_value, violations)
    curtail = np.array([u.value() or 0.0 if u is not None else 0.0 for u in model.curtail])
    objective = pulp.value(model.lp.objective)
    charge, discharge, imp, exp = flows
    return LpSolution(
        charge_kwh=charge,
        discharge_kwh=discharge,
        import_kwh=imp,
        export_kwh=exp,
        curtail_kwh=curtail,
        soc_end_kwh=model.values(model.soc),
        objective=float(objective) if objective is not None else 0.0,
        solver=used,
    )
