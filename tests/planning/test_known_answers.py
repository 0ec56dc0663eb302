"""Tiny plans whose right answer can be worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from optimizer.domain import Action, BatterySpec, DeviceCommand, GridSpec
from optimizer.planning import PlanOptions, build_problem, plan
from optimizer.planning.model import solve
from tests.planning.conftest import series
from tests.planning.exact import exact_objective

BATTERY = BatterySpec()  # 4.2 kWh, 10..100 %, 3.6 kW, 0.92/0.92
GRID = GridSpec()
NO_END_VALUE = PlanOptions(terminal_soc_value="none")


def test_cheap_then_dear_charges_then_discharges(start: datetime) -> None:
    prices = series([0.05] * 4 + [0.40] * 4)
    load = series([0.3] * 8)
    timetable = plan(prices, None, load, None, BATTERY, GRID, 10, start, NO_END_VALUE)
    actions = [s.action for s in timetable.slots]
    assert Action.DISCHARGE not in actions[:4] and Action.CHARGE not in actions[4:]
    assert actions.count(Action.CHARGE) >= 1
    # By hand: the 1.2 kWh of dear load needs 1.2 / 0.92 stored, i.e. 1.2 / 0.92**2 bought
    # at 0.05, plus the cheap slots' own 4 x 0.3 kWh at 0.05.
    by_hand = 1.2 * 0.05 + 1.2 / 0.92**2 * 0.05
    assert timetable.lp_cost == pytest.approx(by_hand, rel=1e-6)
    # The executable plan (whole-percent targets, 5 % power steps) costs a little more, and
    # still far less than the 0.54 of doing nothing.
    assert timetable.no_battery_cost == pytest.approx(0.54)
    assert by_hand <= timetable.cost < by_hand + 0.02
    assert timetable.slots[-1].soc_end_pct == pytest.approx(10, abs=1)


def test_flat_price_stays_idle(start: datetime) -> None:
    prices = series([0.20] * 12)
    load = series([0.4] * 12)
    timetable = plan(prices, series([0.05] * 12), load, None, BATTERY, GRID, 50, start)
    assert all(s.action is Action.IDLE for s in timetable.slots)
    assert all(s.command.body()["command"] == "SET_BASIC_MODE" for s in timetable.slots)
    assert timetable.cost == pytest.approx(timetable.no_battery_cost)


def test_negative_price_charges_and_never_pays_to_export(start: datetime) -> None:
    prices = series([0.20, 0.20, -0.10, -0.10, 0.20, 0.20])
    export = series([0.05, 0.05, -0.12, -0.12, 0.05, 0.05])
    pv = series([0, 0, 1.0, 1.0, 0, 0])
    timetable = plan(prices, export, None, pv, BATTERY, GRID, 20, start, NO_END_VALUE)
    negative = timetable.slots[2:4]
    assert any(s.action is Action.CHARGE for s in negative)
    assert all(s.grid_export_kwh == pytest.approx(0, abs=1e-6) for s in negative)
    # Paid to import: the plan imports in the negative slots rather than nothing.
    assert sum(s.grid_import_kwh for s in negative) > 0.5


def test_export_dearer_than_import_later_discharges_to_grid(start: datetime) -> None:
    prices = series([0.10] * 6)
    export = series([0.02, 0.02, 0.02, 0.02, 0.50, 0.02])
    timetable = plan(prices, export, None, None, BATTERY, GRID, 10, start, NO_END_VALUE)
    peak = timetable.slots[4]
    assert peak.action is Action.DISCHARGE
    assert peak.grid_export_kwh > 1.0
    assert any(s.action is Action.CHARGE for s in timetable.slots[:4])
    assert timetable.cost < timetable.no_battery_cost


def _tempting_problem(start: datetime):  # type: ignore[no-untyped-def]
    # Negative import prices pay for wasting energy (charge and discharge at once) and export
    # dearer than import pays for importing the load while exporting the PV. Neither is real.
    prices = series([-0.20, -0.20, 0.10, 0.10, 0.30, 0.30])
    export = series([0.00, 0.00, 0.40, 0.40, 0.05, 0.05])
    load = series([0.5] * 6)
    pv = series([0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    return build_problem(prices, export, load, pv, BATTERY, GRID, 50, start, NO_END_VALUE)


def test_tempting_prices_take_the_exact_path_and_plan_never_does_both(start: datetime) -> None:
    problem = _tempting_problem(start)
    solution = solve(problem, 0.0)
    # The plain LP did both somewhere, so the exact dynamic programme decided.
    assert solution.exact_slots > 0 and solution.solver == "dp"
    both_battery = (solution.charge_kwh > 1e-6) & (solution.discharge_kwh > 1e-6)
    both_grid = (solution.import_kwh > 1e-6) & (solution.export_kwh > 1e-6)
    assert not both_battery.any() and not both_grid.any()


def test_tempting_prices_match_an_independent_exact_solve(start: datetime) -> None:
    problem = _tempting_problem(start)
    solution = solve(problem, 0.0)
    assert solution.objective == pytest.approx(exact_objective(problem, 0.0), rel=1e-3, abs=1e-6)


def test_cbc_fallback_gives_the_same_plan(start: datetime) -> None:
    plain = build_problem(
        series([0.05, 0.05, 0.40, 0.40]), None, series([0.5] * 4), None, BATTERY, GRID, 10,
        start, NO_END_VALUE,
    )  # fmt: skip
    highs, cbc = solve(plain, 0.0, "highs"), solve(plain, 0.0, "cbc")
    assert (highs.solver, cbc.solver) == ("highs", "cbc")
    assert cbc.objective == pytest.approx(highs.objective, rel=1e-6, abs=1e-6)
    # Where the LP does both directions, CBC's LP leads to the same exact answer.
    tempting = _tempting_problem(start)
    assert solve(tempting, 0.0, "cbc").objective == pytest.approx(
        solve(tempting, 0.0, "highs").objective, rel=1e-9, abs=1e-9
    )


def test_discharge_wire_form_follows_the_setting(start: datetime) -> None:
    prices = series([0.40] * 4)
    load = series([0.5] * 4)
    export = series([0.35] * 4)  # worth exporting: a forced discharge, not self-consumption
    for wire in ("SET_CHARGE", "SET_DISCHARGE"):
        options = replace(NO_END_VALUE, discharge_command=wire)  # type: ignore[arg-type]
        timetable = plan(prices, export, load, None, BATTERY, GRID, 90, start, options)
        forced = [s for s in timetable.slots if s.command.action == "ACTION_DISCHARGE"]
        assert forced, "exporting at 0.35 from a full battery needs a forced discharge"
        body = forced[0].command.body()
        assert body["command"] == wire
        assert body["parameters"]["action"] == "ACTION_DISCHARGE"
        assert body["duration"] == 1
        assert body["parameters"]["soc"] >= BATTERY.min_soc_pct


def test_house_only_discharge_follows_the_real_load(start: datetime) -> None:
    # 0.06 kWh of dear load per slot needs ~0.13 kW of discharge, below the 5 % (180 W)
    # minimum: the device's self-consumption mode covers exactly the house, whatever it draws
    # (from 80 %, where no load can take it below the reserve within the slot).
    prices = series([0.40] * 2)
    load = series([0.06] * 2)
    timetable = plan(prices, None, load, None, BATTERY, GRID, 80, start, NO_END_VALUE)
    first = timetable.slots[0]
    assert first.command.command is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION
    assert first.action is Action.DISCHARGE
    assert first.discharge_kw * 0.5 == pytest.approx(0.06)
    assert first.grid_import_kwh == pytest.approx(0.0, abs=1e-9)
    assert first.grid_export_kwh == pytest.approx(0.0, abs=1e-9)


def test_small_charge_runs_at_the_least_power_step_and_stops_at_its_target(
    start: datetime,
) -> None:
    # Storing ~0.07 kWh for a dear slot: the target is a whole percent (12 %: 0.084 kWh
    # stored), the power the least 5 % step that reaches it in the slot (10 %: 0.18 kWh AC),
    # and the target stops the device there.
    prices = series([0.05, 0.40])
    load = series([0.0, 0.06])
    timetable = plan(prices, None, load, None, BATTERY, GRID, 10, start, NO_END_VALUE)
    first = timetable.slots[0]
    assert first.action is Action.CHARGE
    params = first.command.parameters
    assert params is not None and params["soc"] == 12 and params["power"] == 10
    assert first.soc_end_pct == pytest.approx(params["soc"], abs=1e-6)
    assert first.charge_kw * 0.5 == pytest.approx(0.084 / 0.92)
    assert timetable.slots[1].grid_import_kwh < 0.06


def test_measured_soc_below_reserve_is_never_pushed_lower(start: datetime) -> None:
    prices = series([0.40] * 4)
    load = series([0.5] * 4)
    timetable = plan(prices, None, load, None, BATTERY, GRID, 5, start, NO_END_VALUE)
    assert all(s.action is not Action.DISCHARGE for s in timetable.slots)
    assert all(s.soc_end_pct >= 5 - 1e-9 for s in timetable.slots)
