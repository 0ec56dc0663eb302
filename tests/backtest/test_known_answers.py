"""Tiny backtests whose answers are worked out by hand."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from optimizer.backtest.data import PublicationRule, SeriesSet, prepare_inputs
from optimizer.backtest.engine import BacktestConfig, run_backtest
from optimizer.backtest.report import per_day, summary
from optimizer.domain import BatterySpec
from strategies.heuristics import NoBattery, SelfUse
from strategies.lp import PerfectForesight
from tests.backtest.helpers import series, utc

ALL_KNOWN = BacktestConfig(publication=PublicationRule(all_known=True), initial_soc_pct=10.0)


def _inputs(prices: list[float], load: list[float], pv: list[float] | None = None):  # type: ignore[no-untyped-def]
    start = "2023-06-01T00:00Z"
    s = SeriesSet(
        price_import=series(start, prices),
        load_kwh=series(start, load),
        price_export=series(start, [0.0] * len(prices)),
        pv_kwh=series(start, pv) if pv is not None else None,
    )
    end = utc("2023-06-01T00:00Z") + np.timedelta64(30 * len(prices), "m").astype(object)
    return prepare_inputs(s, utc(start), end, 30)


def test_no_battery_cost_is_load_times_price() -> None:
    inputs = _inputs([0.10, 0.20, 0.30, 0.40], [1.0, 0.5, 0.0, 2.0])
    result = run_backtest(NoBattery(), inputs, ALL_KNOWN)
    expected = 1.0 * 0.10 + 0.5 * 0.20 + 0.0 + 2.0 * 0.40  # 1.0
    assert result.frame["cost"].sum() == pytest.approx(expected)
    assert result.frame["no_battery_cost"].sum() == pytest.approx(expected)


def test_perfect_shifts_load_to_cheap_slots_within_rounding() -> None:
    # Two cheap slots then two dear ones with 1 kWh of load each. Best LP: store
    # 2 / 0.92 kWh, bought as 2 / 0.92 / 0.92 = 2.3629 kWh at 0.10 → cost 0.23629.
    inputs = _inputs([0.10, 0.10, 0.50, 0.50], [0.0, 0.0, 1.0, 1.0])
    result = run_backtest(PerfectForesight(), inputs, ALL_KNOWN)
    cost = result.frame["cost"].sum()
    lp_optimum = 2.0 / 0.92 / 0.92 * 0.10
    assert cost >= lp_optimum - 1e-9  # no executed plan beats the LP
    # Device rounding (5 % power, whole-percent SOC) costs at most a few pence here.
    assert cost <= lp_optimum + 0.03
    assert result.frame["import_kwh"].iloc[2:].sum() == pytest.approx(0.0, abs=0.05)


def test_self_use_stores_pv_surplus_and_covers_later_load() -> None:
    # 1 kWh PV surplus in slot 0 → stored 0.92 kWh → 0.92 * 0.92 = 0.8464 kWh covers slot 1
    # (the device's backup level at the 10 % start: nothing below it is used).
    inputs = _inputs([0.30, 0.30], [0.0, 2.0], pv=[1.0, 0.0])
    config = replace(ALL_KNOWN, battery=BatterySpec(backup_pct=10.0))
    frame = run_backtest(SelfUse(), inputs, config).frame
    assert frame["charge_kwh"].iloc[0] == pytest.approx(1.0)
    assert frame["discharge_kwh"].iloc[1] == pytest.approx(0.8464)
    assert frame["import_kwh"].iloc[1] == pytest.approx(2.0 - 0.8464)


def test_the_devices_own_mode_goes_down_to_its_backup_level_not_the_planners_reserve() -> None:
    # The device knows nothing of min_soc_pct = 10: with bmsBackupLevel 0 its self-consumption
    # mode also spends the 0.42 kWh below 10 %: (0.42 + 0.92) * 0.92 = 1.2328 kWh.
    inputs = _inputs([0.30, 0.30], [0.0, 2.0], pv=[1.0, 0.0])
    frame = run_backtest(SelfUse(), inputs, ALL_KNOWN).frame
    assert frame["discharge_kwh"].iloc[1] == pytest.approx((0.42 + 0.92) * 0.92)
    assert frame["soc_end_pct"].iloc[1] == pytest.approx(0.0, abs=1e-9)


def test_gap_is_skipped_and_reported_not_filled() -> None:
    prices = series("2023-06-01T00:00Z", [0.2] * 6).drop(
        index=[series("2023-06-01T00:00Z", [0] * 6).index[2]]
    )
    s = SeriesSet(prices, series("2023-06-01T00:00Z", [1.0] * 6))
    inputs = prepare_inputs(s, utc("2023-06-01T00:00Z"), utc("2023-06-01T03:00Z"), 30)
    result = run_backtest(NoBattery(), inputs, ALL_KNOWN)
    assert len(result.frame) == 5
    assert [(g.slots, g.missing) for g in result.gaps] == [(1, "import price")]
    assert result.gaps[0].start == utc("2023-06-01T01:00Z")
    assert summary(result, ALL_KNOWN.battery)["gaps"][0]["slots"] == 1


@pytest.mark.parametrize(
    ("day", "slots"), [("2023-03-26", 46), ("2023-10-29", 50), ("2023-06-01", 48)]
)
def test_local_days_have_their_true_length(day: str, slots: int) -> None:
    start = utc(f"{day}T00:00+01:00") if day == "2023-06-01" else None
    begin = {"2023-03-26": "2023-03-25T12:00Z", "2023-10-29": "2023-10-28T12:00Z"}.get(day)
    first = start or utc(begin or "")
    n = 48 * 3
    s = SeriesSet(series(first.isoformat(), [0.2] * n), series(first.isoformat(), [0.1] * n))
    inputs = prepare_inputs(s, first, first + np.timedelta64(30 * n, "m").astype(object), 30)
    result = run_backtest(NoBattery(), inputs, BacktestConfig())
    table = per_day(result, "Europe/London")
    assert table.loc[day, "slots"] == slots
