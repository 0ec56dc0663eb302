"""Plans that hedge over load scenarios (``optimizer.planning.hedge``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from optimizer.domain import BatterySpec, GridSpec
from optimizer.planning import PlanOptions, Policy, Problem, build_problem, plan_policy
from optimizer.planning.device import apply_command
from optimizer.planning.dp import cost_to_go
from optimizer.planning.hedge import hedged_cost_to_go, mean_pwl, scenario_pairs
from optimizer.planning.pwl import Pwl
from tests.planning.conftest import series

START = datetime(2023, 1, 10, tzinfo=UTC)
OPTIONS = PlanOptions(terminal_soc_value=0.0)
BATTERY = BatterySpec(capacity_kwh=4.2, min_soc_pct=0.0, max_charge_kw=3.6, backup_pct=0.0)


def test_the_mean_of_functions_is_taken_where_all_are_defined() -> None:
    f = Pwl(np.array([0.0, 1.0, 3.0]), np.array([2.0, 0.0, 1.0]))
    g = Pwl(np.array([0.5, 2.0, 4.0]), np.array([1.0, 1.0, -1.0]))
    mean = mean_pwl([f, g], np.array([0.25, 0.75]))
    assert mean is not None
    assert (mean.x[0], mean.x[-1]) == (0.5, 3.0)
    points = np.linspace(0.5, 3.0, 41)
    expected = 0.25 * np.interp(points, f.x, f.y) + 0.75 * np.interp(points, g.x, g.y)
    np.testing.assert_allclose(mean.at(points), expected, atol=1e-12)
    assert mean_pwl([f, Pwl(np.array([3.5, 4.0]), np.array([0.0, 0.0]))], np.ones(2)) is None


def _problem(evening_kwh: float) -> Problem:
    """A cheap slot, then two dear ones whose load is ``evening_kwh`` each; nothing to export."""
    n = 3
    return build_problem(
        series([0.10, 0.50, 0.50], START), series([0.0] * n, START),
        series([0.0, evening_kwh, evening_kwh], START), series([0.0] * n, START), BATTERY,
        GridSpec(), 0.0, START, OPTIONS,
    )  # fmt: skip


def test_identical_scenarios_give_the_forecast_s_own_cost_to_go() -> None:
    problem = _problem(0.5)
    loads = np.stack([problem.load_kwh, problem.load_kwh])
    hedged = hedged_cost_to_go(problem, loads, np.array([0.5, 0.5]), 0.0)
    own = cost_to_go(problem, 0.0)
    assert hedged is not None
    for mine, theirs in zip(hedged.to_go, own.to_go, strict=True):
        points = np.linspace(theirs.x[0], theirs.x[-1], 25)
        np.testing.assert_allclose(mine.at(points), theirs.at(points), atol=1e-9)


def _expected_cost(problem: Problem, policy_scenarios: np.ndarray | None) -> tuple[float, float]:
    """(kWh stored after the cheap slot, the expected bill over the two evenings 0 and 1 kWh)."""
    weights = np.array([0.5, 0.5])
    scenarios = (policy_scenarios, weights) if policy_scenarios is not None else None
    policy = plan_policy(problem, OPTIONS, scenarios=scenarios)
    bills = []
    stored = 0.0
    for evening in (0.0, 1.0):
        soc, bill = problem.soc_start_kwh, 0.0
        for t, load in enumerate((0.0, evening, evening)):
            command = policy.choose(t, soc).command
            out = apply_command(command, soc, load, 0.0, problem.dt_h, BATTERY, problem.grid)
            bill += out.import_kwh * float(problem.price_import[t])
            soc = out.soc_end_kwh
            if t == 0:
                stored = soc
        bills.append(bill)
    return stored, float(np.dot(weights, bills))


def test_a_hedged_plan_stores_for_the_likely_evenings_and_expects_to_pay_less() -> None:
    problem = _problem(0.5)  # the forecast: the mean of an evening of 0 and one of 1 kWh/slot
    scenarios = np.stack([_problem(0.0).load_kwh, _problem(1.0).load_kwh])
    plain_stored, plain_bill = _expected_cost(problem, None)
    hedged_stored, hedged_bill = _expected_cost(problem, scenarios)
    # On the mean the plan stores for 1 kWh; each further kWh saves 0.50 half the time, more
    # than the 0.10 / 0.92 it costs: the hedged plan stores for the dear evening, as much as
    # the cheap slot can charge (3.6 kW for half an hour, 92 % into the cells).
    assert plain_stored == pytest.approx(1.0 / 0.92, abs=0.05)
    assert hedged_stored == pytest.approx(1.8 * 0.92, abs=0.02)
    assert hedged_bill < plain_bill - 0.05  # 0.299 against 0.368 GBP


def test_pv_scenarios_pair_with_every_load_scenario() -> None:
    problem = _problem(0.5)
    loads = (np.stack([problem.load_kwh * 0.5, problem.load_kwh * 1.5]), np.array([0.4, 0.6]))
    pvs = (np.stack([problem.pv_kwh, problem.pv_kwh + 1, problem.pv_kwh + 2]),
           np.array([0.25, 0.5, 0.25]))  # fmt: skip
    pairs = scenario_pairs(problem, loads, pvs)
    assert pairs is not None
    load_paths, pv_paths, weights = pairs
    assert load_paths.shape == pv_paths.shape == (6, problem.n)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[1] == pytest.approx(0.4 * 0.5)
    np.testing.assert_allclose(pv_paths[1], problem.pv_kwh + 1)
    only_pv = scenario_pairs(problem, None, pvs)
    assert only_pv is not None
    np.testing.assert_allclose(only_pv[0], np.stack([problem.load_kwh] * 3))
    assert scenario_pairs(problem, None, None) is None


def test_a_plan_hedged_over_pv_stores_for_a_dull_evening() -> None:
    """The evening's PV is either 0 or 1 kWh a slot (forecast: the mean, 0.5) against a load
    of 0.5: the plain plan expects the PV to cover it and stores nothing; the hedged plan
    stores for the dull case at the cheap price."""
    problem = _problem(0.5)
    sunny = np.array([0.0, 1.0, 1.0])
    forecast = replace(problem, pv_kwh=sunny / 2)
    plain = plan_policy(forecast, OPTIONS)
    hedged = plan_policy(
        forecast,
        OPTIONS,
        pv_scenarios=(np.stack([np.zeros(3), sunny]), np.array([0.5, 0.5])),
    )
    start = forecast.soc_start_kwh

    def stored(policy: Policy) -> float:
        command = policy.choose(0, start).command
        out = apply_command(command, start, 0.0, 0.0, forecast.dt_h, BATTERY, forecast.grid)
        return out.soc_end_kwh

    assert stored(plain) < 0.05
    assert stored(hedged) > 0.4
