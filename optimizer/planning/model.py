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
Such a plan only pays when prices make wasting energy profitable, so the model first solves the
plain LP; for each slot whose solution does both, it adds a binary that forbids it and solves
again. The LP optimum of a relaxation that satisfies every exclusion is optimal for the full
mixed-integer model, so the result is exact, and typical price series need no binary at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pulp

from optimizer.errors import InfeasiblePlan, SolverError
from optimizer.planning.highs import BulkHiGHS
from optimizer.planning.inputs import Problem
from optimizer.timeseries import FloatArray

log = logging.getLogger(__name__)

#: Below this many kWh in a slot, a flow counts as zero (solver tolerance, not a physical limit).
FLOW_TOL_KWH = 1e-6
#: A tie-breaker (currency per kWh through the battery): when moving energy gains exactly
#: nothing (flat prices), the plan leaves the battery alone instead of picking any equal cycle.
TIE_BREAK_PER_KWH = 1e-6


@dataclass(frozen=True, slots=True)
class LpSolution:
    """The solver's answer, per slot (kWh over the slot) plus its objective and method."""

    charge_kwh: FloatArray
    discharge_kwh: FloatArray
    import_kwh: FloatArray
    export_kwh: FloatArray
    curtail_kwh: FloatArray
    soc_end_kwh: FloatArray
    soc_value_per_kwh: FloatArray
    objective: float
    solver: str
    binaries: int


class _Model:
    """One PuLP model of a ``Problem``; binaries can be added slot by slot."""

    def __init__(
        self, problem: Problem, terminal_value: float, curtail_everywhere: bool = False
    ) -> None:
        self.problem = problem
        #: A ``curtail`` column in every slot (capped at the PV, so 0 where there is none):
        #: the same feasible set, in a shape that does not depend on where PV is forecast.
        self.curtail_everywhere = curtail_everywhere
        self.lp = pulp.LpProblem("xstorage_plan", pulp.LpMinimize)
        self.binary_slots: set[tuple[str, int]] = set()
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

    def exclude(self, kind: str, t: int) -> None:
        """Forbid simultaneous charge+discharge (``"battery"``) or import+export (``"grid"``)."""
        if (kind, t) in self.binary_slots:
            return
        self.binary_slots.add((kind, t))
        on = self.lp.add_variable(f"b_{kind}{t}", cat=pulp.LpBinary)
        first, second = (
            (self.charge[t], self.discharge[t]) if kind == "battery" else (self.imp[t], self.exp[t])
        )
        big_first, big_second = self._big_m(kind, t)
        expr = pulp.LpAffineExpression
        self.lp.addConstraint(expr([(first, 1.0), (on, -big_first)]) <= 0, f"x1{kind}{t}")
        self.lp.addConstraint(expr([(second, 1.0), (on, big_second)]) <= big_second, f"x2{kind}{t}")

    def _big_m(self, kind: str, t: int) -> tuple[float, float]:
        """Tight caps for the two exclusive flows of slot ``t`` while the other one is zero."""
        p, dt = self.problem, self.problem.dt_h
        if kind == "battery":
            # Charging alone cannot take more than the grid and PV can deliver, and discharging
            # alone cannot send out more than the house and the export limit can take.
            charge_cap = p.grid.max_import_kw * dt + float(p.pv_kwh[t])
            discharge_cap = float(p.load_kwh[t]) + float(self.exp[t].upBound)
            return (
                min(float(self.charge[t].upBound), charge_cap),
                min(float(self.discharge[t].upBound), discharge_cap),
            )
        # Importing alone covers at most the load plus full charging; exporting alone sends
        # at most the PV plus full discharging.
        import_cap = float(p.load_kwh[t]) + float(self.charge[t].upBound)
        export_cap = float(p.pv_kwh[t]) + float(self.discharge[t].upBound)
        return (
            min(float(self.imp[t].upBound), import_cap),
            min(float(self.exp[t].upBound), export_cap),
        )

    def values(self, variables: list[pulp.LpVariable]) -> FloatArray:
        """Solution values of ``variables``; a missing value is a solver fault."""
        out = np.empty(len(variables))
        for k, v in enumerate(variables):
            value = v.value()
            if value is None:
                raise SolverError(f"solver returned no value for {v.name}")
            out[k] = value
        return out


def _solver(name: str, mixed_integer: bool = False) -> pulp.LpSolver:
    if name == "highs":
        # With binaries, HiGHS's presolve costs more than it saves on this model (measured:
        # 1.3 s instead of 4.4 s on a week of negative Agile prices).
        extra = {"presolve": "off"} if mixed_integer else {}
        return BulkHiGHS(msg=False, gapRel=1e-4, threads=1, timeLimit=60, **extra)
    return pulp.PULP_CBC_CMD(msg=False, gapRel=1e-4, timeLimit=60)


def _run(model: _Model, solver_name: str) -> str:
    """Solve with ``solver_name``, falling back to CBC when HiGHS is unusable."""
    order = [solver_name] if solver_name == "cbc" else [solver_name, "cbc"]
    failures = []
    for name in order:
        try:
            model.lp.solve(_solver(name, bool(model.binary_slots)))
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


def _violations(model: _Model) -> list[tuple[str, int]]:
    both = np.minimum
    c, d = model.values(model.charge), model.values(model.discharge)
    i, e = model.values(model.imp), model.values(model.exp)
    battery = np.flatnonzero(both(c, d) > FLOW_TOL_KWH)
    grid = np.flatnonzero(both(i, e) > FLOW_TOL_KWH)
    return [("battery", int(t)) for t in battery] + [("grid", int(t)) for t in grid]


def _tempting(problem: Problem) -> list[tuple[str, int]]:
    """Slots where prices reward doing both at once: export dearer than import (the meter),
    or a negative import price (the battery, wasting energy through its losses)."""
    grid = np.flatnonzero(problem.price_export > problem.price_import)
    battery = np.flatnonzero(problem.price_import < 0)
    return [("grid", int(t)) for t in grid] + [("battery", int(t)) for t in battery]


def _stored_energy_value(model: _Model, solver: str, terminal_value: float) -> FloatArray:
    """What one more stored kWh is worth at the end of each slot (currency per kWh).

    It is the negative of the dual of each slot's state row. A mixed-integer solve has no
    duals, so the binaries are fixed at their optimal values and the LP solved again.
    """
    n = model.problem.n
    if model.binary_slots:
        for var in model.lp.variables():
            if var.cat == pulp.LpInteger:
                fixed = round(var.value() or 0.0)
                var.cat, var.lowBound, var.upBound = pulp.LpContinuous, fixed, fixed
        _run(model, solver)
    rows = [model.lp.get_constraint_by_name(f"soc{t}") for t in range(n)]
    duals = [row.pi if row is not None else None for row in rows]
    if model.lp.status != pulp.LpStatusOptimal or any(d is None for d in duals):
        return np.full(n, terminal_value)
    return -np.array(duals, dtype=np.float64)


def _exclude(model: _Model, violations: list[tuple[str, int]], rounds: int) -> None:
    # Exclude every slot whose prices could tempt the LP too, not only the ones that did:
    # one mixed-integer round instead of several.
    for kind, t in violations + ([] if rounds > 1 else _tempting(model.problem)):
        model.exclude(kind, t)


def solve(
    problem: Problem,
    terminal_value: float,
    solver: str = "highs",
    lp_violations: list[tuple[str, int]] | None = None,
) -> LpSolution:
    """Optimal schedule of ``problem``; raises ``InfeasiblePlan`` or ``SolverError``.

    ``lp_violations``: the slots where the plain LP's optimum does both directions, when the
    caller has solved that LP already (it is then not solved again).
    """
    model = _Model(problem, terminal_value)
    rounds = 0
    if lp_violations:
        rounds = 1
        _exclude(model, lp_violations, rounds)
    while True:
        used = _run(model, solver)
        _check_status(model, used)
        violations = [v for v in _violations(model) if v not in model.binary_slots]
        if not violations:
            break
        rounds += 1
        _exclude(model, violations, rounds)
    curtail = np.array([u.value() or 0.0 if u is not None else 0.0 for u in model.curtail])
    objective = pulp.value(model.lp.objective)
    values = {
        name: model.values(getattr(model, name))
        for name in ("charge", "discharge", "imp", "exp", "soc")
    }
    soc_value = _stored_energy_value(model, used, terminal_value)
    objective = pulp.value(model.lp.objective)
    return LpSolution(
        charge_kwh=values["charge"],
        discharge_kwh=values["discharge"],
        import_kwh=values["imp"],
        export_kwh=values["exp"],
        curtail_kwh=curtail,
        soc_end_kwh=values["soc"],
        soc_value_per_kwh=soc_value,
        objective=float(objective) if objective is not None else 0.0,
        solver=used,
        binaries=len(model.binary_slots),
    )
