"""PV forecast vintages in the store, on SQLite and PostgreSQL: idempotent writes, window reads
in the archive shape, and the vintage rule on what was read back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from optimizer.errors import InvalidInput
from optimizer.forecast.vintages import PvVintages
from optimizer.store import Store
from optimizer.weather.model import PvForecast

# 2023-03-26: the UK's 23-hour day (clocks forward at 01:00 UTC).
T0 = datetime(2023, 3, 26, 0, 0, tzinfo=UTC)


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    with Store(url) as opened:
        yield opened


def vintage(
    issued: datetime, start: datetime, minutes: int, kwh: list[float], quantiles: bool = False,
    source: str = "open-meteo",
) -> PvForecast:  # fmt: skip
    starts = pd.date_range(start, periods=len(kwh), freq=f"{minutes}min", tz="UTC", unit="ns")
    frame = pd.DataFrame(
        {"start_utc": starts, "end_utc": starts + pd.Timedelta(minutes=minutes), "kwh": kwh}
    )
    if quantiles:
        frame["kwh_p10"] = [0.5 * k for k in kwh]
        frame["kwh_p90"] = [1.5 * k for k in kwh]
    return PvForecast(source, issued, frame)


def test_a_vintage_round_trips_as_an_archive_frame(store: Store) -> None:
    issued = T0 - timedelta(hours=6, microseconds=-123)
    forecast = vintage(issued, T0, 15, [0.0, 0.125, 0.25, 0.5], quantiles=True)
    assert store.save_pv_forecast(forecast) == 4
    got = store.pv_forecast_frame(T0, T0 + timedelta(hours=1))
    assert list(got.columns) == [
        "issued_utc", "start_utc", "end_utc", "kwh", "kwh_p10", "kwh_p90", "source",
    ]  # fmt: skip
    assert got["issued_utc"].iloc[0] == pd.Timestamp(issued)  # microseconds kept
    assert str(got["start_utc"].dt.tz) == "UTC"
    pd.testing.assert_frame_equal(
        got.drop(columns="source"), forecast.to_archive(), check_dtype=False
    )
    assert set(got["source"]) == {"open-meteo"}


def test_storing_the_same_vintage_again_is_a_no_op(store: Store) -> None:
    forecast = vintage(T0, T0, 30, [0.1, 0.2, 0.3])
    assert store.save_pv_forecast(forecast) == 3
    assert store.save_pv_forecast(forecast) == 0  # a restart re-storing what it fetched
    longer = vintage(T0, T0, 30, [0.1, 0.2, 0.3, 0.4])  # same vintage, one more row
    assert store.save_pv_forecast(longer) == 1
    assert len(store.pv_forecast_frame(T0, T0 + timedelta(days=1))) == 4
    # Another source at the same issue time is another vintage.
    assert store.save_pv_forecast(vintage(T0, T0, 30, [1.0], source="solcast")) == 1


def test_window_source_and_issue_bounds(store: Store) -> None:
    early = vintage(T0 - timedelta(hours=12), T0, 60, [1.0] * 24)
    late = vintage(T0 + timedelta(hours=3), T0 + timedelta(hours=3), 60, [2.0] * 24)
    other = vintage(T0, T0, 60, [5.0] * 24, source="forecast.solar")
    for forecast in (early, late, other):
        store.save_pv_forecast(forecast)
    window = store.pv_forecast_frame(
        T0 + timedelta(minutes=30), T0 + timedelta(hours=4), source="open-meteo"
    )
    # Rows overlapping the window: the hour 00:00-01:00 overlaps 00:30; 04:00 does not.
    assert list(window["start_utc"].dt.hour) == [0, 1, 2, 3, 3]
    assert window["issued_utc"].is_monotonic_increasing
    known = store.pv_forecast_frame(
        T0, T0 + timedelta(days=2), source="open-meteo", issued_to=T0 + timedelta(hours=2)
    )
    assert set(known["kwh"]) == {1.0}
    recent = store.pv_forecast_frame(T0, T0 + timedelta(days=2), issued_from=T0)
    assert set(recent["source"]) == {"forecast.solar", "open-meteo"}
    assert "kwh_p10" not in recent.columns
    assert store.pv_forecast_frame(T0 + timedelta(days=5), T0 + timedelta(days=6)).empty


def test_read_back_vintages_answer_as_issued_on_a_23_hour_day(store: Store) -> None:
    london = pd.date_range("2023-03-26", periods=23 * 2, freq="30min", tz="Europe/London")
    assert len(london) == 46
    first = vintage(T0 - timedelta(hours=14), T0, 30, [0.2] * 46)
    second = vintage(T0 + timedelta(hours=10), T0 + timedelta(hours=10), 15, [0.05] * 52)
    store.save_pv_forecast(first)
    store.save_pv_forecast(second)
    index = pd.DatetimeIndex(london.tz_convert("UTC"))
    archive = store.pv_forecast_frame(index[0], index[-1] + timedelta(minutes=30))
    vintages = PvVintages.from_frame(archive, index, 30)
    before = vintages.at(T0 + timedelta(hours=9), 0, 46)
    np.testing.assert_allclose(before, [0.2] * 46)
    after = vintages.at(T0 + timedelta(hours=10), 0, 46)
    np.testing.assert_allclose(after, [0.2] * 20 + [0.1] * 26)


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(InvalidInput, match="no time zone"):
        store.pv_forecast_frame(T0.replace(tzinfo=None), T0 + timedelta(hours=1))
