"""The planner's exact model solved by dynamic programming over stored energy, without an LP.

Only the stored energy links one slot to the next. For a change ``x = E[t] - E[t-1]`` (kWh in
the battery) the cheapest way to run slot ``t`` under the one-direction rule has a closed form:
the battery's AC flow follows the sign of ``x`` (charge ``x / eta_c`` or discharge
``-x * eta_d``), one meter nets house, PV and battery into either import or export, and PV may
be curtailed. That slot cost ``f_t(x)`` is piecewise linear. The cost-to-go

    W_t(E) = min over x of  f_t(x) + W_{t+1}(E + x),      W_n(E) = -terminal_value * E

is then piecewise linear too (not convex where prices make wasting energy pay, which is where
the LP needs binaries). It is computed exactly, not on a grid: for a fixed ``E`` the minimum is
reached at a breakpoint of ``W_{t+1}`` or at ``E`` plus a breakpoint of ``f_t``, so ``W_t`` is the
lower envelope of finitely many shifted copies of the two, and that envelope is found with its
crossing points. A forward pass then reads off the optimal path.

The cost grows with the number of breakpoints, not the number of binaries the mixed-integer
model would need, so a year of half-hour slots takes seconds where the mixed-integer solve of
the same model takes many minutes. ``tests/planning`` check it against an independent scipy MILP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.errors import InfeasiblePlan, SolverError
from optimizer.planning.inputs import Problem
from optimizer.planning.solution import TIE_BREAK_PER_KWH, LpSolution
from optimizer.timeseries import FloatArray

#: Two energies closer than this (kWh) are the same point.
X_TOL = 1e-9
#: Two costs closer than this (currency) are equal.
COST_TOL = 1e-9
#: A lower envelope needs one round per line it shows inside a cell; more means a fault.
MAX_ROUNDS = 200


@dataclass(frozen=True, slots=True)
class Pwl:
    """A continuous piecewise-linear function on ``[x[0], x[-1]]`` (+inf outside)."""

    x: FloatArray
    y: FloatArray

    def at(self, points: FloatArray) -> FloatArray:
        """Values at ``points``; +inf outside the domain."""
        out = np.interp(points, self.x, self.y)
        outside = (points < self.x[0] - X_TOL) | (points > self.x[-1] + X_TOL)
        return np.where(outside, np.inf, out)

    def slope(self, point: float, side: str) -> float:
        """Slope just left (``side="left"``) or right of ``point``, the end piece at the ends."""
        if len(self.x) < 2:
            return 0.0
        shift = -X_TOL if side == "left" else X_TOL
        k = int(np.searchsorted(self.x, point + shift, side="right")) - 1
        k = min(max(k, 0), len(self.x) - 2)
        return float((self.y[k + 1] - self.y[k]) / (self.x[k + 1] - self.x[k]))


def _simplify(x: FloatArray, y: FloatArray) -> Pwl:
    """Sorted, de-duplicated (lowest value kept) points without collinear interior ones."""
    order = np.lexsort((y, x))
    x, y = x[order], y[order]
    first = np.concatenate([[True], np.diff(x) > X_TOL])
    x, y = x[first], y[first]
    if len(x) > 2:
        chord = y[:-2] + (y[2:] - y[:-2]) * (x[1:-1] - x[:-2]) / (x[2:] - x[:-2])
        keep = np.concatenate([[True], np.abs(y[1:-1] - chord) > COST_TOL, [True]])
        x, y = x[keep], y[keep]
    return Pwl(x, y)


def lower_envelope(grid: FloatArray, values: FloatArray) -> Pwl:
    """Exact lower envelope of functions that are linear between consecutive ``grid`` points.

    ``values`` is (functions x grid points), +inf outside a function's domain (an interval whose
    ends are grid points). Inside a cell the envelope of the lines is concave; cells are split
    at crossings until one line is lowest at both ends of every cell. The envelope must be
    continuous, as every value function here is (a function's domain may only end where another
    one is as low).
    """
    if len(grid) == 1:
        best = float(np.min(values))
        if not np.isfinite(best):
            raise InfeasiblePlan("no feasible stored energy")
        return Pwl(grid.copy(), np.array([best]))
    both = np.isfinite(values[:, :-1]) & np.isfinite(values[:, 1:])
    cells = both.any(axis=0)
    if not cells.any():
        raise InfeasiblePlan("no feasible stored energy")
    left = np.where(both, values[:, :-1], np.inf)[:, cells]
    right = np.where(both, values[:, 1:], np.inf)[:, cells]
    xl, xr = grid[:-1][cells], grid[1:][cells]
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    for _ in range(MAX_ROUNDS):
        low_l, low_r = left.min(axis=0), right.min(axis=0)
        xs += [xl, xr]
        ys += [low_l, low_r]
        done = ((left <= low_l + COST_TOL) & (right <= low_r + COST_TOL)).any(axis=0)
        if done.all():
            return _simplify(np.concatenate(xs), np.concatenate(ys))
        left, right, xl, xr = left[:, ~done], right[:, ~done], xl[~done], xr[~done]
        low_l, low_r = low_l[~done], low_r[~done]
        cols = np.arange(left.shape[1])
        a, b = left.argmin(axis=0), right.argmin(axis=0)
        # Line a is lowest on the left, line b on the right: they cross inside the cell.
        rise_a = right[a, cols] - left[a, cols]
        rise_b = right[b, cols] - left[b, cols]
        share = (left[b, cols] - left[a, cols]) / (rise_a - rise_b)
        share = np.clip(share, 0.0, 1.0)
        defined = np.isfinite(left) & np.isfinite(right)
        rise = np.where(defined, right, 0.0) - np.where(defined, left, 0.0)
        middle = np.where(defined, left + rise * share, np.inf)
        xm = xl + (xr - xl) * share
        left, right = np.hstack([left, middle]), np.hstack([middle, right])
        xl, xr = np.concatenate([xl, xm]), np.concatenate([xm, xr])
    raise SolverError("dynamic programme: lower envelope did not converge")


@dataclass(frozen=True, slots=True)
class _Slot:
    """One slot's data in kWh over the slot and currency per kWh."""

    load: float
    pv: float
    price_import: float
    price_export: float
    import_cap: float
    export_cap: float
    x_low: float
    x_high: float


class _Flows:
    """The one-direction flows of a slot as a function of the stored-energy change ``x``."""

    def __init__(self, problem: Problem) -> None:
        b = problem.battery
        self.eta_c, self.eta_d = b.charge_efficiency, b.discharge_efficiency
        self.discharge_cost = b.cycle_cost_per_kwh + TIE_BREAK_PER_KWH

    def ac(self, x: FloatArray) -> FloatArray:
        """Battery AC energy (charge > 0, discharge < 0) for stored-energy change ``x``."""
        return np.where(x >= 0, x / self.eta_c, x * self.eta_d)

    def stored(self, ac: FloatArray) -> FloatArray:
        """Inverse of ``ac``."""
        return np.where(ac >= 0, ac * self.eta_c, ac / self.eta_d)

    def battery_cost(self, x: FloatArray) -> FloatArray:
        ac = self.ac(x)
        return np.where(ac >= 0, TIE_BREAK_PER_KWH * ac, -self.discharge_cost * ac)

    @staticmethod
    def meter(net: FloatArray, s: _Slot) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Meter flow (import > 0) at the lowest end, the highest end and zero of the window
        curtailment allows (``net`` is the flow with all PV used); +inf cost where impossible."""
        low = np.maximum(net, -s.export_cap)
        high = np.minimum(net + s.pv, s.import_cap)
        possible = low <= high + X_TOL
        zero = np.where(possible & (low <= X_TOL) & (high >= -X_TOL), 0.0, np.nan)
        low, high = np.where(possible, low, np.nan), np.where(possible, high, np.nan)
        return low, high, zero

    @staticmethod
    def money(g: FloatArray, s: _Slot) -> FloatArray:
        cost = np.where(g >= 0, s.price_import * g, s.price_export * g)
        return np.where(np.isnan(g), np.inf, cost)

    def stage(self, s: _Slot) -> Pwl:
        """The slot cost ``f(x)`` (currency) as an exact piecewise-linear function."""
        net0 = s.load - s.pv  # meter flow with all PV used and the battery idle
        kinks_g = np.array(
            [-s.export_cap, -s.export_cap - s.pv, 0.0, -s.pv, s.import_cap - s.pv, s.import_cap]
        )
        points = np.concatenate([[s.x_low, s.x_high, 0.0], self.stored(kinks_g - net0)])
        points = np.unique(np.clip(points, s.x_low, s.x_high))
        net = net0 + self.ac(points)
        low, high, zero = self.meter(net, s)
        battery = self.battery_cost(points)
        values = np.vstack([self.money(g, s) for g in (low, high, zero)]) + battery
        return lower_envelope(points, values)

    def settle(self, x: float, s: _Slot) -> tuple[float, float, float, float, float]:
        """(charge, discharge, import, export, curtail) kWh for change ``x``."""
        ac = float(self.ac(np.array([x]))[0])
        net = np.array([s.load - s.pv + ac])
        options = [float(g[0]) for g in self.meter(net, s)]
        costs = [float(self.money(np.array([g]), s)[0]) for g in options]
        g = options[int(np.argmin(costs))]  # the lowest end first: no curtailment on a tie
        return max(ac, 0.0), max(-ac, 0.0), max(g, 0.0), max(-g, 0.0), g - float(net[0])


def _slots(problem: Problem) -> list[_Slot]:
    p, dt, b, grid = problem, problem.dt_h, problem.battery, problem.grid
    flows = _Flows(problem)
    export_cap = grid.max_export_kw * dt if grid.export_allowed else 0.0
    import_cap = grid.max_import_kw * dt
    out = []
    for t in range(p.n):
        load, pv = float(p.load_kwh[t]), float(p.pv_kwh[t])
        limits = flows.stored(np.array([-export_cap - load, import_cap - load + pv]))
        x_low = max(-b.max_discharge_kw * dt / b.discharge_efficiency, float(limits[0]))
        x_high = min(b.max_charge_kw * dt * b.charge_efficiency, float(limits[1]))
        if x_low > x_high + X_TOL:
            raise InfeasiblePlan(
                f"slot {p.index[t].isoformat()}: the grid and battery limits cannot meet the load"
            )
        out.append(
            _Slot(
                load,
                pv,
                float(p.price_import[t]),
                float(p.price_export[t]),
                import_cap,
                export_cap,
                x_low,
                max(x_low, x_high),
            )
        )
    return out


def _step(stage: Pwl, after: Pwl, soc_low: float, soc_high: float) -> Pwl:
    """``W(E) = min_x stage(x) + after(E + x)`` on ``[soc_low, soc_high]``, exactly."""
    grid = np.subtract.outer(after.x, stage.x).ravel()
    grid = np.unique(np.clip(np.concatenate([grid, [soc_low, soc_high]]), soc_low, soc_high))
    # Copies of the stage cost hung from each breakpoint of ``after`` ...
    from_after = after.y[:, None] + stage.at(after.x[:, None] - grid[None, :])
    # ... and copies of ``after`` shifted by each breakpoint of the stage cost.
    from_stage = stage.y[:, None] + after.at(grid[None, :] + stage.x[:, None])
    return lower_envelope(grid, np.vstack([from_after, from_stage]))


def solve_dp(problem: Problem, terminal_value: float) -> LpSolution:
    """The exact optimum of the planner's model (one direction per slot) by DP.

    Raises ``InfeasiblePlan`` when no path meets the limits.
    """
    b, n = problem.battery, problem.n
    soc_low = min(b.kwh(b.min_soc_pct), problem.soc_start_kwh)
    soc_high = max(b.kwh(b.max_soc_pct), problem.soc_start_kwh)
    flows, slots = _Flows(problem), _slots(problem)
    stages = [flows.stage(s) for s in slots]
    ends = np.array([soc_low, soc_high])
    to_go = [Pwl(ends, -terminal_value * ends)]
    for t in range(n - 1, -1, -1):
        to_go.append(_step(stages[t], to_go[-1], soc_low, soc_high))
    to_go.reverse()  # to_go[t]: cost from slot t's start; to_go[n]: the terminal value
    start = problem.soc_start_kwh
    objective = float(to_go[0].at(np.array([start]))[0])
    if not np.isfinite(objective):
        raise InfeasiblePlan("no plan meets the battery, grid and SOC limits for these inputs")
    return _forward(problem, stages, to_go, slots, objective)


def _forward(
    problem: Problem, stages: list[Pwl], to_go: list[Pwl], slots: list[_Slot], objective: float
) -> LpSolution:
    n, flows = problem.n, _Flows(problem)
    rows = np.zeros((n, 5))
    soc = np.zeros(n)
    value = np.zeros(n)
    energy = problem.soc_start_kwh
    for t in range(n):
        after, stage = to_go[t + 1], stages[t]
        candidates = np.concatenate([after.x, energy + stage.x])
        candidates = np.clip(candidates, after.x[0], after.x[-1])
        totals = stage.at(candidates - energy) + after.at(candidates)
        k = int(np.argmin(totals))
        expected = float(to_go[t].at(np.array([energy]))[0])
        if not totals[k] <= expected + 1e-6 * max(1.0, abs(expected)):
            raise SolverError(
                f"dynamic programme: path breaks at slot {t} ({totals[k]} > {expected})"
            )
        nxt = float(candidates[k])
        rows[t] = flows.settle(nxt - energy, slots[t])
        # The value of stored energy that the command rounding weighs its options with: a
        # charge's gentler options store less, so the energy just below the plan is what they
        # lose (left slope); a discharge's keep more (right slope).
        side = "left" if nxt > energy else "right"
        soc[t], value[t] = nxt, -after.slope(nxt, side)
        energy = nxt
    return LpSolution(
        charge_kwh=rows[:, 0],
        discharge_kwh=rows[:, 1],
        import_kwh=rows[:, 2],
        export_kwh=rows[:, 3],
        curtail_kwh=rows[:, 4],
        soc_end_kwh=soc,
        soc_value_per_kwh=value,
        objective=objective,
        solver="dp",
    )
