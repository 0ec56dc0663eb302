"""Slot grids, DST-aware local days, resampling and CSV reading."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from optimizer.csvdata import price_factor, read_series_csv
from optimizer.errors import InvalidInput
from optimizer.timeseries import local_day_bounds, parse_utc, require_utc, slot_index, to_slots


@pytest.mark.parametrize(
    ("day", "zone", "hours"),
    [
        (date(2023, 3, 26), "Europe/London", 23),
        (date(2023, 10, 29), "Europe/London", 25),
        (date(2023, 6, 1), "Europe/London", 24),
        (date(2023, 3, 26), "Europe/Amsterdam", 23),
    ],
)
def test_local_days_have_their_real_length(day: date, zone: str, hours: int) -> None:
    start, end = local_day_bounds(day, zone)
    assert start.tzinfo is UTC and end.tzinfo is UTC
    assert end - start == timedelta(hours=hours)


def test_slot_index_is_utc_and_rejects_off_grid_starts() -> None:
    index = slot_index(datetime(2023, 1, 1, 1, 30, tzinfo=UTC), 3, 30)
    assert str(index.tz) == "UTC" and list(index.minute) == [30, 0, 30]
    with pytest.raises(InvalidInput, match="not on a 30-minute boundary"):
        slot_index(datetime(2023, 1, 1, 1, 20, tzinfo=UTC), 3, 30)


def test_times_must_carry_a_zone() -> None:
    assert parse_utc("2023-06-01T01:00+01:00") == datetime(2023, 6, 1, tzinfo=UTC)
    assert require_utc(datetime(2023, 6, 1, 2, tzinfo=timezone(timedelta(hours=2)))).hour == 0
    with pytest.raises(InvalidInput, match="has no time zone"):
        parse_utc("2023-06-01T01:00")
    with pytest.raises(InvalidInput, match="not an ISO-8601 time"):
        parse_utc("yesterday")


def _hourly(values: list[float]) -> pd.Series:
    index = pd.date_range("2023-01-01", periods=len(values), freq="60min", tz="UTC")
    return pd.Series(values, index=index)


def test_energy_splits_evenly_and_prices_repeat_when_upsampling() -> None:
    energy = to_slots(_hourly([1.0, 3.0]), 30, "energy", "pv")
    assert list(energy) == [0.5, 0.5, 1.5, 1.5]
    prices = to_slots(_hourly([0.1, 0.3]), 15, "price", "prices")
    assert list(prices) == [0.1] * 4 + [0.3] * 4
    assert energy.index[1] == pd.Timestamp("2023-01-01T00:30Z")


def test_downsampling_sums_energy_averages_prices_and_keeps_gaps() -> None:
    series = _hourly([1.0, 2.0, 3.0, 4.0]).drop(pd.Timestamp("2023-01-01T03:00Z"))
    energy = to_slots(series, 120, "energy", "load")
    assert energy.iloc[0] == 3.0
    assert pd.isna(energy.iloc[1])  # half the interval is missing: a gap, not half the energy
    assert to_slots(_hourly([1.0, 3.0]), 120, "price", "p").iloc[0] == 2.0


def test_csv_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "start_utc,end_utc,price\n2023-01-01T00:00:00Z,2023-01-01T00:30:00Z,1\n"
        "2023-01-01T00:30:00Z,2023-01-01T00:30:00Z,2\n"
    )
    with pytest.raises(InvalidInput, match=r"p\.csv: line 3: end_utc is not after start_utc"):
        read_series_csv(path)
    path.write_text("start_utc,end_utc,price\nnot-a-time,2023-01-01T00:30:00Z,1\n")
    with pytest.raises(InvalidInput, match=r"line 2: bad start_utc 'not-a-time'"):
        read_series_csv(path)
    path.write_text("when,price\n2023-01-01,1\n")
    with pytest.raises(InvalidInput, match="needs columns start_utc,end_utc"):
        read_series_csv(path)
    path.write_text(
        "start_utc,end_utc,price\n2023-01-01T00:00:00Z,2023-01-01T00:30:00Z,1\n"
        "2023-01-01T00:00:00Z,2023-01-01T00:30:00Z,1\n"
    )
    with pytest.raises(InvalidInput, match="line 3: duplicated slot"):
        read_series_csv(path)
    with pytest.raises(InvalidInput, match="file not found"):
        read_series_csv(tmp_path / "missing.csv")


def test_shipped_csv_reads_as_utc_and_units_convert(data_dir: Path) -> None:
    prices = read_series_csv(data_dir / "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv")
    assert str(prices.index.tz) == "UTC" and len(prices) == 19916
    assert prices.index.is_monotonic_increasing
    assert price_factor("p/kWh") == 0.01 and price_factor("EUR/MWh") == 0.001
    with pytest.raises(InvalidInput, match="price unit 'kWh' is not known"):
        price_factor("kWh")
