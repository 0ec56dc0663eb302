"""An independent exact solve of the planner's model with scipy's MILP interface.

Written from the model's equations (see optimizer/planning/model.py's docstring), not from its
code: every slot gets both binaries, the matrix is built by hand, and scipy (not PuLP) drives
the solver. Used to check that the planner's objective is the true optimum.

Curtailment as the device does it (``curtail="device"``, from ``docs`` of the xStorage API and
``optimizer/planning/device.py``'s control laws, written here as constraints): PV is curtailed
only (H) where the meter exports at the grid's export limit (no import then), or (L) in the
export limit of 0 W (``SET_VARIABLE_GRID_INJECTION``): no import, no export, no discharge, the
battery takes the PV surplus and curtails only what it cannot take, i.e. when it charges at
full power (A) or is full (F). ``curtail="free"`` is the relaxation: any PV may be curtailed.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from optimizer.planning.inputs import Problem

# Per-slot variable layout: flows, stored energy, curtailment, the two direction binaries, the
# phase P (1 while a start outside the SOC window may still be outside it), and the curtailment
# binaries: H export at the grid limit, L export limit 0 W, A full charge power, F battery full.
C, D, I, E, S, U, Y, Z, P, H, L, A, F = range(13)
W = 13
ROWS = 19


def exact_objective(problem: Problem, terminal_value: float, curtail: str = "device") -> float:
    """Optimal objective of the full MILP (binaries in every slot); inf when infeasible.
    ``curtail``: ``"device"`` (only as the device curtails) or ``"free"`` (the relaxation)."""
    n, dt, b, g = problem.n, problem.dt_h, problem.battery, problem.grid
    col = lambda t, k: t * W + k  # noqa: E731
    cost = np.zeros(n * W)
    low = np.zeros(n * W)
    high = np.zeros(n * W)
    s_low = min(b.kwh(b.min_soc_pct), problem.soc_start_kwh)
    s_high = max(b.kwh(b.max_soc_pct), problem.soc_start_kwh)
    below = problem.soc_start_kwh < b.kwh(b.min_soc_pct)
    above = problem.soc_start_kwh > b.kwh(b.max_soc_pct)
    export_cap = g.max_export_kw * dt if g.export_allowed else 0.0
    for t in range(n):
        cost[col(t, I)] = problem.price_import[t]
        cost[col(t, E)] = -problem.price_export[t]
        cost[col(t, D)] = b.cycle_cost_per_kwh
        high[[col(t, k) for k in (C, D, I, E, U, Y, Z)]] = [
            b.max_charge_kw * dt,
            b.max_discharge_kw * dt,
            g.max_import_kw * dt,
            export_cap,
            problem.pv_kwh[t],
            1,
            1,
        ]
        low[col(t, S)], high[col(t, S)] = s_low, s_high
        high[col(t, P)] = 1 if (below or above) else 0
        high[[col(t, k) for k in (H, L, A, F)]] = 1
    cost[col(n - 1, S)] -= terminal_value
    rows = lil_matrix((ROWS * n, n * W))
    lo, hi = np.zeros(ROWS * n), np.zeros(ROWS * n)
    for t in range(n):
        r = ROWS * t
        _window_rows(rows, lo, hi, r, t, problem)
        # balance: i - e - c + d - u = load - pv
        for k, v in ((I, 1), (E, -1), (C, -1), (D, 1), (U, -1)):
            rows[r, col(t, k)] = v
        lo[r] = hi[r] = problem.load_kwh[t] - problem.pv_kwh[t]
        # state: s_t - s_{t-1} - eta_c c + d / eta_d = 0 (s_{-1} = start)
        rows[r + 1, col(t, S)] = 1
        rows[r + 1, col(t, C)] = -b.charge_efficiency
        rows[r + 1, col(t, D)] = 1 / b.discharge_efficiency
        if t:
            rows[r + 1, col(t - 1, S)] = -1
        lo[r + 1] = hi[r + 1] = 0 if t else problem.soc_start_kwh
        # source: e - d + u <= pv
        for k, v in ((E, 1), (D, -1), (U, 1)):
            rows[r + 2, col(t, k)] = v
        lo[r + 2], hi[r + 2] = -np.inf, problem.pv_kwh[t]
        # one direction: c <= Cmax y, d <= Dmax (1 - y), i <= Imax z, e <= Emax (1 - z)
        for offset, (k, bin_, cap, flip) in enumerate(
            (
                (C, Y, b.max_charge_kw * dt, False),
                (D, Y, b.max_discharge_kw * dt, True),
                (I, Z, g.max_import_kw * dt, False),
                (E, Z, export_cap, True),
            )
        ):
            rows[r + 3 + offset, col(t, k)] = 1
            rows[r + 3 + offset, col(t, bin_)] = cap if flip else -cap
            lo[r + 3 + offset], hi[r + 3 + offset] = -np.inf, cap if flip else 0
        _curtail_rows(rows, lo, hi, r, t, problem, curtail)
    integrality = np.zeros(n * W)
    integrality[[col(t, k) for t in range(n) for k in (Y, Z, P, H, L, A, F)]] = 1
    result = milp(
        cost,
        constraints=LinearConstraint(rows.tocsr(), lo, hi),
        bounds=Bounds(low, high),
        integrality=integrality,
        options={"mip_rel_gap": 1e-9},
    )
    if result.status == 2:
        return float("inf")  # infeasible
    assert result.status == 0, result.message
    return float(result.fun)


def _window_rows(
    rows: lil_matrix, lo: np.ndarray, hi: np.ndarray, r: int, t: int, problem: Problem
) -> None:
    """A start below ``min_soc_pct`` is never discharged until back above it, and then stays
    above; a start above ``max_soc_pct`` is never charged, and once below stays below. The phase
    binary P_t (non-increasing, P_{-1} = 1) allows the outside band; direction waits for P = 0."""
    b, dt, start = problem.battery, problem.dt_h, problem.soc_start_kwh
    e_min, e_max = b.kwh(b.min_soc_pct), b.kwh(b.max_soc_pct)
    col = lambda k, slot=t: slot * W + k  # noqa: E731
    rows[r + 7, col(P)] = 1
    if t:
        rows[r + 7, col(P, t - 1)] = -1
    lo[r + 7], hi[r + 7] = -np.inf, 0 if t else 1
    lo[r + 8], hi[r + 8] = -np.inf, np.inf
    lo[r + 9], hi[r + 9] = -np.inf, np.inf
    if start < e_min:
        rows[r + 8, col(S)], rows[r + 8, col(P)] = 1, e_min - start
        lo[r + 8] = e_min
        direction, cap = D, b.max_discharge_kw * dt
    elif start > e_max:
        rows[r + 8, col(S)], rows[r + 8, col(P)] = 1, -(start - e_max)
        hi[r + 8] = e_max
        direction, cap = C, b.max_charge_kw * dt
    else:
        return
    rows[r + 9, col(direction)] = 1
    if t:
        rows[r + 9, col(P, t - 1)] = cap
        hi[r + 9] = cap
    else:
        hi[r + 9] = 0


def _curtail_rows(
    rows: lil_matrix,
    lo: np.ndarray,
    hi: np.ndarray,
    r: int,
    t: int,
    problem: Problem,
    curtail: str,
) -> None:
    """Rows ``r + 10 .. r + 18``: where the device curtails (see the module docstring)."""
    b, g, dt = problem.battery, problem.grid, problem.dt_h
    col = lambda k: t * W + k  # noqa: E731
    pv = float(problem.pv_kwh[t])
    i_max, d_max, c_max = g.max_import_kw * dt, b.max_discharge_kw * dt, b.max_charge_kw * dt
    e_max = g.max_export_kw * dt if g.export_allowed else 0.0
    lo[r + 10 : r + 19], hi[r + 10 : r + 19] = -np.inf, 0.0
    # u <= pv (H + A + F): curtailed only at the export limit or by the 0 W limit's battery
    for k, v in ((U, 1.0), (H, -pv), (A, -pv), (F, -pv)):
        rows[r + 10, col(k)] = v
    if curtail == "free":
        hi[r + 10] = np.inf
    # H: export at the limit (e >= e_max H) and no import; L: no import, export, discharge
    rows[r + 11, col(E)], rows[r + 11, col(H)] = -1.0, e_max
    rows[r + 12, col(I)], rows[r + 12, col(H)], rows[r + 12, col(L)] = 1.0, i_max, i_max
    hi[r + 12] = i_max
    rows[r + 13, col(E)], rows[r + 13, col(L)], hi[r + 13] = 1.0, e_max, e_max
    rows[r + 14, col(D)], rows[r + 14, col(L)], hi[r + 14] = 1.0, d_max, d_max
    # A: charging at full power; F: full (stored >= capacity); both only in the 0 W limit
    rows[r + 15, col(C)], rows[r + 15, col(A)] = -1.0, c_max
    rows[r + 16, col(S)], rows[r + 16, col(F)] = -1.0, b.capacity_kwh
    rows[r + 17, col(A)], rows[r + 17, col(L)] = 1.0, -1.0
    rows[r + 18, col(F)], rows[r + 18, col(L)] = 1.0, -1.0
