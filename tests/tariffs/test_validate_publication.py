"""Validation (gaps, duplicates, NaN, zero glitches, implausible values, policy) and publication."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from optimizer.csvdata import read_series_csv
from optimizer.errors import TariffError
from optimizer.tariffs import (
    PriceSeries,
    Rules,
    checked,
    find_problems,
    price_frame,
    publication_status,
)
from optimizer.tariffs.static import static_frame
from optimizer.timeseries import local_day_bounds
from tests.conftest import DATA

NOW = datetime(2024, 1, 1, tzinfo=UTC)
HALF = pd.Timedelta(minutes=30)
START = datetime(2024, 1, 1, tzinfo=UTC)


def day(values: list[float] | np.ndarray, start: datetime = START) -> PriceSeries:
    index = pd.date_range(start, periods=len(values), freq=HALF)
    return PriceSeries(
        "test", "T", price_frame(index, index + HALF, np.asarray(values, float)), NOW
    )


def kinds(series: PriceSeries, rules: Rules | None = None) -> list[tuple[str, str]]:
    found = find_problems(series, START, START + timedelta(days=1), rules or Rules(), HALF)
    return [(p.kind, p.slot.strftime("%H:%M")) for p in found]


def test_clean_day_has_no_problem() -> None:
    assert kinds(day([0.2] * 48)) == []


def test_each_problem_is_found_at_its_slot() -> None:
    values = np.full(48, 0.2)
    values[3] = np.nan
    values[7] = 9.0
    values[8] = -3.0
    assert kinds(day(values)) == [
        ("nan", "01:30"),
        ("implausible", "03:30"),
        ("implausible", "04:00"),
    ]
    assert kinds(day([0.2] * 40)) == [
        ("missing", f"{h:02d}:{m:02d}") for h in range(20, 24) for m in (0, 30)
    ]


def test_duplicates_and_off_grid_slots() -> None:
    series = day([0.2] * 48)
    frame = pd.concat([series.frame, series.frame.iloc[[5]]]).sort_index()
    odd = pd.DatetimeIndex([pd.Timestamp("2024-01-01T10:10Z")])
    frame = pd.concat([frame, pd.DataFrame({"end": odd + HALF, "price_per_kwh": [0.2]}, index=odd)])
    found = kinds(series.with_frame(frame.sort_index()))
    assert ("duplicate", "02:30") in found
    assert ("off-grid", "10:10") in found


def test_a_long_run_of_exact_zeros_is_a_glitch_and_a_short_one_is_judged_by_its_neighbours() -> (
    None
):
    values = np.full(48, 0.2)
    values[10:22] = 0.0  # six hours: shorter than zero_run_hours, but a cliff from flat 0.2
    assert {kind for kind, _ in kinds(day(values))} == {"suspect-zero"}  # issue 10, fault 4
    assert {kind for kind, _ in kinds(day(values), Rules(zero_run_hours=6))} == {"zero-run"}
    assert len(kinds(day(np.zeros(48)))) == 48
    jumpy = np.tile([0.03, -0.02, 0.05, 0.01], 12)
    jumpy[21:23] = 0.0  # real zeros among small, jumpy prices
    assert kinds(day(jumpy)) == []


def test_real_export_history_with_zero_runs_passes_the_default_rules() -> None:
    series = read_series_csv(DATA / "agile-outgoing-export-C-london-2019-05_2024-03.csv") / 100
    index = pd.DatetimeIndex(series.index)
    prices = PriceSeries("csv", "C", price_frame(index, index + HALF, series.to_numpy()), NOW)
    rules = Rules(min_price_per_kwh=-1.0, max_price_per_kwh=3.0)
    assert find_problems(prices, index[0], index[-1] + HALF, rules, HALF) == []


def test_reject_names_every_kind_and_its_first_slot() -> None:
    values = np.full(46, 0.2)
    values[0] = np.nan
    with pytest.raises(
        TariffError, match=r"test T: 1 nan slot\(s\) \(first 2024-01-01T00:00Z\); 2 missing"
    ):
        checked(day(values), START, START + timedelta(days=1), Rules())


def test_fallback_fills_only_bad_slots() -> None:
    values = np.full(48, 0.2)
    values[4] = 50.0
    fallback = PriceSeries(
        "static", "S", static_frame([], 0.3, "Europe/London", START, START + timedelta(days=1)), NOW
    )
    result = checked(day(values[:44]), START, START + timedelta(days=1), Rules(), fallback)
    assert len(result.frame) == 48
    assert result.prices.iloc[4] == 0.3
    assert (result.prices.iloc[44:] == 0.3).all()
    assert result.prices.iloc[3] == 0.2
    assert "filled 5 slot(s) from static" in result.warnings[0]


def test_fallback_without_a_price_still_rejects() -> None:
    empty = PriceSeries("static", "S", price_frame([], [], []), NOW)
    with pytest.raises(TariffError, match="fallback has no price at 2024-01-01T22:00Z"):
        checked(day([0.2] * 44), START, START + timedelta(days=1), Rules(), empty)


# publication -----------------------------------------------------------------------------


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_before_four_pm_todays_prices_are_enough() -> None:
    status = publication_status(utc("2024-01-15T15:00+00:00"), utc("2024-01-15T23:00+00:00"))
    assert not status.late
    assert status.expected_until == utc("2024-01-15T23:00+00:00")
    assert status.due_at == utc("2024-01-15T16:00+00:00")


def test_tomorrow_is_due_at_four_and_late_after_the_grace() -> None:
    have = utc("2024-01-15T23:00+00:00")
    at_five = publication_status(utc("2024-01-15T17:00+00:00"), have)
    assert not at_five.late
    assert at_five.expected_until == utc("2024-01-16T23:00+00:00")
    at_seven = publication_status(utc("2024-01-15T18:30+00:00"), have)
    assert at_seven.late
    assert at_seven.due_at == utc("2024-01-15T16:00+00:00")
    done = publication_status(utc("2024-01-15T18:30+00:00"), utc("2024-01-16T23:00+00:00"))
    assert not done.late
    assert done.due_at == utc("2024-01-16T16:00+00:00")


def test_bst_publication_and_dst_delivery_day() -> None:
    # 2023-03-25 16:00 GMT publishes 2023-03-26, a 23-hour day ending 23:00 BST = 22:00Z
    status = publication_status(utc("2023-03-25T20:00+00:00"), utc("2023-03-26T22:00+00:00"))
    assert status.expected_until == utc("2023-03-26T22:00+00:00")
    assert not status.late
    # in summer 16:00 UK time is 15:00Z
    summer = publication_status(utc("2023-06-01T17:30+00:00"), utc("2023-06-01T22:00+00:00"))
    assert summer.late
    assert summer.due_at == utc("2023-06-01T15:00+00:00")


def test_nothing_stored_is_late_from_yesterdays_publication() -> None:
    status = publication_status(utc("2024-01-15T10:00+00:00"), None)
    assert status.late
    assert status.due_at == utc("2024-01-14T16:00+00:00")


def test_eu_day_ahead_at_one_pm_cet_covers_to_midnight() -> None:
    args = {"timezone": "Europe/Amsterdam", "publish_time": "13:00", "day_start": "00:00"}
    lo, hi = local_day_bounds(date(2024, 1, 16), "Europe/Amsterdam")
    status = publication_status(utc("2024-01-15T12:30+00:00"), lo, **args)
    assert status.expected_until == hi
    assert not status.late
    assert publication_status(utc("2024-01-15T14:30+00:00"), lo, **args).late
