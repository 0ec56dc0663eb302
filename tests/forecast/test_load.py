"""The load forecasters: local-day lags across DST, the past only, each method's arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.config import ForecastSettings
from optimizer.domain import LOAD_METHODS, LoadMethodName
from optimizer.errors import InvalidInput
from optimizer.forecast.grid import SlotSeries, series_from
from optimizer.forecast.lagged import lagged_mean
from optimizer.forecast.load import (
    LoadForecaster,
    LoadForecastParams,
    LoadForecastTable,
    blend,
    load_forecaster,
    recent,
    weekday,
)

TZ = "Europe/London"


def grid(start: str, values: np.ndarray, tz: str | None = TZ) -> SlotSeries:
    first = datetime.fromisoformat(start).astimezone(UTC)
    return SlotSeries(first, 30, np.asarray(values, dtype=np.float64), tz)


def slots(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


@pytest.mark.parametrize(
    ("target", "days", "expected"),
    [
        # 2023-03-27 18:00 BST is 17:00 UTC; a day earlier (23-hour day) 18:00 GMT is 18:00 UTC
        ("2023-03-27T17:00+00:00", 1, "2023-03-26T17:00+00:00"),
        ("2023-03-27T17:00+00:00", 2, "2023-03-25T18:00+00:00"),
        # the 25-hour day: 2023-10-30 18:00 GMT back to 2023-10-29 18:00 GMT, 28th 18:00 BST
        ("2023-10-30T18:00+00:00", 1, "2023-10-29T18:00+00:00"),
        ("2023-10-30T18:00+00:00", 2, "2023-10-28T17:00+00:00"),
    ],
)
def test_a_day_back_keeps_the_local_clock_across_dst(target: str, days: int, expected: str) -> None:
    series = grid("2023-03-01T00:00+00:00", np.zeros(48 * 250))
    at = series.position(datetime.fromisoformat(target))
    back = series.days_back(slots(at), days)[0]
    assert series.start + timedelta(minutes=30 * int(back)) == datetime.fromisoformat(expected)


def test_a_local_time_that_did_not_exist_has_no_lagged_value() -> None:
    series = grid("2023-03-01T00:00+00:00", np.zeros(48 * 60))
    # 2023-03-27 01:30 BST (00:30 UTC): on 2023-03-26 01:30 local never happened
    at = series.position(datetime(2023, 3, 27, 0, 30, tzinfo=UTC))
    assert series.days_back(slots(at), 1)[0] == -1


def test_weekday_equals_the_lagged_mean_it_replaces() -> None:
    rng = np.random.default_rng(3)
    start = datetime(2023, 2, 1, tzinfo=UTC)
    index = pd.date_range(start, periods=48 * 120, freq="30min")
    history = pd.Series(rng.uniform(0.05, 1.5, len(index)), index=index)
    now = datetime(2023, 3, 20, 5, 0, tzinfo=UTC)  # the horizon crosses the March change
    targets = pd.date_range(now, periods=72, freq="30min")
    series = series_from(history[history.index < now], start, targets[-1].to_pydatetime()
                         + timedelta(minutes=30), 30, TZ)  # fmt: skip
    at = series.position(now)
    ours = LoadForecaster("weekday")(series, at, np.arange(at, at + 72, dtype=np.int64))
    theirs = lagged_mean(history, targets, (7, 14, 21, 28), TZ, now)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    method=st.sampled_from(LOAD_METHODS),
    hour=st.integers(0, 47),
    seed=st.integers(0, 2**16),
)
def test_a_forecast_reads_nothing_at_or_after_now(
    method: LoadMethodName, hour: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 2.0, 48 * 40)
    series = grid("2023-10-01T00:00+00:00", values)
    now = 48 * 33 + hour
    targets = np.arange(now, now + 72, dtype=np.int64)
    before = LoadForecaster(method)(series, now, targets)
    changed = values.copy()
    changed[now:] = rng.uniform(5.0, 9.0, len(values) - now)
    after = LoadForecaster(method)(grid("2023-10-01T00:00+00:00", changed), now, targets)
    np.testing.assert_array_equal(before, after)
    assert np.isfinite(before).all() and (before >= 0).all()


def test_recent_uses_the_nearest_days_already_measured() -> None:
    values = np.repeat(np.arange(1.0, 11.0), 48)  # day d holds the value d + 1
    series = grid("2023-01-01T00:00+00:00", values, None)
    now = 48 * 9 + 20  # day 9 (value 10), 10:00
    params = LoadForecastParams(recent_days=2, decay=0.5)
    forecast = LoadForecaster("recent", params)(series, now, slots(now + 4, now + 40))
    # 12:00 today: days 8 (9.0) and 7 (8.0); 06:00 tomorrow: today's 06:00 (10.0, measured
    # already) and day 8
    assert forecast[0] == pytest.approx((9.0 + 0.5 * 8.0) / 1.5)
    assert forecast[1] == pytest.approx((10.0 + 0.5 * 9.0) / 1.5)


def test_in_day_correction_scales_by_the_damped_ratio_and_fades() -> None:
    values = np.full(48 * 40, 0.2)
    now = 48 * 35 + 24
    values[now - 8 : now] = 0.4  # the last four hours used twice what was usual
    series = grid("2023-01-01T00:00+00:00", values, None)
    params = LoadForecastParams(recent_days=3, decay=1.0, damping=0.5, fade_hours=6.0)
    targets = slots(now, now + 12)
    plain = LoadForecaster("blend", params)(series, now, targets)
    corrected = LoadForecaster("blend-inday", params)(series, now, targets)
    np.testing.assert_allclose(plain, 0.2)  # those hours of earlier days were 0.2
    assert corrected[0] == pytest.approx(0.2 * (1 + 0.5 * (2.0 - 1.0)))
    assert corrected[1] == pytest.approx(0.2 * (1 + 0.5 * np.exp(-1.0)))


def test_no_history_gives_the_fallback_constant() -> None:
    series = grid("2023-01-01T00:00+00:00", np.full(96, np.nan))
    for method in LOAD_METHODS:
        forecast = LoadForecaster(method, fallback_kwh=0.25)(series, 48, np.arange(48, 96))
        np.testing.assert_array_equal(forecast, 0.25)


def test_short_history_falls_back_to_the_time_of_day_profile() -> None:
    day = np.linspace(0.1, 0.9, 48)
    series = grid("2023-01-02T00:00+00:00", np.concatenate([day, day, np.full(48, np.nan)]), None)
    forecast = LoadForecaster("weekday")(series, 96, np.arange(96, 144))
    np.testing.assert_allclose(forecast, day)


def test_an_unknown_method_is_refused_naming_the_key() -> None:
    with pytest.raises(InvalidInput, match=r"forecast\.load_method 'median'"):
        LoadForecaster("median")  # type: ignore[arg-type]


def test_the_config_section_builds_the_forecaster() -> None:
    made = load_forecaster(ForecastSettings(load_method="recent", recent_days=3), 0.1)
    assert made.method == "recent" and made.params.recent_days == 3 and made.fallback_kwh == 0.1


# The fast paths of a forecast at every decision of a backtest: the blend read in one go and
# the table of what does not depend on the decision time give the plain forecast, bit for bit.


@st.composite
def series_values(draw: st.DrawFn) -> np.ndarray:
    """30 days of load: random, with zeros, repeated values and holes (single slots, whole
    days) as a seeded generator makes them (hypothesis draws the shares and the seed)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = rng.uniform(0.0, 3.0, 48 * 30)
    for share, value in ((draw(st.sampled_from([0.0, 0.2])), 0.0),
                         (draw(st.sampled_from([0.0, 0.3])), 0.25),
                         (draw(st.sampled_from([0.0, 0.05, 0.5])), np.nan)):  # fmt: skip
        values[rng.random(len(values)) < share] = value
    for day in draw(st.lists(st.integers(0, 29), max_size=4)):
        values[day * 48 : (day + 1) * 48] = np.nan
    return values


params = st.builds(
    LoadForecastParams,
    weekday_lags=st.sampled_from([(7, 14, 21, 28), (7,), (14, 7)]),
    recent_days=st.integers(1, 4),
    decay=st.sampled_from([0.85, 1.0, 0.5]),
    weekday_weight=st.sampled_from([0.3, 0.0, 1.0, 0.6]),
)
#: Starts whose 30 days hold a clock change (March, October), or none (UTC days).
starts = st.sampled_from(
    [("2023-03-10T00:00+00:00", TZ), ("2023-10-15T00:00+00:00", TZ),
     ("2023-06-01T00:00+00:00", TZ), ("2023-03-10T00:00+00:00", None)]
)  # fmt: skip


def _plain_blend(series: SlotSeries, now: int, targets: np.ndarray, p: LoadForecastParams) -> Any:
    week = weekday(series, now, targets, p.weekday_lags)
    near = recent(series, now, targets, p.recent_days, p.decay)
    mixed = p.weekday_weight * week + (1 - p.weekday_weight) * near
    return np.where(np.isfinite(mixed), mixed, np.where(np.isfinite(week), week, near))


@settings(max_examples=150, deadline=None)
@given(series_values(), params, starts, st.data())
def test_the_blend_read_in_one_go_is_the_two_methods_mixed_to_the_bit(
    values: np.ndarray, p: LoadForecastParams, start: tuple[str, str | None], data: st.DataObject
) -> None:
    series = grid(start[0], values, start[1])
    now = data.draw(st.integers(0, len(series)))
    targets = np.array(data.draw(st.lists(st.integers(now, len(series) + 5), max_size=80)),
                       dtype=np.int64)  # fmt: skip
    plain = _plain_blend(series, now, targets, p)
    assert blend(series, now, targets, p).tobytes() == plain.tobytes()


def _table_for(
    values: np.ndarray,
    p: LoadForecastParams,
    start: tuple[str, str | None],
    method: LoadMethodName,
) -> tuple[SlotSeries, LoadForecaster, LoadForecastTable]:
    """The grid of ``values`` from ``start``, its forecaster and the forecaster's table."""
    series = grid(start[0], values, start[1])
    forecaster = LoadForecaster(method, p, fallback_kwh=0.2)
    return series, forecaster, LoadForecastTable(forecaster, series)


@settings(max_examples=100, deadline=None)
@given(series_values(), params, starts, st.sampled_from(LOAD_METHODS), st.data())
def test_the_forecast_table_gives_the_forecast_to_the_bit(
    values: np.ndarray,
    p: LoadForecastParams,
    start: tuple[str, str | None],
    method: LoadMethodName,
    data: st.DataObject,
) -> None:
    series, forecaster, table = _table_for(values, p, start, method)
    for _ in range(data.draw(st.integers(1, 6))):  # one table, many decision times
        now = data.draw(st.integers(1, len(series) + 2))
        if data.draw(st.booleans()):  # a backtest's: the horizon from now
            targets = np.arange(now, min(len(series), now + data.draw(st.integers(1, 150))))
        else:  # anything, before now and past the series' end included
            targets = np.array(data.draw(st.lists(st.integers(now - 60, len(series) + 3),
                                                  max_size=80)), dtype=np.int64)  # fmt: skip
        targets = targets.astype(np.int64)
        expected = forecaster(series, now, targets)
        assert table(now, targets).tobytes() == expected.tobytes()


@settings(max_examples=100, deadline=None)
@given(series_values(), params, starts, st.sampled_from(LOAD_METHODS), st.data())
def test_the_forecast_table_ahead_gives_the_forecast_to_the_bit(
    values: np.ndarray,
    p: LoadForecastParams,
    start: tuple[str, str | None],
    method: LoadMethodName,
    data: st.DataObject,
) -> None:
    series, forecaster, table = _table_for(values, p, start, method)
    for _ in range(data.draw(st.integers(1, 6))):  # one table, many decision times
        # anywhere, or within two days after the clock change (slot 674 or 770 of the series)
        now = data.draw(st.integers(0, len(series) + 2) | st.integers(640, 880))
        stop = now + data.draw(st.integers(1, 150))
        expected = forecaster(series, now, np.arange(now, stop, dtype=np.int64))
        assert table.ahead(now, stop).tobytes() == expected.tobytes()
