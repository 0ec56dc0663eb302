"""Open-Meteo against a local server shaped like ``/v1/forecast``: parameters, time stamps,
units, the physics end to end, DST days, failures and malformed answers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pandas as pd
import pytest

from optimizer.config import PvSettings
from optimizer.errors import WeatherError, WeatherUnreachable
from optimizer.weather.sources import make_fetcher
from tests.weather.fakeserver import FakeWeather, Reply
from tests.weather.shapes import OpenMeteoApi, pv_settings

PATH = "/v1/forecast"
NOW = datetime(2024, 6, 1, 6, 0, tzinfo=UTC)


def settings(api: FakeWeather, *arrays: tuple[float, float, float], **pv: Any) -> PvSettings:
    return pv_settings("open-meteo", api.base_url + PATH, arrays, **({"ac_limit_kw": 3.68} | pv))


def stc(end: pd.Timestamp, tilt: float, azimuth: float) -> tuple[float, float, float]:
    """1000 W/m² at −15 °C air and no wind: the cell is at 25 °C (Faiman: −15 + 1000/25)."""
    return 1000.0, -15.0, 0.0


def fetch(api: FakeWeather, client: httpx.Client, pv: PvSettings) -> pd.DataFrame:
    forecast = make_fetcher(pv, client, {})(NOW)
    assert forecast.source == "open-meteo" and forecast.issued_utc == NOW
    return forecast.frame


def test_one_request_per_array_with_open_meteos_azimuth_and_utc(
    api: FakeWeather, client: httpx.Client
) -> None:
    api.routes[PATH] = OpenMeteoApi(date(2024, 6, 1), stc)
    pv = settings(api, (2, 35, 90), (2, 35, 180), (1, 20, 270), (1, 10, 0))
    fetch(api, client, pv)
    assert [c.query["azimuth"] for c in api.calls] == ["-90", "0", "90", "-180"]
    assert [c.query["tilt"] for c in api.calls] == ["35", "35", "20", "10"]
    for call in api.calls:
        assert call.path == PATH
        assert call.query["timezone"] == "GMT" and call.query["wind_speed_unit"] == "ms"
        assert call.query["latitude"] == "51.5000" and call.query["longitude"] == "-0.1200"
        for block in ("minutely_15", "hourly"):
            assert set(call.query[block].split(",")) == {
                "global_tilted_irradiance",
                "temperature_2m",
                "wind_speed_10m",
            }


def test_known_answer_at_stc_through_the_physics(api: FakeWeather, client: httpx.Client) -> None:
    # 4 kWp at 1000 W/m² and 25 °C cell: DC 4 kW × (1 − 14 %) = 3.44 kW. PVWatts inverter with
    # P_ac0 = 3.68 kW, η_nom 0.96: P_dc0 = 3.8333, ζ = 0.89739,
    # η = 0.96/0.9637 × (−0.0162ζ − 0.0059/ζ + 0.9858) = 0.960984, AC = 3.30578 kW.
    api.routes[PATH] = OpenMeteoApi(date(2024, 6, 1), stc, fine_hours=24)
    frame = fetch(api, client, settings(api, (4, 35, 180)))
    hours = (frame["end_utc"] - frame["start_utc"]).dt.total_seconds() / 3600
    assert frame["kwh"].to_numpy() == pytest.approx(3.30578 * hours.to_numpy(), rel=1e-5)


def test_15_minute_rows_then_hourly_means_over_the_hour_before_their_stamp(
    api: FakeWeather, client: httpx.Client
) -> None:
    day = pd.Timestamp("2024-06-01", tz="UTC")
    sunny = {day + pd.Timedelta(hours=10, minutes=15), day + pd.Timedelta(days=1, hours=10)}

    def sky(end: pd.Timestamp, tilt: float, azimuth: float) -> tuple[float, float, float]:
        return (1000.0 if end in sunny else 0.0), -15.0, 0.0

    api.routes[PATH] = OpenMeteoApi(date(2024, 6, 1), sky, fine_hours=24)
    frame = fetch(api, client, settings(api, (4, 35, 180)))
    steps = frame["end_utc"] - frame["start_utc"]
    assert (frame["start_utc"].iloc[1:].to_numpy() == frame["end_utc"].iloc[:-1].to_numpy()).all()
    # 15-minute stamps 00:00 … 23:45 cover [23:45 the day before, 23:45); the hourly means
    # stamped 00:00 and 24:00 fill the quarters around them ([23:00, 23:45) the day before and
    # [23:45, 24:00)); then whole hours [t − 1 h, t).
    assert frame["start_utc"].iloc[0] == day - pd.Timedelta(hours=1)
    assert (steps.iloc[:100] == pd.Timedelta(minutes=15)).all()
    assert frame["start_utc"].iloc[99] == day + pd.Timedelta(hours=23, minutes=45)
    assert (steps.iloc[100:] == pd.Timedelta(hours=1)).all()
    assert frame["end_utc"].iloc[-1] == day + pd.Timedelta(days=3) - pd.Timedelta(hours=1)
    # The value stamped 10:15 (15-minute) is [10:00, 10:15); the one stamped 10:00 tomorrow
    # (hourly) is [09:00, 10:00) tomorrow; nothing else has sun.
    lit = frame[frame["kwh"] > 0]
    assert list(zip(lit["start_utc"], lit["end_utc"], strict=True)) == [
        (day + pd.Timedelta(hours=10), day + pd.Timedelta(hours=10, minutes=15)),
        (day + pd.Timedelta(days=1, hours=9), day + pd.Timedelta(days=1, hours=10)),
    ]
    assert lit["kwh"].to_numpy() == pytest.approx([3.30578 / 4, 3.30578], rel=1e-5)


def _eta(zeta: float) -> float:
    """PVWatts' part-load curve with η_nom = η_ref (Dobos 2014, eq. 4)."""
    return -0.0162 * zeta - 0.0059 / zeta + 0.9858


def test_arrays_are_summed_before_the_inverter_clips(
    api: FakeWeather, client: httpx.Client
) -> None:
    api.routes[PATH] = OpenMeteoApi(date(2024, 6, 1), stc, fine_hours=0)
    frame = fetch(api, client, settings(api, (4, 35, 90), (4, 35, 270)))
    # 2 × 3.44 kW DC would give ~6.6 kW AC: the one inverter delivers 3.68 kW.
    assert frame["kwh"].to_numpy() == pytest.approx(3.68)


def test_negative_irradiance_is_zero_and_wind_is_read_in_m_per_s(
    api: FakeWeather, client: httpx.Client
) -> None:
    def sky(end: pd.Timestamp, tilt: float, azimuth: float) -> tuple[float, float, float]:
        return (-84.0 if end.hour == 21 else 800.0), 20.0, 5.0

    api.routes[PATH] = OpenMeteoApi(date(2024, 6, 1), sky, fine_hours=0)
    frame = fetch(api, client, settings(api, (4, 35, 180), ac_limit_kw=10))
    night = frame[frame["end_utc"].dt.hour == 21]
    assert len(night) == 3 and (night["kwh"] == 0).all()
    # Faiman with 5 m/s (not 18, the km/h figure): 20 + 800/(25 + 6.84 × 5) = 33.5135 °C.
    cell = 20 + 800 / (25 + 6.84 * 5)
    dc = 0.8 * 4 * (1 - 0.0037 * (cell - 25)) * 0.86
    zeta = dc / (10 / 0.96)
    ac = dc * 0.96 / 0.9637 * _eta(zeta)
    day = frame[frame["end_utc"].dt.hour == 12]
    assert day["kwh"].to_numpy() == pytest.approx(ac, rel=1e-9)


@pytest.mark.parametrize(
    ("local_day", "first_day", "hours"),
    [("2023-03-26", date(2023, 3, 26), 23), ("2023-10-29", date(2023, 10, 28), 25)],
)
def test_a_dst_day_has_its_23_or_25_hours_of_utc_intervals(
    api: FakeWeather, client: httpx.Client, local_day: str, first_day: date, hours: int
) -> None:
    api.routes[PATH] = OpenMeteoApi(first_day, stc, fine_hours=0)
    frame = fetch(api, client, settings(api, (4, 35, 180)))
    start = pd.Timestamp(local_day, tz="Europe/London")
    end = start + pd.DateOffset(days=1)
    inside = frame[(frame["start_utc"] >= start) & (frame["end_utc"] <= end)]
    assert len(inside) == hours
    assert inside["start_utc"].iloc[0] == start and inside["end_utc"].iloc[-1] == end
    assert (inside["start_utc"].iloc[1:].to_numpy() == inside["end_utc"].iloc[:-1].to_numpy()).all()
    assert inside["kwh"].sum() == pytest.approx(3.30578 * hours, rel=1e-5)


def test_429_5xx_timeouts_and_no_server_are_unreachable(
    api: FakeWeather, client: httpx.Client
) -> None:
    api.routes[PATH] = OpenMeteoApi(date(2024, 6, 1), stc)
    fetcher = make_fetcher(settings(api, (4, 35, 180), timeout_s=0.3), client, {})
    api.script(
        Reply.json({"error": True, "reason": "Too many requests"}, 429, **{"Retry-After": "120"})
    )
    with pytest.raises(WeatherUnreachable, match="HTTP 429") as caught:
        fetcher(NOW)
    assert caught.value.retry_after_s == 120
    api.script(Reply.json({"error": True, "reason": "down"}, 503))
    with pytest.raises(WeatherUnreachable, match="HTTP 503") as caught:
        fetcher(NOW)
    assert caught.value.retry_after_s is None
    api.script(Reply(200, b"{}", delay_s=1.0))
    with pytest.raises(WeatherUnreachable, match="timed out"):
        fetcher(NOW)
    assert len(fetcher(NOW).frame) > 0  # answers again once the server does
    closed = settings(api, (4, 35, 180), api_url="http://127.0.0.1:9/v1/forecast")
    with pytest.raises(WeatherUnreachable, match="could not connect"):
        make_fetcher(closed, client, {})(NOW)


def _answer(**change: Any) -> dict[str, Any]:
    hourly = {
        "time": ["2024-06-01T10:00", "2024-06-01T11:00"],
        "global_tilted_irradiance": [500.0, 600.0],
        "temperature_2m": [15.0, 16.0],
        "wind_speed_10m": [2.0, 2.0],
    }
    payload: dict[str, Any] = {"utc_offset_seconds": 0, "timezone": "GMT", "hourly": hourly}
    for key, value in change.items():
        block, _, name = key.partition("__")
        if name:
            payload[block] = payload[block] | {name: value}
        else:
            payload[block] = value
    return payload


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (_answer(hourly__global_tilted_irradiance=[500.0]), "hourly.global_tilted_irradiance"),
        (_answer(hourly__temperature_2m=["warm", 1.0]), "hourly.temperature_2m"),
        (_answer(hourly__time=["10 o'clock", "11:00"]), "hourly.time"),
        (_answer(hourly__time=["2024-06-01T11:00", "2024-06-01T10:00"]), "hourly.time"),
        (_answer(hourly={"temperature_2m": [1.0]}), "hourly.time"),
        (_answer(utc_offset_seconds=3600), "utc_offset_seconds = 3600"),
        (_answer(hourly=None), "neither minutely_15 nor hourly"),
        ([1, 2, 3], "not a JSON object"),
    ],
)
def test_a_malformed_answer_names_the_field(
    api: FakeWeather, client: httpx.Client, payload: Any, message: str
) -> None:
    api.script(Reply.json(payload))
    with pytest.raises(WeatherError, match=message) as caught:
        make_fetcher(settings(api, (4, 35, 180)), client, {})(NOW)
    assert not isinstance(caught.value, WeatherUnreachable)


def test_a_body_that_is_not_json_and_a_400_are_errors(
    api: FakeWeather, client: httpx.Client
) -> None:
    fetcher = make_fetcher(settings(api, (4, 35, 180)), client, {})
    api.script(Reply(200, b"<html>maintenance</html>"))
    with pytest.raises(WeatherError, match="not valid JSON"):
        fetcher(NOW)
    api.script(Reply.json({"error": True, "reason": "Cannot initialize WeatherVariable"}, 400))
    with pytest.raises(WeatherError, match=r"HTTP 400: .*Cannot initialize"):
        fetcher(NOW)


def test_a_gap_in_the_15_minute_values_is_filled_from_the_hour_around_it(
    api: FakeWeather, client: httpx.Client
) -> None:
    day = pd.Timestamp("2024-06-01", tz="UTC")
    gap = {day + pd.Timedelta(hours=12, minutes=m) for m in (15, 30)}  # [12:00, 12:30) null

    def sky(end: pd.Timestamp, tilt: float, azimuth: float) -> tuple[Any, float, float]:
        return (None if end in gap else 1000.0), -15.0, 0.0

    api.routes[PATH] = OpenMeteoApi(date(2024, 6, 1), sky, fine_hours=24)
    frame = fetch(api, client, settings(api, (4, 35, 180)))
    noon = frame[(frame["start_utc"] >= day + pd.Timedelta(hours=12))
                 & (frame["end_utc"] <= day + pd.Timedelta(hours=13))]  # fmt: skip
    assert len(noon) == 4 and (noon["end_utc"] - noon["start_utc"] == pd.Timedelta("15min")).all()
    assert noon["kwh"].to_numpy() == pytest.approx(3.30578 / 4, rel=1e-5)  # hourly mean fills
