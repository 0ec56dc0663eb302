"""The exact dynamic programme (optimizer.planning.dp) against independent solves."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.csvdata import read_series_csv
from optimizer.domain import BatterySpec, GridSpec
from optimizer.errors import InfeasiblePlan
from optimizer.planning import PlanOptions, Problem, build_problem, plan_problem
from optimizer.planning.dp import solve_dp
from optimizer.planning.model import solve
from optimizer.planning.pwl import COST_TOL, lower_envelope, simplify
from optimizer.planning.solution import LpSolution
from strategies.relaxation import solve_exact, solve_relaxation
from tests.planning.conftest import series
from tests.planning.exact import exact_objective

START = datetime(2023, 6, 1, tzinfo=UTC)
DATA = Path(__file__).resolve().parents[2] / "data"
prices = st.floats(min_value=-0.3, max_value=1.0, allow_nan=False).map(lambda v: round(v, 4))
energies = st.floats(min_value=0.0, max_value=2.0, allow_nan=False).map(lambda v: round(v, 3))


@st.composite
def problems(draw: st.DrawFn) -> tuple[Problem, float]:
    n = draw(st.integers(min_value=1, max_value=16))

    def values(kind: st.SearchStrategy[float]) -> list[float]:
        return draw(st.lists(kind, min_size=n, max_size=n))

    battery = BatterySpec(
        capacity_kwh=draw(st.sampled_from([4.2, 10.08])),
        min_soc_pct=draw(st.sampled_from([0.0, 10.0])),
        max_soc_pct=draw(st.sampled_from([90.0, 100.0])),
        max_charge_kw=draw(st.sampled_from([1.0, 3.6])),
        max_discharge_kw=draw(st.sampled_from([1.0, 3.6])),
        charge_efficiency=draw(st.sampled_from([0.92, 1.0])),
        discharge_efficiency=draw(st.sampled_from([0.85, 0.92])),
        cycle_cost_per_kwh=draw(st.sampled_from([0.0, 0.02])),
    )
    grid = GridSpec(
        export_allowed=draw(st.booleans()),
        max_import_kw=draw(st.sampled_from([2.5, 15.0])),
        max_export_kw=draw(st.sampled_from([0.5, 3.68])),
    )
    problem = build_problem(
        series(values(prices)),
        series(values(prices)),
        series(values(energies)),
        series(values(energies)),
        battery,
        grid,
        draw(st.floats(min_value=0, max_value=100)),
        START,
        PlanOptions(),
    )
    return problem, draw(st.sampled_from([0.0, 0.1, -0.05]))


def _check_flows(problem: Problem, s: LpSolution) -> float:
    """Assert the plan obeys every equation; return its objective recomputed from the flows."""
    b, dt = problem.battery, problem.dt_h
    tol = 1e-7
    assert not np.any((s.charge_kwh > tol) & (s.discharge_kwh > tol))
    assert not np.any((s.import_kwh > tol) & (s.export_kwh > tol))
    balance = s.import_kwh - s.export_kwh - s.charge_kwh + s.discharge_kwh - s.curtail_kwh
    assert balance == pytest.approx(problem.load_kwh - problem.pv_kwh, abs=1e-7)
    before = np.concatenate([[problem.soc_start_kwh], s.soc_end_kwh[:-1]])
    change = b.charge_efficiency * s.charge_kwh - s.discharge_kwh / b.discharge_efficiency
    assert s.soc_end_kwh - before == pytest.approx(change, abs=1e-7)
    low = min(b.kwh(b.min_soc_pct), problem.soc_start_kwh)
    high = max(b.kwh(b.max_soc_pct), problem.soc_start_kwh)
    assert np.all((s.soc_end_kwh >= low - tol) & (s.soc_end_kwh <= high + tol))
    assert np.all(s.charge_kwh <= b.max_charge_kw * dt + tol)
    assert np.all(s.discharge_kwh <= b.max_discharge_kw * dt + tol)
    assert np.all(s.import_kwh <= problem.grid.max_import_kw * dt + tol)
    export_cap = problem.grid.max_export_kw * dt if problem.grid.export_allowed else 0.0
    assert np.all(s.export_kwh <= export_cap + tol)
    assert np.all((s.curtail_kwh >= -tol) & (s.curtail_kwh <= problem.pv_kwh + tol))
    through = 1e-6 * (s.charge_kwh + s.discharge_kwh).sum()
    return float(
        s.import_kwh @ problem.price_import
        - s.export_kwh @ problem.price_export
        + b.cycle_cost_per_kwh * s.discharge_kwh.sum()
        + through
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_dp_optimum_equals_an_independent_exact_milp(case: tuple[Problem, float]) -> None:
    problem, terminal = case
    exact = exact_objective(problem, terminal)
    if math.isinf(exact):
        with pytest.raises(InfeasiblePlan):
            solve_dp(problem, terminal)
        return
    solution = solve_dp(problem, terminal)
    # scipy's model has no 1e-6/kWh tie-break: the DP's optimum pays it on its own path (not
    # below the money optimum) and is no dearer than the MILP's path with it added.
    b = problem.battery
    through = problem.n * (b.max_charge_kw + b.max_discharge_kw) * problem.dt_h
    assert exact - 1e-7 <= solution.objective <= exact + 1e-6 * through + 1e-7
    recomputed = _check_flows(problem, solution)
    # The value functions stay within COST_TOL (1e-9) of the exact ones at every step
    # (pwl.simplify); 1e-6 leaves room for that over 16 slots and the path's rounding.
    assert recomputed - terminal * solution.soc_end_kwh[-1] == pytest.approx(
        solution.objective, abs=1e-6
    )


@pytest.mark.parametrize("import_at_7", [1.0, 0.0])
def test_dp_keeps_a_kink_made_of_two_breakpoints_a_hair_apart(import_at_7: float) -> None:
    # Found by the hypothesis test above: charge for free, cover slot 8's load (import at
    # 0.0039) and export 0.25 kWh at 1.0 in slot 9. The tie-break makes W_9 bend twice 3e-7
    # kWh apart; W_8 then had two pairs of such breakpoints, each point on the chord through
    # its neighbours, and simplify dropped all four at once: W_8 lost the kink where the
    # battery covers slot 8 in full, the DP claimed -0.2499 (import_at_7 = 0: a path worth
    # -0.249995 priced as -0.249872; 1.0: a plan 0.0007 worse than the optimum).
    imp, exp, load, pv = [0.0] * 12, [0.0] * 12, [0.0] * 12, [0.0] * 12
    imp[7], imp[8], exp[9], load[8], load[9], pv[9] = import_at_7, 0.0039, 1.0, 1.0, 1.0, 0.75
    battery = BatterySpec(
        capacity_kwh=4.2,
        min_soc_pct=0.0,
        max_soc_pct=90.0,
        max_charge_kw=1.0,
        max_discharge_kw=3.6,
        charge_efficiency=0.92,
        discharge_efficiency=0.85,
        cycle_cost_per_kwh=0.0,
    )
    grid = GridSpec(export_allowed=True, max_import_kw=2.5, max_export_kw=0.5)
    problem = build_problem(
        series(imp), series(exp), series(load), series(pv), battery, grid, 0.0, START,
        PlanOptions(),
    )  # fmt: skip
    exact = exact_objective(problem, 0.0)
    assert exact == pytest.approx(-0.25, abs=1e-9)
    solution = solve_dp(problem, 0.0)
    # The optimum less the tie-break on the 1.92 kWh charged and 1.5 kWh discharged.
    assert solution.objective == pytest.approx(exact + 1e-6 * 3.42, abs=1e-7)
    assert _check_flows(problem, solution) == pytest.approx(solution.objective, abs=1e-9)
    assert solution.export_kwh[9] == pytest.approx(0.25, abs=1e-9)
    assert solution.import_kwh[8:10] == pytest.approx([0.0, 0.0], abs=1e-9)


def test_a_full_battery_above_max_soc_may_curtail_at_a_negative_export_price() -> None:
    # Found by a wider search than the hypothesis test's: a start at 100 % above max_soc_pct
    # (90 %), PV surplus at an export price of -0.1. The export limit of 0 W stores nothing
    # into a full battery and curtails it all (the MILP's F); the DP offered that mode only up
    # to max_soc_pct and exported the surplus at a cost of 0.025.
    battery = BatterySpec(
        capacity_kwh=4.2, min_soc_pct=0.0, max_soc_pct=90.0, max_charge_kw=1.0,
        max_discharge_kw=1.0, charge_efficiency=0.92, discharge_efficiency=0.85,
    )  # fmt: skip
    grid = GridSpec(export_allowed=True, max_import_kw=2.5, max_export_kw=0.5)
    problem = build_problem(
        series([0.0] * 5), series([-0.1, 0.0, 0.0, 0.0, 0.0]), series([0.0] * 5),
        series([0.25, 0.0, 0.0, 0.0, 0.0]), battery, grid, 100.0, START, PlanOptions(),
    )  # fmt: skip
    assert exact_objective(problem, 0.0) == pytest.approx(0.0, abs=1e-9)
    solution = solve_dp(problem, 0.0)
    assert solution.objective == pytest.approx(0.0, abs=1e-9)
    assert _check_flows(problem, solution) == pytest.approx(0.0, abs=1e-9)
    assert solution.curtail_kwh[0] == pytest.approx(0.25, abs=1e-9)
    assert solution.soc_end_kwh[0] == pytest.approx(4.2, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(-1, 1, allow_nan=False), min_size=3, max_size=12),
    st.lists(st.floats(1e-7, 1.0, allow_nan=False), min_size=11, max_size=11),
    st.floats(1e-9, 1e-7),
)
def test_simplify_stays_within_cost_tol_of_the_points(
    ys: list[float], widths: list[float], bend: float
) -> None:
    # Points on a line bent by up to ``bend`` (some within COST_TOL, some not), some of them a
    # hair apart: the simplified function may never stray more than COST_TOL from them.
    n = len(ys)
    x = np.concatenate([[0.0], np.cumsum(widths[: n - 1])])
    y = 0.3 * x + np.array(ys) * bend
    reduced = simplify(x, y)
    assert reduced.x[0] == x[0] and reduced.x[-1] == x[-1]
    assert np.all(np.abs(reduced.at(x) - y) <= COST_TOL * (1 + 1e-6))
    assert simplify(np.array([0.0, 1.0, 1.0 + 3e-7, 2.0 + 3e-7]),
                    np.array([0.0, -1e-3, -1e-3, -1e-3])).x.size == 3  # fmt: skip


def _week(start: str, days: int = 7) -> Problem:
    imp = read_series_csv(DATA / "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv")
    exp = read_series_csv(
        DATA / "agile-outgoing-export-regionUNKNOWN-fawkesley-2022-11_2023-12.csv"
    )
    load = read_series_csv(DATA / "household-consumption-uk-fawkesley-2020-08_2023-12.csv")
    first = pd.Timestamp(start, tz="UTC")
    window = pd.date_range(first, periods=days * 48, freq="30min", tz="UTC")
    return build_problem(
        imp.reindex(window) / 100,
        exp.reindex(window) / 100,
        load.reindex(window),
        None,
        BatterySpec(capacity_kwh=4.2, min_soc_pct=10.0),
        GridSpec(),
        10.0,
        first.to_pydatetime(),
        PlanOptions(),
    )


def test_dp_equals_highs_branch_and_bound_on_a_real_negative_price_week() -> None:
    problem = _week("2023-07-01")
    assert (problem.price_import < 0).sum() > 10  # the week the LP alone would cheat in
    dp = solve_dp(problem, 0.0)
    check = solve_exact(problem, 0.0, gap=1e-9)  # binaries in every non-convex slot
    relaxed = solve_relaxation(problem)
    assert check.status == "Optimal" and check.simultaneous == 0
    assert check.bound - 1e-7 <= dp.objective <= check.objective + 1e-7
    assert relaxed.objective < dp.objective - 0.01  # the rule really costs something here
    _check_flows(problem, dp)


def test_the_planner_takes_the_dp_where_its_lp_does_both_directions() -> None:
    problem = _week("2023-07-01", days=2)
    solution = solve(problem, 0.0)
    assert solution.solver == "dp" and solution.exact_slots > 0
    assert solution.objective == pytest.approx(solve_dp(problem, 0.0).objective, abs=1e-12)


def test_planner_with_the_dp_solver_passes_the_gate_and_matches_highs() -> None:
    problem = _week("2023-07-01", days=2)
    options = PlanOptions(terminal_soc_value=0.0)
    by_dp = plan_problem(problem, replace(options, solver="dp"))
    by_lp = plan_problem(problem, options)
    assert by_dp.solver == "dp"
    assert by_dp.lp_cost == pytest.approx(by_lp.lp_cost, abs=1e-6)
    # Equal optima may differ in path (prices tie); both are executable and pay off.
    assert by_dp.status == "optimal (dp)"
    assert by_dp.cost < by_dp.no_battery_cost


def test_negative_price_with_a_full_battery_does_not_waste_energy() -> None:
    # Full battery, paid to import: the relaxation charges and discharges at once to import
    # more than the house uses; one inverter cannot, so the exact plan only discharges later.
    battery = BatterySpec(capacity_kwh=4.2, min_soc_pct=10.0)
    problem = build_problem(
        series([-0.50, 0.30]),
        series([0.0, 0.0]),
        series([0.2, 0.5]),
        None,
        battery,
        GridSpec(),
        100.0,
        START,
        PlanOptions(),
    )
    relaxed = solve_relaxation(problem)
    dp = solve_dp(problem, 0.0)
    assert dp.charge_kwh[0] == pytest.approx(0.0, abs=1e-9)  # nowhere to put it
    assert dp.objective == pytest.approx(exact_objective(problem, 0.0), abs=1e-5)
    assert relaxed.objective < dp.objective - 0.05


def test_load_beyond_grid_and_battery_names_the_slot() -> None:
    battery = BatterySpec(capacity_kwh=4.2, min_soc_pct=10.0, max_discharge_kw=1.0)
    problem = build_problem(
        series([0.1, 0.1]),
        None,
        series([0.5, 3.0]),
        None,
        battery,
        GridSpec(max_import_kw=2.0),
        50.0,
        START,
        PlanOptions(),
    )
    with pytest.raises(InfeasiblePlan, match="2023-06-01T00:30:00"):
        solve_dp(problem, 0.0)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(-5, 5, allow_nan=False), min_size=6, max_size=6),
        min_size=1,
        max_size=6,
    ),
    st.integers(1, 4),
)
def test_lower_envelope_matches_brute_force(rows: list[list[float]], hole: int) -> None:
    grid = np.array([0.0, 0.3, 0.5, 1.2, 2.0, 2.1])
    values = np.array(rows)
    if len(values) > 1:
        # One function defined on a shorter interval, ending where another is as low: the
        # envelopes the DP builds are continuous (value functions of a continuous problem).
        values[0, hole + 1 :] = np.inf
        values[0, hole] = max(values[0, hole], values[1:, hole].min())
    envelope = lower_envelope(grid, values)
    fine = np.linspace(0.0, 2.1, 2001)
    curves = []
    for row in values:
        finite = np.isfinite(row)
        last = grid[finite][-1]
        y = np.interp(fine, grid[finite], row[finite])
        curves.append(np.where(fine <= last + 1e-12, y, np.inf))
    # 1e-7 currency: crossings are found to floating-point precision and _simplify drops
    # interior points within COST_TOL of the chord; both are immaterial at this scale.
    assert envelope.at(fine) == pytest.approx(np.min(curves, axis=0), abs=1e-7)
