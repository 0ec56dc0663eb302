"""``benchmarks/elia_archive.py`` on a tiny Elia-shaped file: issue times across DST, scaling."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.csvdata import read_energy_csv, read_vintages_csv

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "elia_archive.py"


def _elia(folder: Path) -> None:
    """2023-03-24 → Brussels 03-28 (spring forward on the 26th), 15 min, a 1,000 MW fleet."""
    start = pd.date_range("2023-03-24T00:00Z", "2023-03-28T21:45Z", freq="15min")
    n = len(start)
    noon = np.clip(np.sin(np.pi * (start.hour + start.minute / 60 - 5) / 14), 0, None)
    frame = pd.DataFrame(
        {
            "start_utc": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_utc": (start + pd.Timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "measured_mw": 400 * noon,
            "dayahead11h_mw": 500 * noon,
            "dayahead_mw": 450 * noon,
            "weekahead_mw": 999.0,
            "mostrecent_mw": 999.0,  # never used: it would leak
            "dayahead_p10_mw": 300 * noon,
            "dayahead_p90_mw": 600 * noon,
            "monitored_capacity_mw": np.full(n, 1000.0),
        }
    )
    # Null measured values at 21:45Z: 23:45 Brussels in summer time (the documented night
    # null, written as 0), 22:45 in winter time (left out).
    frame.loc[(start.hour == 21) & (start.minute == 45), "measured_mw"] = np.nan
    frame.to_csv(folder / "pv-forecast-elia-belgium-2023-15min.csv", index=False, na_rep="")


def test_vintages_issue_at_brussels_11_and_18_on_the_day_before(tmp_path: Path) -> None:
    _elia(tmp_path)
    subprocess.run(
        [sys.executable, str(SCRIPT), "--years", "2023", "--kwp", "4", "--shared", str(tmp_path),
         "--out-dir", str(tmp_path), "--name", "roof", "--from", "2023-03-25"],
        check=True, capture_output=True,
    )  # fmt: skip
    archive = read_vintages_csv(tmp_path / "roof-forecast-vintages.csv")
    issued = sorted(archive["issued_utc"].unique())
    # Delivery days 03-25 (CET), 03-26 (CET the day before), 03-27 and on (CEST the day before).
    expected = ["2023-03-24T10:00Z", "2023-03-24T17:00Z", "2023-03-25T10:00Z",
                "2023-03-25T17:00Z", "2023-03-26T09:00Z", "2023-03-26T16:00Z",
                "2023-03-27T09:00Z", "2023-03-27T16:00Z"]  # fmt: skip
    assert [pd.Timestamp(t) for t in issued] == [pd.Timestamp(t) for t in expected]
    # The 23-hour delivery day 03-26 has 92 quarter hours in each run.
    day = archive[archive["issued_utc"] == pd.Timestamp("2023-03-25T17:00Z")]
    assert len(day) == 92
    assert day["start_utc"].min() == pd.Timestamp("2023-03-25T23:00Z")
    # kWh = MW / capacity × kWp × 0.25 h; the 18:00 run carries its P10/P90.
    peak = day.loc[day["kwh"].idxmax()]
    assert abs(peak["kwh"] - 450 / 1000 * 4 * 0.25) < 1e-3
    assert abs(peak["kwh_p10"] / peak["kwh"] - 300 / 450) < 1e-3
    early = archive[archive["issued_utc"] == pd.Timestamp("2023-03-25T10:00Z")]
    np.testing.assert_allclose(early["kwh_p10"], early["kwh"])  # the 11:00 run: no quantiles
    assert archive["kwh"].max() < 0.6  # never the 999 MW of mostrecent/weekahead
    actual = read_energy_csv(tmp_path / "roof-actual.csv", "--pv")
    assert actual.notna().all()
    assert actual.loc["2023-03-27T21:45Z"] == 0.0  # 23:45 CEST: night, 0
    assert pd.Timestamp("2023-03-25T21:45Z") not in actual.index  # 22:45 CET: left out
    assert len(actual) == 4 * 96 - 4 - 1  # 03-25 → 03-28 Brussels days, one of 23 hours
