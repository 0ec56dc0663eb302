"""The fast paths around the planner's own work (the terminal value's median, the do-nothing
cost, the slack check on the net load computed once) give exactly what the plain computation
gives: bit for bit, as the backtest's year must cost the same to the cent whichever path ran."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.domain import BatterySpec, GridSpec
from optimizer.planning import Problem, _with_slack
from optimizer.planning.inputs import median, terminal_value_per_kwh
from optimizer.planning.timetable import no_battery_cost
from tests.planning.conftest import START, series

#: Prices with many ties and both zeros: the cases where a median's two middle values meet.
tied = st.sampled_from([-0.05, -0.0, 0.0, 0.0, 0.1, 0.1, 0.25, 0.3333333333333333])
floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
arrays = st.lists(st.one_of(tied, floats), min_size=1, max_size=80).map(np.array)


def _bits(value: float) -> bytes:
    return np.float64(value).tobytes()


@settings(max_examples=200, deadline=None)
@given(arrays)
def test_median_is_numpys_to_the_bit(values: np.ndarray) -> None:
    with np.errstate(over="ignore"):  # the two middle values may add up beyond the floats
        plain, fast = float(np.median(values)), median(values)
    assert _bits(fast) == _bits(plain)  # -0.0 and 0.0 differ


@given(st.lists(st.one_of(tied, st.just(math.nan), st.just(math.inf), st.just(-math.inf))))
def test_median_of_non_finite_or_no_values_is_numpys(values: list[float]) -> None:
    array = np.array(values, dtype=np.float64)
    with warnings.catch_warnings():  # NumPy warns of an empty slice and of inf - inf
        warnings.simplefilter("ignore")
        plain = float(np.median(array))
        fast = median(array)
    assert _bits(fast) == _bits(plain) or (math.isnan(fast) and math.isnan(plain))


def _plain_terminal_value(problem: Problem) -> float:
    displaced = np.where(problem.load_kwh > problem.pv_kwh, problem.price_import,
                         problem.price_export)  # fmt: skip
    value = float(np.median(displaced)) * problem.battery.discharge_efficiency
    return max(0.0, value - problem.battery.cycle_cost_per_kwh)


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    n = draw(st.integers(min_value=1, max_value=80))
    prices = st.one_of(tied, st.floats(min_value=-0.5, max_value=2.0))
    energies = st.one_of(st.sampled_from([0.0, 0.2, 0.5, 1.0]), st.floats(0.0, 3.0))

    def values(kind: st.SearchStrategy[float]) -> np.ndarray:
        return np.array(draw(st.lists(kind, min_size=n, max_size=n)), dtype=np.float64)

    battery = BatterySpec(
        discharge_efficiency=draw(st.sampled_from([0.85, 0.92, 1.0])),
        cycle_cost_per_kwh=draw(st.sampled_from([0.0, 0.02])),
    )
    return Problem(
        index=series([0.0] * n, START).index, dt_h=0.5, price_import=values(prices),
        price_export=values(prices), load_kwh=values(energies), pv_kwh=values(energies),
        soc_start_kwh=1.0, battery=battery, grid=GridSpec(),
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(problems())
def test_terminal_value_is_the_plain_one_to_the_bit(problem: Problem) -> None:
    assert _bits(terminal_value_per_kwh(problem, "auto")) == _bits(_plain_terminal_value(problem))


def _plain_no_battery_cost(problem: Problem) -> float:
    net = problem.load_kwh - problem.pv_kwh
    cap = problem.grid.max_export_kw * problem.dt_h if problem.grid.export_allowed else 0.0
    imports = np.clip(net, 0.0, None)
    exports = np.minimum(np.clip(-net, 0.0, None), cap)
    return float(imports @ problem.price_import - exports @ problem.price_export)


@settings(max_examples=300, deadline=None)
@given(problems(), st.booleans(), st.sampled_from([0.0, 0.5, 3.68]))
def test_no_battery_cost_is_the_plain_one_to_the_bit(
    problem: Problem, export: bool, max_export_kw: float
) -> None:
    grid = GridSpec(export_allowed=export, max_export_kw=max_export_kw)
    problem = replace(problem, grid=grid)
    assert _bits(no_battery_cost(problem)) == _bits(_plain_no_battery_cost(problem))
    assert problem.net_kwh.tobytes() == (problem.load_kwh - problem.pv_kwh).tobytes()


@settings(max_examples=200, deadline=None)
@given(problems(), st.sampled_from([0.5, 1.0, 2.5, 15.0]))
def test_the_slack_is_kept_where_the_plain_peak_says(problem: Problem, import_kw: float) -> None:
    problem = replace(problem, grid=GridSpec(max_import_kw=import_kw))
    b, dt = problem.battery, problem.dt_h
    slack_kw = b.kwh(1.0) / b.charge_efficiency / dt
    peak_kw = float(np.max(problem.load_kwh - problem.pv_kwh)) / dt + b.max_charge_kw
    assert (_with_slack(problem) is None) == (peak_kw <= import_kw - slack_kw)
