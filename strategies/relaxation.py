"""The planner's LP without the one-direction rule, built straight into HiGHS with arrays.

It is a *relaxation*: allowing simultaneous charge+discharge and import+export can only lower the
cost, so its optimum is a lower bound on any physically possible plan's cost. It solves a year of
half-hour slots in seconds, and its state-row duals price stored energy in every slot, which is
what the ``perfect`` strategy uses to cut the year into blocks exactly (see ``strategies.lp``).
It is written independently of ``optimizer.planning.model`` (same equations, no PuLP), so the two
also check each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from optimizer.errors import SolverError
from optimizer.planning import Problem
from optimizer.planning.highs import new_highs
from optimizer.timeseries import FloatArray, IntArray

_C, _D, _I, _E, _U, _S = range(6)
#: The planner's tie-breaker (currency per kWh through the battery), repeated so both models
#: price a cycle identically.
TIE_BREAK_PER_KWH = 1e-6
_EMPTY: tuple[IntArray, IntArray, list[float]] = (
    np.zeros(0, np.int32),
    np.zeros(0, np.int32),
    [],
)


@dataclass(frozen=True, slots=True)
class Relaxation:
    """The relaxed optimum: objective (with tie-breaks and terminal value) and money cost
    (import cost less export revenue, currency units), the value of stored energy per slot end
    (currency per kWh) and the SOC path (kWh)."""

    objective: float
    cost: float
    soc_value_per_kwh: FloatArray
    soc_end_kwh: FloatArray


def _bounds(p: Problem) -> tuple[FloatArray, FloatArray]:
    n, dt, b, g = p.n, p.dt_h, p.battery, p.grid
    low_soc = min(b.kwh(b.min_soc_pct), p.soc_start_kwh)
    high_soc = max(b.kwh(b.max_soc_pct), p.soc_start_kwh)
    cap = g.max_export_kw * dt if g.export_allowed else 0.0
    upper = np.concatenate(
        [
            np.full(n, b.max_charge_kw * dt),
            np.full(n, b.max_discharge_kw * dt),
            np.full(n, g.max_import_kw * dt),
            np.full(n, cap),
            np.asarray(p.pv_kwh, dtype=np.float64),
            np.full(n, high_soc),
        ]
    )
    lower = np.zeros(6 * n)
    lower[_S * n :] = low_soc
    return lower, upper


def _rows(p: Problem) -> tuple[np.ndarray, np.ndarray, FloatArray]:
    """COO (row, column, value) of the balance, source and state rows."""
    n, t = p.n, np.arange(p.n)
    eta_c, inv_eta_d = p.battery.charge_efficiency, 1.0 / p.battery.discharge_efficiency
    parts = [  # (row block, column block, coefficient)
        (0, _I, 1.0), (0, _E, -1.0), (0, _C, -1.0), (0, _D, 1.0), (0, _U, -1.0),
        (1, _E, 1.0), (1, _D, -1.0), (1, _U, 1.0),
        (2, _S, 1.0), (2, _C, -eta_c), (2, _D, inv_eta_d),
    ]  # fmt: skip
    rows = [block * n + t for block, _, _ in parts] + [2 * n + t[1:]]
    cols = [k * n + t for _, k, _ in parts] + [_S * n + t[:-1]]
    vals = [np.full(n, v) for _, _, v in parts] + [np.full(n - 1, -1.0)]
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def _model(p: Problem, terminal_value_per_kwh: float) -> highspy.Highs:
    """The relaxed LP as a HiGHS model (columns in blocks of ``n``: c, d, i, e, u, s)."""
    n = p.n
    cost = np.zeros(6 * n)
    cost[_I * n : (_I + 1) * n] = p.price_import
    cost[_E * n : (_E + 1) * n] = -p.price_export
    cost[_D * n : (_D + 1) * n] = p.battery.cycle_cost_per_kwh + TIE_BREAK_PER_KWH
    cost[_C * n : (_C + 1) * n] = TIE_BREAK_PER_KWH
    cost[-1] -= terminal_value_per_kwh
    lower, upper = _bounds(p)
    rows, cols, vals = _rows(p)
    order = np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, np.arange(3 * n)).astype(np.int32)
    net = np.asarray(p.load_kwh - p.pv_kwh, dtype=np.float64)
    rhs_state = np.zeros(n)
    rhs_state[0] = p.soc_start_kwh
    row_low = np.concatenate([net, np.full(n, -highspy.kHighsInf), rhs_state])
    row_high = np.concatenate([net, np.asarray(p.pv_kwh, dtype=np.float64), rhs_state])
    highs = new_highs()
    # HiGHS's thread pool is global and fixed by the first run; the planner uses one thread,
    # and a later solve asking for a different count would fail ("Not Solved").
    highs.setOptionValue("threads", 1)
    highs.addCols(6 * n, cost, lower, upper, 0, *_EMPTY)
    highs.addRows(3 * n, row_low, row_high, len(vals), starts, cols.astype(np.int32), vals)
    model: highspy.Highs = highs
    return model


def _flows(p: Problem, values: FloatArray) -> dict[str, FloatArray]:
    n = p.n
    names = ("charge", "discharge", "import", "export")
    return {
        name: values[k * n : (k + 1) * n] for k, name in zip((_C, _D, _I, _E), names, strict=True)
    }


def solve_relaxation(problem: Problem, terminal_value_per_kwh: float = 0.0) -> Relaxation:
    """Solve the relaxed LP of ``problem``; raise ``SolverError`` unless HiGHS finds the optimum."""
    p, n = problem, problem.n
    highs = _model(p, terminal_value_per_kwh)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise SolverError(
            f"relaxed LP: HiGHS status {highs.modelStatusToString(highs.getModelStatus())}"
        )
    solution = highs.getSolution()
    duals = np.asarray(solution.row_dual, dtype=np.float64)[2 * n :]
    values = np.asarray(solution.col_value, dtype=np.float64)
    flows = _flows(p, values)
    return Relaxation(
        objective=float(highs.getInfo().objective_function_value),
        cost=float(flows["import"] @ p.price_import - flows["export"] @ p.price_export),
        soc_value_per_kwh=-duals,
        soc_end_kwh=values[_S * n :],
    )


def nonconvex_slots(problem: Problem) -> IntArray:
    """Slots whose cost is not convex in the battery's energy change, so the LP may cheat there.

    Elsewhere (import price >= export price >= 0) one slot's cost under the one-direction rule
    is convex, the relaxation prices it exactly, and doing both directions at once can at best
    tie. A negative price, or export paid more than import, makes wasting energy pay.
    """
    p = problem
    bad = (p.price_import < 0) | (p.price_export < 0) | (p.price_export > p.price_import)
    return np.flatnonzero(bad).astype(np.int32)


@dataclass(frozen=True, slots=True)
class ExactCheck:
    """A mixed-integer solve with binaries in ``binaries`` slots.

    ``bound`` is HiGHS's proven lower bound on the objective, ``objective`` its best plan's;
    ``simultaneous`` counts slots of that plan that still charge and discharge, or import and
    export, at once (0 means the plan meets the rule everywhere, so the solve was exact).
    """

    objective: float
    bound: float
    simultaneous: int
    binaries: int
    status: str


def solve_exact(
    problem: Problem,
    terminal_value_per_kwh: float = 0.0,
    gap: float = 1e-4,
    time_limit_s: float = 3600.0,
) -> ExactCheck:
    """The relaxation plus one binary per direction pair in every non-convex slot.

    That is the planner's whole mixed-integer model wherever it can differ from the LP; the
    result is exact when no slot of the answer does both directions.
    """
    p, n = problem, problem.n
    highs = _model(p, terminal_value_per_kwh)
    upper = _bounds(p)[1]
    slots = nonconvex_slots(p)
    k = 2 * len(slots)
    highs.setOptionValue("mip_rel_gap", gap)
    highs.setOptionValue("time_limit", time_limit_s)
    if k:
        first = 6 * n
        columns = np.arange(first, first + k, dtype=np.int32)
        highs.addCols(k, np.zeros(k), np.zeros(k), np.ones(k), 0, *_EMPTY)
        highs.changeColsIntegrality(k, columns, np.full(k, highspy.HighsVarType.kInteger))
        for j, (one, other) in enumerate(((_C, _D), (_I, _E))):
            for m, t in enumerate(slots):
                on = first + j * len(slots) + m
                a, b = one * n + int(t), other * n + int(t)
                # a <= cap_a * on ; b <= cap_b * (1 - on)
                highs.addRow(-highspy.kHighsInf, 0.0, 2, np.array([a, on], np.int32),
                             np.array([1.0, -upper[a]]))  # fmt: skip
                highs.addRow(-highspy.kHighsInf, upper[b], 2, np.array([b, on], np.int32),
                             np.array([1.0, upper[b]]))  # fmt: skip
    highs.run()
    info = highs.getInfo()
    flows = _flows(p, np.asarray(highs.getSolution().col_value, dtype=np.float64))
    both = np.minimum(flows["charge"], flows["discharge"]) > 1e-6
    both |= np.minimum(flows["import"], flows["export"]) > 1e-6
    return ExactCheck(
        objective=float(info.objective_function_value),
        bound=float(info.mip_dual_bound) if k else float(info.objective_function_value),
        simultaneous=int(both.sum()),
        binaries=k,
        status=highs.modelStatusToString(highs.getModelStatus()),
    )
