"""Bad inputs are rejected with a message that names the first bad slot; DST days plan whole."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from optimizer.domain import BatterySpec, GridSpec
from optimizer.errors import InfeasiblePlan, InvalidInput, SolverError
from optimizer.planning import PlanOptions, build_problem, plan
from optimizer.planning import model as model_module
from optimizer.planning.highs import BulkHiGHS
from optimizer.timeseries import local_day_bounds
from tests.planning.conftest import START, series

B, G = BatterySpec(), GridSpec()


def _plan(imp: pd.Series, **kw: object) -> None:
    plan(
        imp,
        kw.get("exp"),
        kw.get("load"),
        None,
        B,
        G,
        50,
        kw.get("start", START),  # type: ignore[arg-type]
        PlanOptions(horizon_slots=kw.get("slots", 4)),
    )  # type: ignore[arg-type]


def test_missing_slot_is_named() -> None:
    prices = series([0.1] * 4).drop(pd.Timestamp("2023-06-01T01:00Z"))
    with pytest.raises(
        InvalidInput, match=r"import prices: missing slot 2023-06-01T01:00:00\+00:00"
    ):
        _plan(prices)


def test_nan_is_named() -> None:
    prices = series([0.1, 0.1, np.nan, 0.1])
    with pytest.raises(InvalidInput, match=r"value at slot 2023-06-01T01:00:00\+00:00 is NaN"):
        _plan(prices)


def test_duplicate_is_named() -> None:
    prices = series([0.1] * 4)
    doubled = pd.concat([prices, prices.iloc[[1]]]).sort_index()
    with pytest.raises(InvalidInput, match=r"duplicated slot 2023-06-01T00:30:00\+00:00"):
        _plan(doubled)


def test_non_utc_index_is_rejected() -> None:
    prices = series([0.1] * 4)
    prices.index = prices.index.tz_convert("Europe/London")
    with pytest.raises(
        InvalidInput, match=r"import prices: index must be in UTC, got Europe/London"
    ):
        _plan(prices)


def test_naive_index_is_rejected() -> None:
    prices = series([0.1] * 4)
    prices.index = prices.index.tz_localize(None)
    with pytest.raises(InvalidInput, match="must be in UTC, got naive"):
        _plan(prices)


def test_wrong_slot_length_is_named() -> None:
    prices = series([0.1] * 8, minutes=15)
    with pytest.raises(
        InvalidInput, match=r"slot 2023-06-01T00:15:00\+00:00 is not on the 30-minute grid"
    ):
        _plan(prices)


def test_mismatched_load_is_named() -> None:
    load = series([0.1] * 3)
    with pytest.raises(InvalidInput, match=r"load: missing slot 2023-06-01T01:30:00\+00:00"):
        _plan(series([0.1] * 4), load=load)


def test_negative_load_is_named() -> None:
    with pytest.raises(InvalidInput, match=r"load: negative energy at slot 2023-06-01T00:30:00"):
        _plan(series([0.1] * 4), load=series([0.1, -0.2, 0.1, 0.1]))


def test_naive_start_and_bad_soc_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="has no time zone"):
        _plan(series([0.1] * 4), start=datetime(2023, 6, 1))
    with pytest.raises(InvalidInput, match="current SOC 120"):
        plan(series([0.1] * 4), None, None, None, B, G, 120, START)


def test_start_off_the_slot_grid_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="not on a 30-minute boundary"):
        _plan(series([0.1] * 4), start=datetime(2023, 6, 1, 0, 10, tzinfo=UTC))


def test_load_beyond_grid_and_battery_is_infeasible_and_names_the_slot() -> None:
    load = series([0.1, 0.1, 20.0, 0.1])  # 40 kW for half an hour
    with pytest.raises(InfeasiblePlan, match=r"slot 2023-06-01T01:00:00\+00:00: net load 40.00 kW"):
        _plan(series([0.1] * 4), load=load)


def test_highs_failure_falls_back_to_cbc(monkeypatch: pytest.MonkeyPatch) -> None:
    real = model_module._solver

    def broken(name: str):  # type: ignore[no-untyped-def]
        if name == "highs":
            raise OSError("highspy is not usable here")
        return real(name)

    monkeypatch.setattr(model_module, "_solver", broken)
    options = PlanOptions(solver="highs")
    timetable = plan(series([0.05, 0.4]), None, series([0.3, 0.3]), None, B, G, 10, START, options)
    assert timetable.solver == "cbc"


def test_a_solver_that_gives_up_is_not_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        model_module,
        "_solver",
        lambda name: BulkHiGHS(msg=False, threads=1, timeLimit=0.0),
    )
    with pytest.raises(SolverError, match="refusing to use it"):
        plan(
            series([0.05, 0.4] * 24), None, series([0.3] * 48), None, B, G, 10, START,
            PlanOptions(solver="highs"),
        )  # fmt: skip


@pytest.mark.parametrize(("day", "hours"), [(date(2023, 3, 26), 23), (date(2023, 10, 29), 25)])
def test_dst_days_of_europe_london_plan_every_slot(day: date, hours: int) -> None:
    start, end = local_day_bounds(day, "Europe/London")
    slots = int((end - start).total_seconds() // 1800)
    assert slots == hours * 2
    index = pd.date_range(start, end, freq="30min", tz="UTC", inclusive="left")
    local_hour = index.tz_convert("Europe/London").hour
    prices = pd.Series(np.where((local_hour >= 16) & (local_hour < 19), 0.40, 0.10), index=index)
    load = pd.Series(0.3, index=index)
    problem = build_problem(
        prices, None, load, None, B, G, 10, start, PlanOptions(horizon_slots=slots)
    )
    assert problem.n == hours * 2
    timetable = plan(prices, None, load, None, B, G, 10, start, PlanOptions(horizon_slots=slots))
    assert len(timetable.slots) == hours * 2
    assert timetable.slots[0].start == start and timetable.slots[-1].end == end
    assert all(a.end == b.start for a, b in zip(timetable.slots, timetable.slots[1:], strict=False))
    dear = [s for s in timetable.slots if s.price_import_per_kwh == 0.40]
    assert len(dear) == 6  # 16:00-19:00 local is six slots on any day
    assert all(s.discharge_kw > 0 for s in dear)
    assert timetable.cost < timetable.no_battery_cost
