"""``forecast`` and ``forecasts`` through the CLI, on a SQLite store and a local Open-Meteo-shaped
server (real time: the command asks at ``datetime.now``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.csvdata import read_vintages_csv
from optimizer.forecast.vintages import PvVintages
from optimizer.store import Store
from optimizer.weather.model import PvForecast
from tests.service.test_pv_service import PATH, OpenMeteo
from tests.tariffs.fakeapi import FakeApi, Reply, serve

T0 = datetime(2023, 10, 28, 23, 0, tzinfo=UTC)  # the 25-hour UK day follows


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with serve() as served:
        yield served


def config(tmp_path: Path, api: FakeApi | None, forecast: str = "open-meteo") -> Path:
    url = api.base_url + PATH if api else ""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "history.db"}"\n\n'
        f'[pv]\nforecast = "{forecast}"\nlatitude = 51.5\nlongitude = -0.1\napi_url = "{url}"\n'
        "[[pv.arrays]]\nkwp = 4.0\ntilt_deg = 35\nazimuth_deg = 180\n",
        encoding="utf-8",
    )
    return path


def vintage(issued: datetime, start: datetime, kwh: list[float], minutes: int = 30,
            quantiles: bool = False) -> PvForecast:  # fmt: skip
    starts = pd.date_range(start, periods=len(kwh), freq=f"{minutes}min", tz="UTC", unit="ns")
    frame = pd.DataFrame(
        {"start_utc": starts, "end_utc": starts + pd.Timedelta(minutes=minutes), "kwh": kwh}
    )
    if quantiles:
        frame["kwh_p10"] = [0.5 * k for k in kwh]
        frame["kwh_p90"] = [2.0 * k for k in kwh]
    return PvForecast("open-meteo", issued, frame)


def test_forecasts_csv_round_trips_through_read_vintages_csv(tmp_path: Path) -> None:
    path = config(tmp_path, None)
    with Store(f"sqlite:///{tmp_path / 'history.db'}") as store:
        # 50 half hours: the whole 25-hour day of 2023-10-29, issued twice.
        store.save_pv_forecast(vintage(T0 - timedelta(hours=5, microseconds=-7), T0,
                                       [0.01 * k for k in range(50)], quantiles=True))  # fmt: skip
        store.save_pv_forecast(vintage(T0 + timedelta(hours=6), T0 + timedelta(hours=6),
                                       [0.125] * 16, minutes=15, quantiles=True))  # fmt: skip
        stored = store.pv_forecast_frame(T0 - timedelta(days=1), T0 + timedelta(days=2))
    done = CliRunner().invoke(app, ["forecasts", "--config", str(path), "--csv"])
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[0] == "issued_utc,start_utc,end_utc,kwh,kwh_p10,kwh_p90"
    exported = tmp_path / "vintages.csv"
    exported.write_text(done.stdout, encoding="utf-8")
    back = read_vintages_csv(exported)
    assert len(back) == 66
    pd.testing.assert_frame_equal(
        back.reset_index(drop=True), stored.drop(columns="source"), check_dtype=False
    )
    # Read back, the vintages answer as they were issued.
    index = pd.date_range(T0, periods=50, freq="30min")
    vintages = PvVintages.from_frame(back, index, 30)
    np.testing.assert_allclose(vintages.at(T0, 0, 50), [0.01 * k for k in range(50)])
    later = vintages.at(T0 + timedelta(hours=6), 0, 50)
    np.testing.assert_allclose(later[12:20], 0.25)
    # --from/--to: intervals that overlap the window.
    bounds = ["--from", "2023-10-29T08:00Z", "--to", "2023-10-29T09:00Z"]
    window = CliRunner().invoke(app, ["forecasts", "--config", str(path), "--csv", *bounds])
    assert window.exit_code == 0, window.output
    rows = window.stdout.splitlines()[1:]
    assert len(rows) == 2 + 4  # two half hours of the first vintage, four quarters of the second
    listed = CliRunner().invoke(app, ["forecasts", "--config", str(path)])
    assert listed.exit_code == 0 and len(listed.stdout.splitlines()) == 2


def test_forecasts_bad_input_exits_2(tmp_path: Path) -> None:
    path = config(tmp_path, None, forecast="history")
    with Store(f"sqlite:///{tmp_path / 'history.db'}") as store:
        store.save_pv_forecast(vintage(T0, T0, [0.1, 0.2]))
        store.save_pv_forecast(
            PvForecast("solcast", T0, vintage(T0, T0, [0.3]).frame)
        )  # another source
    runner = CliRunner()
    done = runner.invoke(app, ["forecasts", "--config", str(path), "--csv", "--from", "soon"])
    assert done.exit_code == 2 and "--from" in done.stderr
    done = runner.invoke(app, ["forecasts", "--config", str(path), "--csv"])
    assert done.exit_code == 2 and "--source" in done.stderr
    done = runner.invoke(app, ["forecasts", "--config", str(path), "--csv", "--source", "solcast"])
    assert done.exit_code == 0 and len(done.stdout.splitlines()) == 2


def test_forecast_json_fetches_stores_and_prints_the_planners_slots(
    tmp_path: Path, api: FakeApi
) -> None:
    weather = OpenMeteo(lambda: datetime.now(UTC))
    api.routes[PATH] = weather
    path = config(tmp_path, api)
    done = CliRunner().invoke(app, ["forecast", "--config", str(path), "--json"])
    assert done.exit_code == 0, done.output
    assert "store:" in done.stderr
    doc = json.loads(done.stdout)
    assert doc["pv_source"] == "open-meteo"
    issued = pd.Timestamp(doc["issued_utc"])
    assert abs(issued - pd.Timestamp(weather.calls[0][0])) < pd.Timedelta(seconds=1)
    rows = doc["pv"]
    assert len(rows) == 72  # no stored prices: planner.horizon_hours (36 h) of 30-minute slots
    starts = pd.DatetimeIndex([r["start_utc"] for r in rows])
    assert (starts[1:] - starts[:-1] == pd.Timedelta(minutes=30)).all()
    assert starts[0] <= pd.Timestamp.now(tz="UTC") < starts[0] + pd.Timedelta(minutes=30)
    with Store(f"sqlite:///{tmp_path / 'history.db'}") as store:
        stored = store.pv_forecast_frame(starts[0], starts[-1] + pd.Timedelta(minutes=30))
    assert stored["issued_utc"].nunique() == 1  # the fetch was stored as issued
    values = PvVintages.from_frame(stored.drop(columns="source"), starts, 30).at(
        issued.to_pydatetime(), 0, 72
    )
    np.testing.assert_allclose([r["kwh"] for r in rows], np.round(values, 4))
    assert max(r["kwh"] for r in rows) > 0.3  # the fake sky is always sunny by day
    table = CliRunner().invoke(app, ["forecast", "--config", str(path)])
    assert table.exit_code == 0 and "PV forecast for the next plan" in table.stdout


def test_forecast_with_the_source_down_reads_the_stored_else_exits_4(
    tmp_path: Path, api: FakeApi
) -> None:
    weather = OpenMeteo(lambda: datetime.now(UTC))
    weather.down = True
    api.routes[PATH] = weather
    path = config(tmp_path, api)
    done = CliRunner().invoke(app, ["forecast", "--config", str(path), "--json"])
    assert done.exit_code == 4, done.output
    assert "unreachable" in done.stderr and "503" in done.stderr
    now = datetime.now(UTC)
    with Store(f"sqlite:///{tmp_path / 'history.db'}") as store:
        first = pd.Timestamp(now).floor("30min").to_pydatetime()
        store.save_pv_forecast(vintage(now - timedelta(hours=1), first, [0.5] * 8))
    done = CliRunner().invoke(app, ["forecast", "--config", str(path), "--json"])
    assert done.exit_code == 0, done.output
    assert "the stored forecast" in done.stderr
    doc = json.loads(done.stdout)
    assert doc["pv_source"] == "open-meteo"
    assert [r["source"] for r in doc["pv"][:8]] == ["open-meteo"] * 8
    assert [r["kwh"] for r in doc["pv"][:8]] == [0.5] * 8
    assert {r["source"] for r in doc["pv"][8:]} == {"history"}  # past the stored horizon


def test_forecast_with_history_says_so(tmp_path: Path) -> None:
    path = config(tmp_path, None, forecast="history")
    done = CliRunner().invoke(app, ["forecast", "--config", str(path), "--json"])
    assert done.exit_code == 0, done.output
    assert '"history"' in done.stderr
    doc = json.loads(done.stdout)
    assert doc["pv_source"] == "history" and doc["issued_utc"] is None
    assert {r["kwh"] for r in doc["pv"]} == {0.0}  # nothing measured yet ...
    assert "no measured PV from the last 8 days" in done.stderr  # ... and it says so


def test_forecast_with_history_averages_the_measured_pv(tmp_path: Path) -> None:
    """With measured PV on the lagged days the history forecast is their mean, no note."""
    path = config(tmp_path, None, forecast="history")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    starts = pd.date_range(now - timedelta(days=9), now, freq="30min", inclusive="left")
    with Store(f"sqlite:///{tmp_path / 'history.db'}") as store:
        frame = pd.DataFrame({"end": starts + pd.Timedelta(minutes=30), "kwh": 0.25}, starts)
        store.save_series("pv", frame, "test")
    done = CliRunner().invoke(app, ["forecast", "--config", str(path), "--json"])
    assert done.exit_code == 0, done.output
    assert "no measured PV" not in done.stderr
    doc = json.loads(done.stdout)
    assert {r["kwh"] for r in doc["pv"][:48]} == {0.25}


def test_forecast_with_an_unusable_answer_and_nothing_stored_exits_2(
    tmp_path: Path, api: FakeApi
) -> None:
    api.routes[PATH] = lambda query: Reply.json({"utc_offset_seconds": 3600, "hourly": {}})
    done = CliRunner().invoke(app, ["forecast", "--config", str(config(tmp_path, api))])
    assert done.exit_code == 2, done.output
    assert "unusable answer" in done.stderr and "utc_offset_seconds" in done.stderr
