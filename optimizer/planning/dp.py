"""The planner's exact model solved by dynamic programming over stored energy, without an LP.

Only the stored energy links one slot to the next. For a change ``x = E[t] - E[t-1]`` (kWh in
the battery) slot ``t`` runs under the one-direction rule as the device runs it: the battery's
AC flow follows the sign of ``x`` (charge ``x / eta_c`` or discharge ``-x * eta_d``), one meter
nets house, PV and battery into either import or export, and PV is curtailed only where the
device curtails it (``optimizer.planning.device``): the surplus beyond the grid's export limit.
That slot cost ``f_t(x)`` is piecewise linear. The device's one other way to curtail is an
export limit of 0 W (``SET_VARIABLE_GRID_INJECTION``): the battery takes what PV surplus it can
(``min(surplus, max_charge_kw × dt, room to 100 %)``, never a discharge, never grid energy),
the rest is curtailed, nothing crosses the meter. It pays only at a negative export price with
PV above the load, and its change depends on ``E`` itself, so there ``W_t`` is also the lower
of ``W_{t+1}`` at where that mode leaves ``E`` (``_limit_to_go``). PV is never curtailed
otherwise: the device cannot (a relaxation that could would promise what no command does).
The cost-to-go

    W_t(E) = min( min over x of f_t(x) + W_{t+1}(E + x),  limit_t(E) ),  W_n(E) = -value * E

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
from itertools import repeat
from typing import NamedTuple

import numpy as np

from optimizer.errors import InfeasiblePlan, SolverError
from optimizer.planning.inputs import Problem
from optimizer.planning.pwl import (
    X_TOL,
    Pwl,
    convex,
    convolve,
    lower_envelope,
    restrict,
    simplify,
)
from optimizer.planning.solution import TIE_BREAK_PER_KWH, LpSolution
from optimizer.timeseries import FloatArray


class _Slot(NamedTuple):
    """One slot's data in kWh over the slot and currency per kWh (a tuple: cheap to make, and
    the key of the slot-cost cache)."""

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
        self.capacity = b.capacity_kwh
        self.charge_max = b.max_charge_kw * problem.dt_h

    def ac(self, x: FloatArray) -> FloatArray:
        """Battery AC energy (charge > 0, discharge < 0) for stored-energy change ``x``."""
        return np.where(x >= 0, x / self.eta_c, x * self.eta_d)

    def stored(self, ac: FloatArray) -> FloatArray:
        """Inverse of ``ac``."""
        return np.where(ac >= 0, ac * self.eta_c, ac / self.eta_d)

    def battery_cost(self, x: FloatArray) -> FloatArray:
        ac = self.ac(x)
        return np.where(ac >= 0, TIE_BREAK_PER_KWH * ac, -self.discharge_cost * ac)

    def stage(self, s: _Slot) -> Pwl:
        """The slot cost ``f(x)`` (currency) as an exact piecewise-linear function, as the
        device runs the slot: all the PV is used and the meter flow is
        ``max(net, -export_cap)`` (the inverter curtails only beyond the export limit), so the
        kinks are where the battery turns, the meter turns and export reaches its limit."""
        return self._plain_stage(s)

    def _plain_stage(self, s: _Slot) -> Pwl:
        """``stage``: the meter flow ``max(net, -export_cap)`` at the kinks."""
        net0 = s.load - s.pv
        eta_c, eta_d = self.eta_c, self.eta_d
        xs = [s.x_low, s.x_high]
        for ac in (0.0, -net0, -s.export_cap - net0):
            x = ac * eta_c if ac >= 0 else ac / eta_d
            if s.x_low + X_TOL < x < s.x_high - X_TOL:
                xs.append(x)
        xs = sorted(set(xs))
        ys = []
        for x in xs:
            ac = x / eta_c if x >= 0 else x * eta_d
            g = max(net0 + ac, -s.export_cap)
            money = s.price_import * g if g >= 0 else s.price_export * g
            wear = TIE_BREAK_PER_KWH * ac if ac >= 0 else -self.discharge_cost * ac
            ys.append(money + wear)
        return Pwl(np.array(xs), np.array(ys))

    def settle(self, x: float, s: _Slot) -> tuple[float, float, float, float, float]:
        """(charge, discharge, import, export, curtail) kWh for change ``x`` (plain Python: one
        value, where NumPy's call overhead dominates)."""
        ac = x / self.eta_c if x >= 0 else x * self.eta_d
        net = s.load - s.pv + ac
        g = max(net, -s.export_cap)  # the device curtails only beyond the export limit
        return max(ac, 0.0), max(-ac, 0.0), max(g, 0.0), max(-g, 0.0), g - net

    def limit_flows(self, energy: float, s: _Slot) -> tuple[float, float]:
        """The export limit of 0 W from ``energy`` kWh stored: (battery AC charge, curtailed)
        kWh, as ``device.export_limit_ac_kwh`` plays it."""
        surplus = s.pv - s.load
        charge = max(0.0, min(surplus, self.charge_max, (self.capacity - energy) / self.eta_c))
        return charge, surplus - charge


def _slots(problem: Problem) -> list[_Slot]:
    p, dt, b, grid = problem, problem.dt_h, problem.battery, problem.grid
    flows = _Flows(problem)
    export_cap = grid.max_export_kw * dt if grid.export_allowed else 0.0
    import_cap = grid.max_import_kw * dt
    # A signed zero made +0.0 (``x + 0.0`` leaves every other value's bits as they are): the
    # slot-cost cache's keys compare -0.0 equal to 0.0, so a cached slot cost must not depend
    # on the sign of a zero.
    load, pv = p.load_kwh + 0.0, p.pv_kwh + 0.0
    # Every slot's limits in two NumPy calls, then plain floats (per-slot arrays cost more).
    lows = flows.stored(-export_cap - load).tolist()
    highs = flows.stored(import_cap - load + pv).tolist()
    loads, pvs = load.tolist(), pv.tolist()
    imports, exports = (p.price_import + 0.0).tolist(), (p.price_export + 0.0).tolist()
    most_out = -b.max_discharge_kw * dt / b.discharge_efficiency
    most_in = b.max_charge_kw * dt * b.charge_efficiency
    # max(most_out, low) and min(most_in, high), ties and all, without a call per slot.
    x_lows = [low if low > most_out else most_out for low in lows]
    x_highs = [high if high < most_in else most_in for high in highs]
    for t, (x_low, x_high) in enumerate(zip(x_lows, x_highs, strict=True)):
        if x_low > x_high + X_TOL:
            raise InfeasiblePlan(
                f"slot {p.index[t].isoformat()}: the grid and battery limits cannot meet the load"
            )
    tops = [high if high > low else low for low, high in zip(x_lows, x_highs, strict=True)]
    n = p.n
    caps = repeat(import_cap, n), repeat(export_cap, n)
    return list(map(_Slot, loads, pvs, imports, exports, *caps, x_lows, tops))


def _step(stage: Pwl, after: Pwl, soc_low: float, soc_high: float) -> Pwl | None:
    """``W(E) = min_x stage(x) + after(E + x)`` on ``[soc_low, soc_high]``, exactly.

    Convex pieces (most slots of most days) take the infimal convolution; otherwise the lower
    envelope of shifted copies. ``None`` where no ``E`` in the window has a feasible move.
    """
    if len(stage.x) > 1 and len(after.x) > 1 and convex(stage) and convex(after):
        return convolve(stage, after, soc_low, soc_high)
    grid = np.subtract.outer(after.x, stage.x).ravel()
    grid = grid[(grid >= soc_low - X_TOL) & (grid <= soc_high + X_TOL)]
    grid = np.unique(np.clip(np.concatenate([grid, [soc_low, soc_high]]), soc_low, soc_high))
    # Copies of the stage cost hung from each breakpoint of ``after`` ...
    from_after = after.y[:, None] + stage.at(after.x[:, None] - grid[None, :])
    # ... and copies of ``after`` shifted by each breakpoint of the stage cost.
    from_stage = stage.y[:, None] + after.at(grid[None, :] + stage.x[:, None])
    try:
        return lower_envelope(grid, np.vstack([from_after, from_stage]))
    except InfeasiblePlan:
        return None


#: Where the export limit's reach ends inside the domain, ``W`` jumps; it is kept continuous by
#: a piece this wide (kWh) that climbs from the mode's value to the other options' value.
JUMP_KWH = 1e-6


def has_limit(s: _Slot) -> bool:
    """Whether the export limit of 0 W can pay in slot ``s``: PV above the load at a negative
    export price (at any other price exporting the surplus costs no more than curtailing it)."""
    return s.pv > s.load + X_TOL and s.price_export < 0


def _limit_to_go(flows: _Flows, s: _Slot, after: Pwl, window: Window) -> Pwl | None:
    """``W_{t+1}`` at the energy the export limit of 0 W leaves from each ``E`` in
    ``[window.floor, window.high]``, plus the tie-break on what it stores: from ``E`` the
    battery ends at ``min(E + delta, capacity)`` with ``delta = eta_c × min(surplus,
    max_charge)``. Only where that end is in ``after``'s domain and not above ``window.high``
    (the mode charges to 100 %; above ``max_soc_pct`` it is not an option). ``None``: nowhere."""
    delta = flows.eta_c * min(s.pv - s.load, flows.charge_max)
    top = min(window.high, float(after.x[-1]))
    low = max(window.floor, float(after.x[0]) - delta)
    high = min(top, flows.capacity) - delta
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    if high >= low - X_TOL:
        shifted = after.x - delta
        x = np.concatenate([[low], shifted[(shifted > low + X_TOL) & (shifted < high - X_TOL)]])
        x = np.append(x, max(low, high))
        xs.append(x)
        ys.append(after.at(x + delta) + TIE_BREAK_PER_KWH * delta / flows.eta_c)
    full = flows.capacity
    if top >= full - X_TOL:  # the mode fills the battery and stops: E' = capacity
        first = max(full - delta, window.floor)
        x = np.array([first, full]) if full - first > X_TOL else np.array([full])
        xs.append(x)
        ys.append(after.at(np.array([full]))[0] + TIE_BREAK_PER_KWH * (full - x) / flows.eta_c)
    if not xs:
        return None
    return simplify(np.concatenate(xs), np.concatenate(ys))


def _full_limit(after: Pwl, window: Window, capacity: float) -> Pwl | None:
    """The export limit of 0 W from a full battery above ``max_soc_pct`` (a start at 100 %):
    it stores nothing and curtails the whole surplus, so ``E`` stays at ``capacity``, where
    idling is allowed (``_limit_to_go`` covers the mode up to ``window.high`` only). ``None``
    where the window does not reach a full battery above ``window.high``."""
    if not window.high < capacity - X_TOL <= window.ceiling or after.x[-1] < capacity - X_TOL:
        return None
    return Pwl(np.array([capacity]), after.at(np.array([capacity])))


def _with_limit(options: Pwl, limit: Pwl | None) -> Pwl:
    """The lower of ``options`` (``W`` of the battery changes) and ``limit``, kept continuous
    where ``limit``'s domain ends inside ``options``' (a ``JUMP_KWH`` wide climb)."""
    if limit is None:
        return options
    x, y = limit.x, limit.y
    for end, step in ((0, -JUMP_KWH), (-1, JUMP_KWH)):
        beyond = float(x[end]) + step
        reach = float(options.at(np.array([beyond]))[0])
        if np.isfinite(reach) and reach > float(y[end]) + 1e-12:
            x, y = (np.append(x, beyond), np.append(y, reach)) if end else (
                np.insert(x, 0, beyond), np.insert(y, 0, reach))  # fmt: skip
    grid = np.unique(np.concatenate([options.x, x]))
    values = np.vstack([options.at(grid), Pwl(x, y).at(grid)])
    return lower_envelope(grid, values)


@dataclass(frozen=True, slots=True)
class Window:
    """Stored-energy bounds (kWh): the planning window ``[low, high]`` and the wider range
    ``[floor, ceiling]`` a measured start outside it adds.

    A battery above ``high`` is never charged (it only idles or discharges, and once below
    ``high`` stays below); one below ``low`` is never discharged until it is back above ``low``.
    """

    floor: float
    low: float
    high: float
    ceiling: float

    @classmethod
    def of(cls, problem: Problem) -> Window:
        """The window of ``problem``'s battery around its start."""
        b, start = problem.battery, problem.soc_start_kwh
        low, high = b.kwh(b.min_soc_pct), b.kwh(b.max_soc_pct)
        return cls(min(low, start), low, high, max(high, start))

    def next_bounds(self, energy: float) -> tuple[float, float]:
        """The range of stored energy a slot may end at when it starts at ``energy``."""
        if energy > self.high + X_TOL:
            return self.low, energy
        if energy < self.low - X_TOL:
            return energy, self.high
        return self.low, self.high


def _side(stage: Pwl, x_low: float, x_high: float) -> Pwl | None:
    """The stage cost restricted to changes in ``[x_low, x_high]``."""
    return restrict(stage, x_low, x_high)


def _window_step(stage: Pwl, after: Pwl, window: Window) -> Pwl:
    """One backward step over the window and, where the start is outside it, the band beyond."""
    pieces: list[Pwl | None] = []
    if window.floor < window.low - X_TOL:  # below the reserve: charge or idle only
        up, below = _side(stage, 0.0, np.inf), restrict(after, window.floor, window.high)
        if up is not None and below is not None:
            pieces.append(_step(up, below, window.floor, window.low))
    inside = restrict(after, window.low, window.high)
    pieces.append(_step(stage, inside, window.low, window.high) if inside else None)
    if window.ceiling > window.high + X_TOL:  # above the ceiling: discharge or idle only
        down, above = _side(stage, -np.inf, 0.0), restrict(after, window.low, window.ceiling)
        if down is not None and above is not None:
            pieces.append(_step(down, above, window.high, window.ceiling))
    return _join([p for p in pieces if p is not None])


def _join(pieces: list[Pwl]) -> Pwl:
    """Adjacent pieces (in order of energy) as one function."""
    if not pieces:
        raise InfeasiblePlan("no feasible stored energy")
    if len(pieces) == 1:
        return pieces[0]
    x = np.concatenate([p.x for p in pieces])
    y = np.concatenate([p.y for p in pieces])
    return simplify(x, y)


#: Slot costs already built, by slot data and battery model: a plan made an hour after the
#: last one has mostly the same slots (a rolling horizon), and ``_Flows.stage`` is a pure
#: function of them. First in, first out beyond ``STAGE_CACHE_SIZE``; the ``Pwl``s are never
#: modified.
_STAGE_CACHE: dict[tuple[_Slot, tuple[object, ...]], Pwl] = {}
STAGE_CACHE_SIZE = 4096


def _stages(flows: _Flows, slots: list[_Slot]) -> list[Pwl]:
    """``[flows.stage(s) for s in slots]``, each built once (``_STAGE_CACHE``)."""
    model = tuple(vars(flows).values())  # everything the slot cost may depend on besides s
    cache, out = _STAGE_CACHE, []
    for s in slots:
        key = (s, model)
        stage = cache.get(key)
        if stage is None:
            stage = cache[key] = flows.stage(s)
            if len(cache) > STAGE_CACHE_SIZE:
                del cache[next(iter(cache))]
        out.append(stage)
    return out


@dataclass(frozen=True)
class CostToGo:
    """The backward pass: ``to_go[t]`` is ``W_t`` for ``t = 0..n`` (``W_t(E)``: the least cost,
    currency, of slots ``t..n-1`` starting them with ``E`` kWh stored, less the terminal value
    per kWh left at the end; +inf outside its domain), with the slot costs it was built from."""

    to_go: list[Pwl]
    stages: list[Pwl]
    slots: list[_Slot]


def cost_to_go(problem: Problem, terminal_value: float) -> CostToGo:
    """The exact cost-to-go of ``problem`` (see ``CostToGo``).

    Raises ``InfeasiblePlan`` when a slot's grid and battery limits cannot meet its load.
    """
    window = Window.of(problem)
    flows, slots = _Flows(problem), _slots(problem)
    stages = _stages(flows, slots)
    ends = np.array([window.floor, window.ceiling])
    to_go = [Pwl(ends, -terminal_value * ends)]
    for t in range(problem.n - 1, -1, -1):
        step = _window_step(stages[t], to_go[-1], window)
        if has_limit(slots[t]):
            step = _with_limit(step, _limit_to_go(flows, slots[t], to_go[-1], window))
            step = _with_limit(step, _full_limit(to_go[-1], window, flows.capacity))
        to_go.append(step)
    to_go.reverse()
    return CostToGo(to_go, stages, slots)


def value_functions(problem: Problem, terminal_value: float) -> list[Pwl]:
    """``W_0..W_n`` of ``cost_to_go``."""
    return cost_to_go(problem, terminal_value).to_go


def solve_dp(problem: Problem, terminal_value: float) -> LpSolution:
    """The exact optimum of the planner's model (one direction per slot) by DP.

    Raises ``InfeasiblePlan`` when no path meets the limits.
    """
    return optimal_path(problem, cost_to_go(problem, terminal_value))


def optimal_path(problem: Problem, backward: CostToGo) -> LpSolution:
    """The optimum's flows read off the cost-to-go by a forward pass.

    Raises ``InfeasiblePlan`` when the start lies outside ``W_0``'s domain.
    """
    to_go = backward.to_go
    start = problem.soc_start_kwh
    objective = float(np.interp(start, to_go[0].x, to_go[0].y))
    if not to_go[0].x[0] - X_TOL <= start <= to_go[0].x[-1] + X_TOL:
        raise InfeasiblePlan("no plan meets the battery, grid and SOC limits for these inputs")
    return _forward(problem, backward.stages, to_go, backward.slots, objective)


def _forward(
    problem: Problem, stages: list[Pwl], to_go: list[Pwl], slots: list[_Slot], objective: float
) -> LpSolution:
    n, flows = problem.n, _Flows(problem)
    rows = np.zeros((n, 5))
    soc = np.zeros(n)
    energy = problem.soc_start_kwh
    window = Window.of(problem)
    for t in range(n):
        after, stage = to_go[t + 1], stages[t]
        low, high = window.next_bounds(energy)
        low, high = max(low, float(after.x[0])), min(high, float(after.x[-1]))
        candidates = np.concatenate([after.x, energy + stage.x, [low, high]])
        candidates = np.clip(candidates, low, high)
        totals = stage.at(candidates - energy) + after.at(candidates)
        k = int(np.argmin(totals))
        expected = float(np.interp(energy, to_go[t].x, to_go[t].y))
        nxt = float(candidates[k])
        row = flows.settle(nxt - energy, slots[t])
        full = energy >= flows.capacity - X_TOL  # stores nothing (``_full_limit``)
        if has_limit(slots[t]) and (energy <= window.high + X_TOL or full):
            charge, curtail = flows.limit_flows(energy, slots[t])
            end = energy + charge * flows.eta_c
            limit = TIE_BREAK_PER_KWH * charge + float(after.at(np.array([end]))[0])
            if (end <= window.high + X_TOL or full) and limit < float(totals[k]) - 1e-12:
                nxt, row, totals[k] = end, (charge, 0.0, 0.0, 0.0, curtail), limit
        if not totals[k] <= expected + 1e-6 * max(1.0, abs(expected)):
            raise SolverError(
                f"dynamic programme: path breaks at slot {t} ({totals[k]} > {expected})"
            )
        rows[t] = row
        soc[t] = energy = nxt
    return LpSolution(
        charge_kwh=rows[:, 0],
        discharge_kwh=rows[:, 1],
        import_kwh=rows[:, 2],
        export_kwh=rows[:, 3],
        curtail_kwh=rows[:, 4],
        soc_end_kwh=soc,
        objective=objective,
        solver="dp",
    )
