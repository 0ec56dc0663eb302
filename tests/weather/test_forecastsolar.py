"""forecast.solar against a local server shaped like ``/estimate``: the URL and azimuth,
Wh per period ending at each stamp, irregular sunrise/sunset stamps, DST days, the inverter
clip, rate limits and malformed answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pandas as pd
import pytest

from optimizer.config import PvSettings
from optimizer.errors import WeatherError, WeatherUnreachable
from optimizer.weather.forecastsolar import parse_estimate
from optimizer.weather.sources import make_fetcher
from tests.weather.fakeserver import Call, FakeWeather, Reply
from tests.weather.shapes import ForecastSolarApi, pv_settings

LONDON = "Europe/London"
NOW = datetime(2023, 3, 26, 5, 0, tzinfo=UTC)


def settings(api: FakeWeather, *arrays: tuple[float, float, float], **pv: Any) -> PvSettings:
    return pv_settings("forecast.solar", api.base_url, arrays, **({"ac_limit_kw": 3.6} | pv))


def daylight(day: str, sunrise: str, sunset: str) -> list[pd.Timestamp]:
    """forecast.solar's stamps for a local day: sunrise, each whole local hour, sunset (UTC)."""
    rise = pd.Timestamp(f"{day} {sunrise}", tz=LONDON)
    down = pd.Timestamp(f"{day} {sunset}", tz=LONDON)
    hours = pd.date_range(rise.ceil("h"), down.floor("h"), freq="h")
    return [t.tz_convert("UTC") for t in [rise, *hours, down]]


def by_local_hour(end: pd.Timestamp, dec: int, az: int, kwp: float) -> float:
    """Wh = 100 × kWp × the local hour the period ends in (0 at sunrise, as the API has it)."""
    local = end.tz_convert(LONDON)
    return 0.0 if local.minute else 100.0 * kwp * local.hour


def test_the_url_carries_tilt_their_azimuth_and_kwp_and_asks_for_utc(
    api: FakeWeather, client: httpx.Client
) -> None:
    api.routes["/estimate/"] = ForecastSolarApi(
        daylight("2023-03-26", "06:48", "19:30"), by_local_hour
    )
    pv = settings(api, (2.5, 35, 90), (1.5, 20, 180), (1, 10, 270), (1, 90, 0))
    make_fetcher(pv, client, {})(NOW)
    assert [c.path for c in api.calls] == [
        "/estimate/51.5000/-0.1200/35/-90/2.5",
        "/estimate/51.5000/-0.1200/20/0/1.5",
        "/estimate/51.5000/-0.1200/10/90/1",
        "/estimate/51.5000/-0.1200/90/-180/1",
    ]
    assert all(c.query == {"time": "utc"} for c in api.calls)


def test_wh_per_period_ending_at_each_stamp_with_the_night_as_zero(
    api: FakeWeather, client: httpx.Client
) -> None:
    stamps = daylight("2023-06-01", "04:47", "21:13") + daylight("2023-06-02", "04:46", "21:14")
    api.routes["/estimate/"] = ForecastSolarApi(stamps, by_local_hour)
    frame = make_fetcher(settings(api, (1, 35, 180), ac_limit_kw=10), client, {})(NOW).frame
    assert (frame["start_utc"].iloc[1:].to_numpy() == frame["end_utc"].iloc[:-1].to_numpy()).all()
    at = {row.end_utc.tz_convert(LONDON).strftime("%d %H:%M"): row for row in frame.itertuples()}
    # Sunrise 04:47 BST: nothing yet; [04:47, 05:00) carries the Wh stamped 05:00 (0.5 kWh).
    assert at["01 05:00"].start_utc == pd.Timestamp("2023-06-01 04:47", tz=LONDON)
    assert at["01 05:00"].kwh == pytest.approx(0.5)
    assert at["01 13:00"].start_utc == pd.Timestamp("2023-06-01 12:00", tz=LONDON)
    assert at["01 13:00"].kwh == pytest.approx(1.3)
    assert at["01 21:13"].start_utc == pd.Timestamp("2023-06-01 21:00", tz=LONDON)
    # The night between sunset and the hour before the next sunrise: one 0 kWh interval.
    night = frame[frame["start_utc"] == pd.Timestamp("2023-06-01 21:13", tz=LONDON)]
    assert night["end_utc"].iloc[0] == pd.Timestamp("2023-06-02 03:46", tz=LONDON)
    assert night["kwh"].iloc[0] == 0
    assert frame["kwh"].sum() == pytest.approx(
        sum(by_local_hour(t, 35, 0, 1) for t in stamps) / 1000
    )


@pytest.mark.parametrize(
    ("day", "sunrise", "sunset", "first_hour"),
    [("2023-03-26", "06:48", "19:30", 7), ("2023-10-29", "06:40", "16:42", 7)],
)
def test_dst_days_put_local_hours_on_the_right_utc_intervals(
    api: FakeWeather, client: httpx.Client, day: str, sunrise: str, sunset: str, first_hour: int
) -> None:
    api.routes["/estimate/"] = ForecastSolarApi(daylight(day, sunrise, sunset), by_local_hour)
    frame = make_fetcher(settings(api, (1, 35, 180), ac_limit_kw=10), client, {})(NOW).frame
    local_end = pd.DatetimeIndex(frame["end_utc"]).tz_convert(LONDON)
    whole = frame[local_end.minute == 0]
    assert [t.hour for t in pd.DatetimeIndex(whole["end_utc"]).tz_convert(LONDON)] == list(
        range(first_hour, int(sunset[:2]) + 1)
    )
    assert (whole["kwh"].to_numpy() == pytest.approx(
        [0.1 * t.tz_convert(LONDON).hour for t in whole["end_utc"]]))  # fmt: skip
    noon = whole[pd.DatetimeIndex(whole["end_utc"]).tz_convert(LONDON).hour == 12]
    offset = 1 if day == "2023-03-26" else 0  # BST after the spring change, GMT after autumn's
    assert noon["end_utc"].iloc[0] == pd.Timestamp(f"{day} {12 - offset:02d}:00", tz="UTC")


def test_an_answer_in_local_time_is_refused() -> None:
    api = ForecastSolarApi(daylight("2023-03-26", "06:48", "19:30"), by_local_hour)
    local = api(Call("/estimate/51.5/-0.12/35/0/4", {}, {}))  # no ?time=utc
    with pytest.raises(WeatherError, match="stamps carry no UTC offset"):
        parse_estimate(__import__("json").loads(local.body))


def test_arrays_are_summed_and_clipped_at_the_inverter(
    api: FakeWeather, client: httpx.Client
) -> None:
    stamps = daylight("2023-06-01", "04:47", "21:13")

    def strong(end: pd.Timestamp, dec: int, az: int, kwp: float) -> float:
        return 0.0 if end.tz_convert(LONDON).minute == 47 else 750.0 * kwp

    api.routes["/estimate/"] = ForecastSolarApi(stamps, strong)
    frame = make_fetcher(settings(api, (4, 35, 90), (4, 35, 270)), client, {})(NOW).frame
    hours = (frame["end_utc"] - frame["start_utc"]).dt.total_seconds() / 3600
    whole = frame[hours == 1]
    assert whole["kwh"].iloc[0] == 0  # the hour before sunrise
    assert whole["kwh"].iloc[1:].to_numpy() == pytest.approx(3.6)  # 6 kWh in an hour: 3.6 kW
    short = frame[frame["end_utc"] == pd.Timestamp("2023-06-01 05:00", tz=LONDON)]
    assert short["kwh"].iloc[0] == pytest.approx(3.6 * 13 / 60)  # 6 kWh in 13 min, clipped


def test_rate_limits_and_server_errors_are_unreachable(
    api: FakeWeather, client: httpx.Client
) -> None:
    api.routes["/estimate/"] = ForecastSolarApi(
        daylight("2023-03-26", "06:48", "19:30"), by_local_hour
    )
    fetcher = make_fetcher(settings(api, (4, 35, 180)), client, {})
    limited = {
        "result": None,
        "message": {
            "code": 429,
            "type": "error",
            "text": "Rate limit for API calls reached.",
            "ratelimit": {"period": 3600, "limit": 12, "retry-at": "2023-03-26T06:00:00+01:00"},
        },
    }
    api.script(Reply.json(limited, 429))
    with pytest.raises(WeatherUnreachable, match="HTTP 429") as caught:
        fetcher(NOW)
    assert caught.value.retry_after_s == 0  # 06:00 BST is 05:00 UTC: now
    api.script(Reply.json(limited, 429, **{"X-Ratelimit-Retry-At": "2023-03-26T05:30:00+00:00"}))
    with pytest.raises(WeatherUnreachable) as caught:
        fetcher(NOW)
    assert caught.value.retry_after_s == 1800
    api.script(Reply.json({"result": None, "message": {"type": "error"}}, 503))
    with pytest.raises(WeatherUnreachable, match="HTTP 503"):
        fetcher(NOW)
    assert len(fetcher(NOW).frame) > 0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"result": None, "message": {"type": "success"}}, "result.watt_hours_period"),
        ({"result": {"watt_hours_period": {}}}, "result.watt_hours_period is missing or empty"),
        (
            {
                "result": {
                    "watt_hours_period": {
                        "2023-03-26T06:00:00+00:00": -5,
                        "2023-03-26T07:00:00+00:00": 5,
                    }
                }
            },
            "not Wh ≥ 0",
        ),
        (
            {"result": {"watt_hours_period": {"noon": 5, "2023-03-26T07:00:00+00:00": 5}}},
            "not a time",
        ),
        ({"result": {"watt_hours_period": {"2023-03-26T07:00:00+00:00": 5}}}, "two stamps"),
        ({"result": None, "message": {"type": "error", "text": "Invalid plane"}}, "Invalid plane"),
    ],
)
def test_a_malformed_answer_names_the_field(
    api: FakeWeather, client: httpx.Client, payload: Any, message: str
) -> None:
    api.script(Reply.json(payload))
    with pytest.raises(WeatherError, match=message) as caught:
        make_fetcher(settings(api, (4, 35, 180)), client, {})(NOW)
    assert not isinstance(caught.value, WeatherUnreachable)
