"""The planner's fast paths (issue 19: a home-year re-planned hourly in seconds) give exactly
what the plain computation gives: the slot-cost cache, the list-based restriction of a
convolution, the policy's in-place option arrays and its scoring of them (the options' flows
from the sign of their energy, the modes' as floats; the walk's first slot kept for
``choose``). Bit for bit, not approximately: the backtest's year must cost the same to the cent
whichever path ran."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.domain import BatterySpec, GridSpec
from optimizer.errors import InfeasiblePlan
from optimizer.planning import PlanOptions, Problem, build_problem, dp, plan_policy
from optimizer.planning.device import (
    POWER_STEP_PCT,
    ModeLaws,
    SlotOutcome,
    export_limit_ac_kwh,
    self_consumption_ac_kwh,
    settle_arrays,
)
from optimizer.planning.policy import (
    _LIMIT,
    _SC,
    GRID_TOL_KWH,
    LOOK_AHEAD_SLOTS,
    TIE_TOL,
    Policy,
)
from optimizer.planning.pwl import (
    COST_TOL,
    MAX_ROUNDS,
    SLOPE_TOL,
    Pwl,
    convex,
    convolve,
    interp_point,
    lower_envelope,
    restrict,
    restrict_points,
    simplify,
)
from optimizer.planning.solution import TIE_BREAK_PER_KWH
from optimizer.timeseries import FloatArray
from tests.planning.conftest import energies, prices, series

START = datetime(2023, 6, 1, tzinfo=UTC)
batteries = st.builds(
    BatterySpec,
    capacity_kwh=st.sampled_from([4.2, 10.08]),
    min_soc_pct=st.sampled_from([0.0, 10.0]),
    max_soc_pct=st.sampled_from([90.0, 100.0]),
    max_charge_kw=st.sampled_from([1.0, 3.6]),
    max_discharge_kw=st.sampled_from([1.0, 3.6]),
    charge_efficiency=st.sampled_from([0.92, 1.0]),
    discharge_efficiency=st.sampled_from([0.85, 0.92]),
    cycle_cost_per_kwh=st.sampled_from([0.0, 0.02]),
    inverter_rating_w=st.sampled_from([3600.0, 4600.0]),
)
grids = st.builds(
    GridSpec,
    export_allowed=st.booleans(),
    max_import_kw=st.sampled_from([2.5, 15.0]),
    max_export_kw=st.sampled_from([0.5, 3.68]),
)


@st.composite
def problems(
    draw: st.DrawFn, battery: st.SearchStrategy[BatterySpec] = batteries, most: int = 12
) -> Problem:
    """A problem of 1..``most`` slots on one of ``battery``'s batteries."""
    n = draw(st.integers(min_value=1, max_value=most))

    def values(kind: st.SearchStrategy[float]) -> list[float]:
        return draw(st.lists(kind, min_size=n, max_size=n))

    return build_problem(
        series(values(prices)), series(values(prices)), series(values(energies)),
        series(values(energies)), draw(battery), draw(grids),
        draw(st.floats(min_value=0, max_value=100)), START, PlanOptions(),
    )  # fmt: skip


def _same(a: FloatArray, b: FloatArray) -> bool:
    """Equal bit for bit (NaN included)."""
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _same_pwl(a: Pwl, b: Pwl) -> bool:
    return _same(a.x, b.x) and _same(a.y, b.y)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.sampled_from([0.0, 0.1]))
def test_cached_slot_costs_are_the_ones_built_afresh(problem: Problem, value: float) -> None:
    dp._STAGE_CACHE.clear()
    try:
        cold = dp.cost_to_go(problem, value)
    except InfeasiblePlan:
        return
    warm = dp.cost_to_go(problem, value)  # every slot cost from the cache now
    flows = dp._Flows(problem)
    for t, s in enumerate(dp._slots(problem)):
        fresh = flows.stage(s)
        assert _same_pwl(cold.stages[t], fresh)
        assert warm.stages[t] is cold.stages[t]
    for a, b in zip(cold.to_go, warm.to_go, strict=True):
        assert _same_pwl(a, b)


def test_a_signed_zero_price_takes_the_cached_slot_cost_of_zero() -> None:
    """Prices 0.0 and -0.0 (equal as cache keys) in two otherwise equal slots: the slot cost
    built afresh for each is bit for bit the cached one (hypothesis found [0.0, -0.0])."""
    dp._STAGE_CACHE.clear()
    problem = build_problem(
        series([0.0, -0.0]), series([0.0, 0.0]), series([0.0, 0.0]), series([0.0, 0.0]),
        BatterySpec(min_soc_pct=0.0, cycle_cost_per_kwh=0.0), GridSpec(export_allowed=False),
        0.0, START, PlanOptions(),
    )  # fmt: skip
    cold = dp.cost_to_go(problem, 0.0)
    flows = dp._Flows(problem)
    for t, s in enumerate(dp._slots(problem)):
        assert _same_pwl(cold.stages[t], flows.stage(s))


def test_the_slot_cost_cache_tells_battery_models_apart() -> None:
    """The same slot with another efficiency or wear cost is another slot cost."""
    dp._STAGE_CACHE.clear()
    base = BatterySpec()
    made = []
    for battery in (base, BatterySpec(charge_efficiency=0.8), BatterySpec(cycle_cost_per_kwh=0.05)):
        problem = build_problem(
            series([0.3]), series([0.05]), series([0.4]), series([0.0]), battery, GridSpec(),
            50.0, START, PlanOptions(),
        )  # fmt: skip
        made.append(dp.cost_to_go(problem, 0.1).stages[0])
    assert not _same_pwl(made[0], made[1])
    assert not _same_pwl(made[0], made[2])
    assert len(dp._STAGE_CACHE) == 3


def test_the_slot_cost_cache_stays_bounded() -> None:
    dp._STAGE_CACHE.clear()
    loads = np.round(np.linspace(0.0, 1.5, dp.STAGE_CACHE_SIZE + 50), 6)
    problem = build_problem(
        series([0.3] * len(loads)), series([0.05] * len(loads)), series(list(loads)),
        None, BatterySpec(), GridSpec(), 50.0, START, PlanOptions(),
    )  # fmt: skip
    dp._stages(dp._Flows(problem), dp._slots(problem))
    assert len(dp._STAGE_CACHE) == dp.STAGE_CACHE_SIZE


increasing = st.lists(
    st.floats(min_value=-5, max_value=5, allow_nan=False), min_size=1, max_size=12, unique=True
).map(sorted)


@settings(max_examples=300, deadline=None)
@given(
    increasing,
    st.lists(st.floats(min_value=-10, max_value=10, allow_nan=False), min_size=12, max_size=12),
    st.floats(min_value=-6, max_value=6, allow_nan=False),
    st.floats(min_value=0, max_value=8, allow_nan=False),
)
def test_restrict_points_equals_restrict(
    xs: list[float], values: list[float], low: float, width: float
) -> None:
    ys = values[: len(xs)]
    fast = restrict_points(xs, ys, low, low + width)
    plain = restrict(Pwl(np.array(xs), np.array(ys)), low, low + width)
    assert (fast is None) == (plain is None)
    if fast is not None and plain is not None:
        assert _same_pwl(fast, plain)


def _reference_options(policy: Policy, t: int, soc: float) -> tuple[FloatArray, ...]:
    """The options' AC energies, powers and targets as first written (one array per step)."""
    b, dt = policy.problem.battery, policy.problem.dt_h
    kpp = b.capacity_kwh / 100.0
    step = b.inverter_rating_w / 1000.0 * POWER_STEP_PCT / 100.0 * dt
    most_in, most_out = policy._most_charge_kwh, policy._most_discharge_kwh
    soc_pct = soc / kpp
    up = (soc + most_in * b.charge_efficiency) / kpp
    down = (soc - most_out / b.discharge_efficiency) / kpp
    top, bottom = math.floor(b.max_soc_pct + 1e-9), math.ceil(b.min_soc_pct - 1e-9)
    charges = np.arange(math.floor(soc_pct + 1e-9) + 1, min(math.ceil(up - 1e-9), top) + 1)
    discharges = np.arange(
        math.ceil(soc_pct - 1e-9) - 1, max(math.floor(down + 1e-9), bottom) - 1, -1
    )
    targets = np.concatenate((charges, discharges)).astype(float)
    n_up = len(charges)
    stored = targets * kpp - soc
    need = np.concatenate(
        (stored[:n_up] / b.charge_efficiency, -stored[n_up:] * b.discharge_efficiency)
    )
    most = np.where(np.arange(len(need)) < n_up, most_in, most_out)
    moved = np.minimum(need, most)
    steps = np.ceil(need / step - 1e-9).clip(1.0, 20.0) * POWER_STEP_PCT
    moved[n_up:] *= -1.0
    return moved, steps, targets


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.lists(st.floats(min_value=0, max_value=1.1), min_size=4, max_size=4))
def test_policy_options_are_the_plain_computation(problem: Problem, shares: list[float]) -> None:
    try:
        policy = plan_policy(problem, PlanOptions())
    except InfeasiblePlan:
        return
    b = problem.battery
    for t in range(problem.n):
        for share in shares:
            soc = b.capacity_kwh * share
            options = policy._options(t, soc)
            fixed = len(options.modes)
            moved, steps, targets = _reference_options(policy, t, soc)
            assert _same(options.ac[fixed:], moved)
            assert _same(options.powers, steps)
            assert _same(np.concatenate((options.c_target, options.d_target)), targets)
            assert _same(np.concatenate((options.c_power, options.d_power)), steps)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(min_value=-2, max_value=2, allow_nan=False), min_size=1, max_size=30),
    st.floats(min_value=0, max_value=4.2),
    energies,
    energies,
    st.sampled_from([-1.0, 0.0, 0.3, 5.0]),
    batteries,
    grids,
)
def test_settle_with_a_scalar_mode_cap_is_the_array_one(
    ac: list[float], soc: float, load: float, pv: float, cap: float, b: BatterySpec, g: GridSpec
) -> None:
    flows = np.array(ac)
    scalar = settle_arrays(flows, soc, load, pv, 0.5, b, g, cap)
    array = settle_arrays(flows, soc, load, pv, 0.5, b, g, np.full(len(ac), cap))
    for a, c in zip(scalar, array, strict=True):
        assert _same(a, c)


def _reference_score(
    policy: Policy, t: int, soc_kwh: float, look_ahead: int = LOOK_AHEAD_SLOTS
) -> tuple[int, float, tuple[FloatArray, ...], FloatArray]:
    """``Policy._score`` as first written: ``_options`` played through ``settle_arrays`` and
    scored (the best's index and score, every option's flows and its AC energy)."""
    p, b = policy.problem, policy.problem.battery
    options = policy._options(t, soc_kwh)
    flows = settle_arrays(
        options.ac, soc_kwh, policy._load[t], policy._pv[t], p.dt_h, b, p.grid, options.cap
    )
    _, discharge, imp, exp, _, soc_end = flows
    score = imp * policy._price_import[t] - exp * policy._price_export[t]
    after = policy.to_go[t + 1]
    score += np.abs(options.ac) * TIE_BREAK_PER_KWH + after.at(soc_end)
    if b.cycle_cost_per_kwh:
        score += discharge * b.cycle_cost_per_kwh
    modes = len(options.modes)
    ac, end = options.ac[:modes], soc_end[:modes]
    outside = ((ac > 0) & (end > policy._top_kwh + 1e-9)) | (
        (ac < 0) & (end < policy._bottom_kwh - 1e-9)
    )
    score[:modes][outside] = np.inf
    if soc_kwh < policy._sc_safe_from_kwh:
        score[options.modes.index(_SC)] = np.inf
    if policy._may_break_limits[t]:
        feasible = (imp <= policy._import_cap + GRID_TOL_KWH) & (
            exp <= policy._export_cap + GRID_TOL_KWH
        )
        score = np.where(feasible, score, np.inf)
    margin = policy._edge_margin_kwh
    near = np.zeros(len(soc_end), dtype=bool)
    if after.x[0] > policy._floor_kwh + 1e-9:
        near |= soc_end < after.x[0] + margin
    if after.x[-1] < policy._ceiling_kwh - 1e-9:
        near |= soc_end > after.x[-1] - margin
    while True:
        best = float(score.min())
        if not math.isfinite(best):
            k = int(np.argmin(imp + exp))
            break
        k = int((score <= best + TIE_TOL).argmax())
        viable = (
            t + 1 >= policy.n
            or look_ahead <= 0
            or math.isfinite(_reference_score(policy, t + 1, float(soc_end[k]), look_ahead - 1)[1])
        )
        if not near[k] or viable:
            break
        score[k] = np.inf
    assert _LIMIT not in options.modes or options.modes.index(_LIMIT) == _LIMIT
    return k, float(score[k]), flows, options.ac


def _reference_walk_cost(policy: Policy) -> float:
    p, b = policy.problem, policy.problem.battery
    soc, total = p.soc_start_kwh, 0.0
    for t in range(policy.n):
        k, _, flows, _ = _reference_score(policy, t, soc)
        _, discharge, imp, exp, _, soc_end = (float(v[k]) for v in flows)
        total += imp * policy._price_import[t] - exp * policy._price_export[t]
        total += discharge * b.cycle_cost_per_kwh
        soc = soc_end
    return total - policy.terminal_value_per_kwh * (soc - p.soc_start_kwh)


def _same_float(a: float, b: float) -> bool:
    return _same(np.array([a]), np.array([b]))


#: Batteries for the scoring: a guard and a backup level below the reserve (self-consumption
#: not reserve-safe near the reserve), and no charging or discharging power at all (forced
#: options that move nothing: the scoring's general branch).
scored_batteries = st.builds(
    BatterySpec,
    capacity_kwh=st.sampled_from([4.2, 10.08]),
    min_soc_pct=st.sampled_from([0.0, 10.0]),
    max_soc_pct=st.sampled_from([90.0, 100.0]),
    max_charge_kw=st.sampled_from([0.0, 1.0, 3.6]),
    max_discharge_kw=st.sampled_from([0.0, 1.0, 3.6]),
    charge_efficiency=st.sampled_from([0.92, 1.0]),
    discharge_efficiency=st.sampled_from([0.85, 0.92]),
    cycle_cost_per_kwh=st.sampled_from([0.0, 0.02]),
    inverter_rating_w=st.sampled_from([3600.0, 4600.0]),
    backup_pct=st.sampled_from([0.0, 5.0, 20.0]),
    guard_pct=st.sampled_from([0.0, 12.0]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    problems(scored_batteries, 10),
    st.lists(st.floats(min_value=0, max_value=1.1), min_size=3, max_size=3),
)
def test_policy_scoring_is_the_plain_computation(problem: Problem, shares: list[float]) -> None:
    """Every option's flows, the choice, its score and outcome, and the walk's cost, bit for
    bit; ``choose(0, soc)`` after the walk (its kept first slot) as on a fresh policy."""
    try:
        policy = plan_policy(problem, PlanOptions())
    except InfeasiblePlan:
        return
    if policy.idle:
        policy = Policy(
            problem, policy.backward, policy.options, policy.terminal_value_per_kwh,
            slack=policy.slack,
        )  # fmt: skip
    b = problem.battery
    socs = [b.capacity_kwh * share for share in shares] + [problem.soc_start_kwh]
    for t in range(problem.n):
        for soc in socs:
            k, score, flows, ac = _reference_score(policy, t, soc)
            scored = policy._score(t, soc)
            assert scored.k == k
            assert _same_float(scored.score, score)
            _, _, imp, exp, _, soc_end = flows
            assert _same(scored.ac, ac)
            assert _same(scored.imp, imp)
            assert _same(scored.exp, exp)
            assert _same(scored.soc_end, soc_end)
            outcome = policy._outcome(t, scored)
            expected = SlotOutcome(*(float(v[k]) for v in flows))
            for got, want in zip(
                (outcome.charge_kwh, outcome.discharge_kwh, outcome.import_kwh,
                 outcome.export_kwh, outcome.curtail_kwh, outcome.soc_end_kwh),
                (expected.charge_kwh, expected.discharge_kwh, expected.import_kwh,
                 expected.export_kwh, expected.curtail_kwh, expected.soc_end_kwh),
                strict=True,
            ):  # fmt: skip
                assert _same_float(got, want)
    fresh = Policy(
        problem, policy.backward, policy.options, policy.terminal_value_per_kwh,
        slack=policy.slack,
    )  # fmt: skip
    assert _same_float(policy.walk_cost(), _reference_walk_cost(fresh))
    kept, made = policy.choose(0, problem.soc_start_kwh), fresh.choose(0, problem.soc_start_kwh)
    assert kept.command == made.command
    assert kept.outcome == made.outcome
    assert _same_float(kept.score, made.score)


@settings(max_examples=300, deadline=None)
@given(
    scored_batteries,
    st.sampled_from([0.25, 0.5, 1.0]),
    st.floats(min_value=-0.5, max_value=11.0, allow_nan=False),
    energies,
    energies,
    st.sampled_from([0.0, 0.3, 5.0]),
)
def test_mode_laws_are_the_functions(
    b: BatterySpec, dt: float, soc: float, load: float, pv: float, cap: float
) -> None:
    laws = ModeLaws.of(b, dt)
    assert _same_float(
        laws.self_consumption(soc, load, pv), self_consumption_ac_kwh(soc, load, pv, dt, b)
    )
    assert _same_float(
        laws.export_limit(cap, soc, load, pv), export_limit_ac_kwh(cap, soc, load, pv, dt, b)
    )


finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(finite, min_size=1, max_size=12, unique=True).map(sorted),
    st.lists(st.one_of(finite, st.sampled_from([math.inf, -math.inf])), min_size=12, max_size=12),
    st.one_of(finite, st.sampled_from([math.nan, math.inf, -math.inf])),
)
def test_interp_point_is_numpy_interp(xs: list[float], values: list[float], point: float) -> None:
    """NumPy's own steps, infinite values (its NaN fallbacks) and points outside included."""
    ys = values[: len(xs)]
    plain = np.interp(np.array([point]), np.array(xs), np.array(ys))
    assert _same(np.array([interp_point(point, xs, ys)]), plain)
    on = xs[len(xs) // 2]  # a breakpoint and a point just inside the ends
    for p in (on, xs[0] + 1e-12, xs[-1] - 1e-12):
        assert _same(np.array([interp_point(p, xs, ys)]), np.interp([p], xs, ys))


@settings(max_examples=200, deadline=None)
@given(increasing, st.lists(finite, min_size=12, max_size=12), st.lists(finite, max_size=6))
def test_a_pwl_of_lists_is_the_one_of_arrays(
    xs: list[float], values: list[float], points: list[float]
) -> None:
    ys = values[: len(xs)]
    fast, plain = Pwl.of_lists(xs, ys), Pwl(np.array(xs), np.array(ys))
    assert _same_pwl(fast, plain)
    at = np.array([*points, xs[0] - 2e-9, xs[0] - 5e-10, xs[-1] + 5e-10, xs[-1] + 2e-9])
    assert _same(fast.at(at), plain.at(at))
    assert fast.pieces == plain.pieces
    assert fast.lists == plain.lists == (xs, ys)


def _plain_convex(f: Pwl) -> bool:
    """``convex`` as first written: over the slopes computed from the arrays."""
    x, y = f.x.tolist(), f.y.tolist()
    previous = -np.inf
    for k in range(len(x) - 1):
        slope = (y[k + 1] - y[k]) / (x[k + 1] - x[k])
        if slope < previous - SLOPE_TOL:
            return False
        previous = slope
    return True


def _plain_convolve(stage: Pwl, after: Pwl, low: float, high: float) -> Pwl | None:
    """``convolve`` as first written: slopes from the arrays, one sorted list, NumPy's
    restriction."""
    sx, sy, ax, ay = stage.x.tolist(), stage.y.tolist(), after.x.tolist(), after.y.tolist()
    s_pieces = [((sy[k + 1] - sy[k]) / (sx[k + 1] - sx[k]), sx[k + 1] - sx[k]) for k in
                range(len(sx) - 1)]  # fmt: skip
    pieces = [(-slope, width) for slope, width in reversed(s_pieces)]
    pieces += [((ay[k + 1] - ay[k]) / (ax[k + 1] - ax[k]), ax[k + 1] - ax[k]) for k in
               range(len(ax) - 1)]  # fmt: skip
    pieces.sort(key=lambda piece: piece[0])
    x, y = float(after.x[0] - stage.x[-1]), float(after.y[0] + stage.y[-1])
    xs, ys, last = [x], [y], np.nan
    for slope, dx in pieces:
        x, y = x + dx, y + slope * dx
        if abs(slope - last) <= SLOPE_TOL:
            xs[-1], ys[-1] = x, y
        else:
            xs.append(x)
            ys.append(y)
            last = slope
    return restrict(Pwl(np.array(xs), np.array(ys)), low, high)


@st.composite
def convex_pwls(draw: st.DrawFn, most: int) -> Pwl:
    """Convex (within ``SLOPE_TOL``: a slope may fall by less) functions whose slopes often
    tie with each other and with another function's (drawn from a short list)."""
    n = draw(st.integers(min_value=1, max_value=most))
    slopes = sorted(draw(st.lists(st.sampled_from([-0.3, -0.05, 0.0, 0.02, 0.1, 0.25]) |
                                  st.floats(-1, 1), min_size=n, max_size=n)))  # fmt: skip
    if n > 1 and draw(st.booleans()):
        k = draw(st.integers(min_value=1, max_value=n - 1))
        slopes[k] = slopes[k - 1] - draw(st.sampled_from([0.0, 4e-10, 9e-10, 2e-9]))
    widths = draw(st.lists(st.floats(1e-7, 3), min_size=n, max_size=n))
    x, y = draw(st.floats(-5, 5)), draw(st.floats(-2, 2))
    xs, ys = [x], [y]
    for slope, width in zip(slopes, widths, strict=True):
        x, y = x + width, y + slope * width
        xs.append(x)
        ys.append(y)
    return Pwl(np.array(xs), np.array(ys))


@settings(max_examples=400, deadline=None)
@given(convex_pwls(3), convex_pwls(10), st.floats(-6, 6), st.floats(0, 8), st.booleans())
def test_convolve_is_the_plain_computation(
    stage: Pwl, after: Pwl, low: float, width: float, listed: bool
) -> None:
    """Bit for bit, with the later function built from lists (as the backward pass builds
    it) or from arrays, and the slot cost's flipped pieces kept from an earlier call."""
    if listed:
        after = Pwl.of_lists(after.x.tolist(), after.y.tolist())
    assert convex(stage) == _plain_convex(stage) and convex(after) == _plain_convex(after)
    if not (convex(stage) and convex(after)):
        return
    plain = _plain_convolve(stage, after, low, low + width)
    for _ in range(2):
        fast = convolve(stage, after, low, low + width)
        assert (fast is None) == (plain is None)
        if fast is not None and plain is not None:
            assert _same_pwl(fast, plain)
            assert fast.pieces == Pwl(fast.x.copy(), fast.y.copy()).pieces


def _plain_slots(problem: Problem) -> list[dp._Slot] | str:
    """``dp._slots`` as first written (a loop with ``max``/``min`` per slot), or the error;
    signed zeros in the inputs made +0.0 first, as ``dp._slots`` does for its cache."""
    p, dt, b, grid = problem, problem.dt_h, problem.battery, problem.grid
    p = replace(p, load_kwh=p.load_kwh + 0.0, pv_kwh=p.pv_kwh + 0.0,
                price_import=p.price_import + 0.0, price_export=p.price_export + 0.0)  # fmt: skip
    flows = dp._Flows(problem)
    export_cap = grid.max_export_kw * dt if grid.export_allowed else 0.0
    import_cap = grid.max_import_kw * dt
    lows = flows.stored(-export_cap - p.load_kwh).tolist()
    highs = flows.stored(import_cap - p.load_kwh + p.pv_kwh).tolist()
    most_out = -b.max_discharge_kw * dt / b.discharge_efficiency
    most_in = b.max_charge_kw * dt * b.charge_efficiency
    out = []
    for t in range(p.n):
        x_low, x_high = max(most_out, lows[t]), min(most_in, highs[t])
        if x_low > x_high + dp.X_TOL:
            return f"slot {p.index[t].isoformat()}"
        load, pv = float(p.load_kwh[t]), float(p.pv_kwh[t])
        imp, exp = float(p.price_import[t]), float(p.price_export[t])
        top = max(x_low, x_high)
        out.append(dp._Slot(load, pv, imp, exp, import_cap, export_cap, x_low, top))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.sampled_from([0.0, 3.0, 40.0]))
def test_slots_are_the_plain_loop(problem: Problem, tight_import_kw: float) -> None:
    """Bit for bit, the infeasible first slot included (a tight import limit makes some)."""
    if tight_import_kw:
        grid = replace(problem.grid, max_import_kw=tight_import_kw / 10)
        problem = replace(problem, grid=grid)
    plain = _plain_slots(problem)
    if isinstance(plain, str):
        with pytest.raises(InfeasiblePlan, match=re.escape(plain) + ":"):
            dp._slots(problem)
        return
    fast = dp._slots(problem)
    assert _same(np.array(fast), np.array(plain))
    assert all(type(s) is dp._Slot for s in fast)


def _plain_lower_envelope(grid: FloatArray, values: FloatArray) -> Pwl:
    """``lower_envelope`` as first written (every cell indexed, reductions by method)."""
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
            return simplify(np.concatenate(xs), np.concatenate(ys))
        left, right, xl, xr = left[:, ~done], right[:, ~done], xl[~done], xr[~done]
        cols = np.arange(left.shape[1])
        a, b = left.argmin(axis=0), right.argmin(axis=0)
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
    raise AssertionError("did not converge")


@st.composite
def line_sets(draw: st.DrawFn) -> tuple[FloatArray, FloatArray]:
    """Functions linear between grid points, each on an interval of the grid (+inf outside),
    often crossing inside cells, sometimes tied or defined nowhere."""
    n = draw(st.integers(min_value=1, max_value=9))
    grid = np.array(draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n, unique=True)))
    grid.sort()
    rows = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        row = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, -0.25]) | st.floats(-3, 3),
                                     min_size=n, max_size=n)))  # fmt: skip
        first = draw(st.integers(min_value=0, max_value=n))
        last = draw(st.integers(min_value=first, max_value=n))
        row[:first], row[last:] = np.inf, np.inf
        rows.append(row)
    return grid, np.array(rows)


@settings(max_examples=400, deadline=None)
@given(line_sets())
def test_lower_envelope_is_the_plain_computation(lines: tuple[FloatArray, FloatArray]) -> None:
    grid, values = lines
    try:
        plain: Pwl | str = _plain_lower_envelope(grid, values.copy())
    except InfeasiblePlan as error:
        plain = str(error)
    if isinstance(plain, str):
        with pytest.raises(InfeasiblePlan, match=plain):
            lower_envelope(grid, values.copy())
        return
    assert _same_pwl(lower_envelope(grid, values.copy()), plain)
