"""``ModelCache`` gives what a fresh PuLP solve gives, over random sequences of problems."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.domain import BatterySpec, GridSpec, Timetable
from optimizer.errors import InfeasiblePlan
from optimizer.planning import PlanOptions, Problem, plan_problem
from optimizer.planning.model import solve
from optimizer.planning.reuse import ModelCache
from optimizer.planning.solution import LpSolution
from tests.planning.conftest import START

prices = st.floats(min_value=-0.3, max_value=1.0, allow_nan=False).map(lambda v: round(v, 4))
energies = st.floats(min_value=0.0, max_value=2.0, allow_nan=False).map(lambda v: round(v, 3))
BATTERIES = [
    BatterySpec(),
    BatterySpec(capacity_kwh=10.08, min_soc_pct=20.0, cycle_cost_per_kwh=0.02),
]
GRIDS = [GridSpec(), GridSpec(export_allowed=False, max_import_kw=4.0)]
FLOWS = ("charge_kwh", "discharge_kwh", "import_kwh", "export_kwh", "curtail_kwh", "soc_end_kwh")


@st.composite
def problems(draw: st.DrawFn) -> tuple[Problem, float]:
    """A problem of one of a few shapes (so the cache is re-used) and a terminal value."""
    n = draw(st.sampled_from([3, 6, 7]))
    battery, grid = draw(st.sampled_from(BATTERIES)), draw(st.sampled_from(GRIDS))
    # Mostly positive prices (the LP path), sometimes negative ones (the exact DP path).
    price = prices if draw(st.booleans()) else prices.map(abs)
    return Problem(
        index=pd.date_range(START, periods=n, freq="30min", tz="UTC"),
        dt_h=0.5,
        price_import=np.array(draw(st.lists(price, min_size=n, max_size=n))),
        price_export=np.array(draw(st.lists(price, min_size=n, max_size=n))),
        load_kwh=np.array(draw(st.lists(energies, min_size=n, max_size=n))),
        pv_kwh=np.array(draw(st.lists(energies, min_size=n, max_size=n))),
        soc_start_kwh=battery.kwh(draw(st.floats(min_value=0, max_value=100))),
        battery=battery,
        grid=grid,
    ), draw(st.sampled_from([0.0, 0.1]))


def _solve(solver: object, problem: Problem, value: float) -> LpSolution | str:
    try:
        return solver(problem, value)  # type: ignore[operator, no-any-return]
    except InfeasiblePlan:
        return "infeasible"


def _assert_same(cached: LpSolution | str, fresh: LpSolution | str) -> None:
    if isinstance(fresh, str) or isinstance(cached, str):
        assert cached == fresh
        return
    assert cached.objective == pytest.approx(fresh.objective, rel=1e-6, abs=1e-6)
    for name in FLOWS:
        np.testing.assert_allclose(getattr(cached, name), getattr(fresh, name), 1e-6, 1e-6)
    assert (cached.solver, cached.exact_slots) == (fresh.solver, fresh.exact_slots)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(problems(), min_size=1, max_size=8))
def test_a_cached_sequence_solves_like_fresh_models(sequence: list[tuple[Problem, float]]) -> None:
    cache = ModelCache()
    for problem, value in sequence:
        _assert_same(_solve(cache.solve, problem, value), _solve(solve, problem, value))
    assert cache.reused + cache.fresh == len(sequence)


def test_prices_that_tempt_both_directions_take_the_exact_path() -> None:
    n = 6
    problem = Problem(
        index=pd.date_range(START, periods=n, freq="30min", tz="UTC"),
        dt_h=0.5,
        price_import=np.full(n, -0.2),
        price_export=np.full(n, 0.0),
        load_kwh=np.full(n, 0.3),
        pv_kwh=np.zeros(n),
        soc_start_kwh=4.2,
        battery=BatterySpec(),
        grid=GridSpec(),
    )
    cache = ModelCache()
    _assert_same(cache.solve(problem, 0.0), solve(problem, 0.0))
    assert cache.fresh == 1 and cache.reused == 0


def _same_timetable(cached: Timetable, fresh: Timetable) -> None:
    assert cached.slots == fresh.slots
    for field in fields(Timetable):
        if field.name != "slots":
            expected, got = getattr(fresh, field.name), getattr(cached, field.name)
            # Floats summed from the LP values may differ in the last bit.
            assert got == (
                pytest.approx(expected, abs=1e-9) if isinstance(got, float) else expected
            )


@SETTINGS
@given(st.lists(problems(), min_size=1, max_size=6))
def test_plan_problem_with_a_cache_gives_the_same_timetable(
    sequence: list[tuple[Problem, float]],
) -> None:
    cache = ModelCache()
    for problem, value in sequence:
        options = PlanOptions(terminal_soc_value=value)
        try:
            fresh = plan_problem(problem, options)
        except InfeasiblePlan:
            with pytest.raises(InfeasiblePlan):
                plan_problem(problem, options, cache)
            continue
        _same_timetable(plan_problem(problem, options, cache), fresh)


def test_cbc_is_never_cached() -> None:
    n = 4
    problem = Problem(
        index=pd.date_range(START, periods=n, freq="30min", tz="UTC"),
        dt_h=0.5,
        price_import=np.array([0.1, 0.4, 0.1, 0.4]),
        price_export=np.zeros(n),
        load_kwh=np.full(n, 0.3),
        pv_kwh=np.zeros(n),
        soc_start_kwh=1.0,
        battery=BatterySpec(),
        grid=GridSpec(),
    )
    cache = ModelCache()
    _assert_same(cache.solve(problem, 0.0, "cbc"), solve(problem, 0.0, "cbc"))
    assert cache.fresh == 1 and cache.reused == 0
