"""Daily rows from readings and prices, worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from optimizer.integrations.accounts import day_totals, local_day

T0 = datetime(2023, 10, 15, tzinfo=UTC)
SLOT = timedelta(minutes=30)


def readings(rows: list[tuple[int, float, float]]) -> pd.DataFrame:
    """(minutes after T0, grid W (+ import), battery W (+ charge))."""
    index = pd.DatetimeIndex([T0 + timedelta(minutes=m) for m, _, _ in rows])
    return pd.DataFrame(
        {"grid_w": [g for _, g, _ in rows], "battery_w": [b for _, _, b in rows]}, index=index
    )


def prices(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.DatetimeIndex([T0 + k * SLOT for k in range(len(values))]))


def test_known_answer() -> None:
    # 00:00-00:30 charging 2 kW with 2.5 kW from the grid (house 0.5 kW) at 0.10/kWh;
    # 00:30-01:00 discharging 1 kW, exporting 0.5 kW at 0.05/kWh (import price 0.30);
    # the last reading (01:00) counts until 'now' = 01:15, idle, house 0.4 kW at 0.20.
    frame = readings([(0, 2500, 2000), (30, -500, -1000), (60, 400, 0)])
    totals = day_totals(
        frame, prices([0.10, 0.30, 0.20]), prices([0.0, 0.05, 0.0]), date(2023, 10, 15),
        (T0, T0 + timedelta(days=1)), slot=SLOT, max_gap_s=3600, currency="GBP",
        now=T0 + timedelta(minutes=75),
    )  # fmt: skip
    assert totals.hours_measured == pytest.approx(1.25)
    assert totals.import_kwh == pytest.approx(1.25 + 0.1)
    assert totals.export_kwh == pytest.approx(0.25)
    assert totals.charged_kwh == pytest.approx(1.0)
    assert totals.discharged_kwh == pytest.approx(0.5)
    assert totals.cost == pytest.approx(1.25 * 0.10 - 0.25 * 0.05 + 0.1 * 0.20)
    # without the battery: 0.5 kW then 0.5 kW then 0.4 kW from the grid
    assert totals.no_battery_cost == pytest.approx(0.25 * 0.10 + 0.25 * 0.30 + 0.1 * 0.20)
    assert totals.savings == pytest.approx(totals.no_battery_cost - totals.cost)


def test_gaps_count_as_nothing_and_the_day_edges_cut() -> None:
    # a reading from before midnight counts from midnight; a 2-hour gap counts 10 minutes only
    frame = readings([(-10, 1000, 0), (120, 1000, 0)])
    totals = day_totals(
        frame, prices([0.1] * 48), None, date(2023, 10, 15), (T0, T0 + timedelta(days=1)),
        slot=SLOT, max_gap_s=1200, currency="GBP", now=T0 + timedelta(minutes=130),
    )  # fmt: skip
    assert totals.hours_measured == pytest.approx((10 + 10) / 60)
    assert totals.cost == pytest.approx(totals.import_kwh * 0.1)
    assert day_totals(
        readings([]), prices([]), None, date(2023, 10, 15), (T0, T0 + timedelta(days=1)),
        slot=SLOT, max_gap_s=600, currency="GBP", now=T0,
    ).cost == 0.0  # fmt: skip


def test_local_day_follows_the_zone() -> None:
    assert local_day(datetime(2023, 10, 14, 23, 30, tzinfo=UTC), "Europe/London") == date(
        2023, 10, 15
    )
