"""The one vintage rule: the latest forecast issued at or before a decision, per slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.csvdata import read_vintages_csv
from optimizer.errors import InvalidInput
from optimizer.forecast.vintages import PvVintages
from optimizer.weather.model import PvForecast

T0 = datetime(2023, 3, 25, 23, 0, tzinfo=UTC)


def _vintage(issued: datetime, start: datetime, minutes: int, kwh: list[float]) -> pd.DataFrame:
    starts = pd.date_range(start, periods=len(kwh), freq=f"{minutes}min", tz="UTC", unit="ns")
    return pd.DataFrame(
        {
            "issued_utc": pd.Timestamp(issued),
            "start_utc": starts,
            "end_utc": starts + pd.Timedelta(minutes=minutes),
            "kwh": kwh,
        }
    )


def _grid(slots: int, minutes: int = 30) -> pd.DatetimeIndex:
    return pd.date_range(T0, periods=slots, freq=f"{minutes}min", tz="UTC", unit="ns")


def test_quarter_hours_sum_into_half_hours_and_hours_split_evenly() -> None:
    quarter = _vintage(T0 - timedelta(hours=5), T0, 15, [0.1, 0.2, 0.3, 0.4])
    hourly = _vintage(T0 - timedelta(hours=4), T0 + timedelta(hours=1), 60, [1.0])
    vintages = PvVintages.from_frame(pd.concat([quarter, hourly]), _grid(4), 30)
    got = vintages.at(T0, 0, 4)
    np.testing.assert_allclose(got, [0.3, 0.7, 0.5, 0.5])


def test_latest_issued_at_or_before_the_decision_wins_per_slot() -> None:
    early = _vintage(T0 - timedelta(hours=12), T0, 30, [1.0, 1.0, 1.0, 1.0])
    late = _vintage(T0 + timedelta(minutes=30), T0 + timedelta(hours=1), 30, [2.0, 2.0])
    vintages = PvVintages.from_frame(pd.concat([late, early]), _grid(5), 30)
    np.testing.assert_allclose(vintages.at(T0, 0, 5), [1, 1, 1, 1, np.nan])
    # Issued exactly at the decision time counts; a second earlier does not.
    at_issue = T0 + timedelta(minutes=30)
    np.testing.assert_allclose(vintages.at(at_issue, 0, 5), [1, 1, 2, 2, np.nan])
    np.testing.assert_allclose(
        vintages.at(at_issue - timedelta(seconds=1), 0, 5), [1, 1, 1, 1, np.nan]
    )
    assert vintages.issued_at(at_issue, 0, 3)[2] == at_issue
    assert vintages.issued_at(T0 - timedelta(days=1), 0, 1) == [None]


def test_a_slot_half_covered_by_a_vintage_is_not_covered() -> None:
    part = _vintage(T0 - timedelta(hours=1), T0 + timedelta(minutes=15), 15, [0.5, 0.5, 0.5])
    vintages = PvVintages.from_frame(part, _grid(2), 30)
    np.testing.assert_allclose(vintages.at(T0, 0, 2), [np.nan, 1.0])


def test_max_age_drops_old_vintages() -> None:
    old = _vintage(T0 - timedelta(hours=30), T0, 30, [1.0, 1.0])
    vintages = PvVintages.from_frame(old, _grid(2), 30)
    assert np.isnan(vintages.at(T0, 0, 2, max_age_hours=24)).all()
    np.testing.assert_allclose(vintages.at(T0, 0, 2, max_age_hours=48), [1.0, 1.0])


def test_dst_day_quarter_hours_land_on_utc_slots() -> None:
    # 2023-03-26 is 23 hours long in Europe/Brussels: 92 quarter-hours, 46 half-hour slots.
    day_start = datetime(2023, 3, 25, 23, 0, tzinfo=UTC)
    one = _vintage(day_start - timedelta(hours=13), day_start, 15, [0.25] * 92)
    vintages = PvVintages.from_frame(one, _grid(48), 30)
    got = vintages.at(day_start, 0, 48)
    np.testing.assert_allclose(got[:46], 0.5)
    assert np.isnan(got[46:]).all()


def test_quantiles_come_from_the_same_vintage() -> None:
    frame = _vintage(T0 - timedelta(hours=1), T0, 30, [1.0, 2.0])
    frame["kwh_p10"] = [0.5, 1.0]
    frame["kwh_p90"] = [1.5, 3.0]
    vintages = PvVintages.from_frame(frame, _grid(2), 30)
    np.testing.assert_allclose(vintages.at(T0, 0, 2, "kwh_p90"), [1.5, 3.0])
    with pytest.raises(InvalidInput, match="no kwh_p10"):
        PvVintages.from_frame(frame.drop(columns=["kwh_p10"]), _grid(2), 30).at(T0, 0, 2, "kwh_p10")


def test_overlapping_rows_and_negative_energy_are_refused() -> None:
    frame = _vintage(T0, T0, 30, [1.0, 1.0])
    twice = pd.concat([frame, frame.assign(kwh=2.0)])
    with pytest.raises(InvalidInput, match="overlapping"):
        PvVintages.from_frame(twice, _grid(2), 30)
    with pytest.raises(InvalidInput, match="row 2: kwh"):
        PvVintages.from_frame(frame.assign(kwh=[1.0, -0.1]), _grid(2), 30)


def test_archive_csv_round_trip_and_errors(tmp_path: Path) -> None:
    forecast = PvForecast(
        "open-meteo", T0, _vintage(T0, T0, 30, [0.0, 1.25]).drop(columns=["issued_utc"])
    )
    path = tmp_path / "archive.csv"
    forecast.to_archive().to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    frame = read_vintages_csv(path)
    assert list(frame.columns) == ["issued_utc", "start_utc", "end_utc", "kwh"]
    assert frame["issued_utc"].iloc[0] == pd.Timestamp(T0)
    np.testing.assert_allclose(frame["kwh"], [0.0, 1.25])

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "issued_utc,start_utc,end_utc,kwh\n"
        "2023-03-25T12:00Z,2023-03-25T23:00Z,2023-03-25T23:30Z,0.1\n"
        "2023-03-25T12:00,2023-03-25T23:30Z,2023-03-26T00:00Z,0.1\n"
    )
    with pytest.raises(InvalidInput, match=r"--pv-forecast .*bad.csv: line 3: bad issued_utc"):
        read_vintages_csv(bad)
    bad.write_text("start_utc,end_utc,kwh\n2023-03-25T23:00Z,2023-03-25T23:30Z,0.1\n")
    with pytest.raises(InvalidInput, match="missing \\['issued_utc'\\]"):
        read_vintages_csv(bad)
    bad.write_text(
        "issued_utc,start_utc,end_utc,kwh\n"
        "2023-03-25T12:00Z,2023-03-25T23:00Z,2023-03-25T23:30Z,-0.1\n"
    )
    with pytest.raises(InvalidInput, match=r"line 2: bad kwh '-0.1' \(negative energy\)"):
        read_vintages_csv(bad)


def test_forecast_value_refuses_negative_or_naive() -> None:
    frame = _vintage(T0, T0, 30, [0.1, -0.2]).drop(columns=["issued_utc"])
    with pytest.raises(InvalidInput, match=r"kwh -0\.2"):
        PvForecast("solcast", T0, frame)
    with pytest.raises(InvalidInput, match="no time zone"):
        PvForecast("solcast", T0.replace(tzinfo=None), frame.assign(kwh=0.1))
