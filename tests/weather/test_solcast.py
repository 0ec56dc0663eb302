"""Solcast against a local server shaped like ``/rooftop_sites/{id}/forecasts``: the bearer
key from the environment (never in a message), kW over the period ending at ``period_end`` into
kWh, P10/P90, several sites, a DST day, failures and malformed answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pandas as pd
import pytest

from optimizer.config import PvSettings
from optimizer.errors import ConfigError, WeatherError, WeatherUnreachable
from optimizer.weather.sources import make_fetcher
from tests.weather.fakeserver import FakeWeather, Reply
from tests.weather.shapes import SolcastApi, pv_settings

KEY = "sc-secret-key-0123456789"
ENV = {"SOLCAST_API_KEY": KEY}
SITE_A = "ab12-cd34-ef56-7890"
SITE_B = "ff00-1111-2222-3333"
NOW = datetime(2023, 10, 28, 22, 40, tzinfo=UTC)


def settings(api: FakeWeather, *sites: str, **pv: Any) -> PvSettings:
    return pv_settings(
        "solcast", api.base_url, solcast_site_ids=list(sites), **({"ac_limit_kw": 3.6} | pv)
    )


def ramp(end: pd.Timestamp) -> tuple[float, float, float]:
    """kW by the UTC hour and minute the period ends at, P10 = 0.5 × P50, P90 = 1.5 × P50."""
    p50 = end.hour / 10 + (0.05 if end.minute else 0.0)
    return p50, p50 * 0.5, p50 * 1.5


@pytest.fixture
def solcast(api: FakeWeather) -> SolcastApi:
    fake = SolcastApi(KEY, pd.Timestamp("2023-10-28 23:00", tz="UTC"), {SITE_A: ramp})
    api.routes["/rooftop_sites/"] = fake
    return fake


def test_the_request_has_the_site_format_hours_and_the_bearer_key(
    api: FakeWeather, client: httpx.Client, solcast: SolcastApi
) -> None:
    make_fetcher(settings(api, SITE_A, ac_limit_kw=10), client, ENV)(NOW)
    (call,) = api.calls
    assert call.path == f"/rooftop_sites/{SITE_A}/forecasts"
    assert call.query == {"format": "json", "hours": "48"}
    assert call.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in str(call.query)


def test_kw_over_the_half_hour_ending_at_period_end_become_kwh_with_quantiles(
    api: FakeWeather, client: httpx.Client, solcast: SolcastApi
) -> None:
    forecast = make_fetcher(settings(api, SITE_A, ac_limit_kw=10), client, ENV)(NOW)
    frame = forecast.frame
    assert forecast.source == "solcast" and list(frame.columns) == [
        "start_utc", "end_utc", "kwh", "kwh_p10", "kwh_p90",
    ]  # fmt: skip
    assert len(frame) == 96
    assert frame["start_utc"].iloc[0] == pd.Timestamp("2023-10-28 22:30", tz="UTC")
    row = frame[frame["end_utc"] == pd.Timestamp("2023-10-29 12:30", tz="UTC")].iloc[0]
    assert row["start_utc"] == pd.Timestamp("2023-10-29 12:00", tz="UTC")
    assert (row["kwh"], row["kwh_p10"], row["kwh_p90"]) == pytest.approx(
        (1.25 * 0.5, 0.625 * 0.5, 1.875 * 0.5)
    )


def test_the_autumn_change_day_has_50_half_hours(
    api: FakeWeather, client: httpx.Client, solcast: SolcastApi
) -> None:
    frame = make_fetcher(settings(api, SITE_A), client, ENV)(NOW).frame
    start = pd.Timestamp("2023-10-29", tz="Europe/London")
    end = start + pd.DateOffset(days=1)
    inside = frame[(frame["start_utc"] >= start) & (frame["end_utc"] <= end)]
    assert len(inside) == 50
    assert inside["start_utc"].iloc[0] == start and inside["end_utc"].iloc[-1] == end


def test_sites_are_summed_and_every_quantile_clipped(
    api: FakeWeather, client: httpx.Client, solcast: SolcastApi
) -> None:
    solcast.power[SITE_B] = lambda end: (2.0, 1.0, 3.0)
    frame = make_fetcher(settings(api, SITE_A, SITE_B), client, ENV)(NOW).frame
    assert len(api.calls) == 2
    row = frame[frame["end_utc"] == pd.Timestamp("2023-10-29 12:00", tz="UTC")].iloc[0]
    # A: 1.2/0.6/1.8 kW, B: 2/1/3 kW: 3.2, 1.6 and 4.8 (clipped to 3.6) kW for half an hour.
    assert (row["kwh"], row["kwh_p10"], row["kwh_p90"]) == pytest.approx((1.6, 0.8, 1.8))


def test_the_key_comes_from_the_environment_and_never_shows(
    api: FakeWeather, client: httpx.Client, solcast: SolcastApi
) -> None:
    with pytest.raises(ConfigError, match=r"pv\.solcast_api_key_env = SOLCAST_API_KEY"):
        make_fetcher(settings(api, SITE_A), client, {})
    wrong = make_fetcher(settings(api, SITE_A), client, {"SOLCAST_API_KEY": "wrong-key"})
    with pytest.raises(WeatherError, match="HTTP 401") as caught:
        wrong(NOW)
    assert "wrong-key" not in str(caught.value)
    api.script(Reply.json({"response_status": {"error_code": "TooManyRequests"}}, 429))
    with pytest.raises(WeatherUnreachable, match="HTTP 429") as limited:
        make_fetcher(settings(api, SITE_A), client, ENV)(NOW)
    assert KEY not in str(limited.value)


def test_429_5xx_and_timeouts_are_unreachable(
    api: FakeWeather, client: httpx.Client, solcast: SolcastApi
) -> None:
    fetcher = make_fetcher(settings(api, SITE_A, timeout_s=0.3), client, ENV)
    api.script(
        Reply.json({"response_status": {"error_code": "TooManyRequests"}}, 429,
                   **{"Retry-After": "Sun, 29 Oct 2023 00:00:00 GMT"})
    )  # fmt: skip
    with pytest.raises(WeatherUnreachable) as caught:
        fetcher(NOW)
    assert caught.value.retry_after_s == 80 * 60  # 22:40 to midnight UTC
    api.script(Reply(502, b"Bad gateway"))
    with pytest.raises(WeatherUnreachable, match="HTTP 502"):
        fetcher(NOW)
    api.script(Reply(200, b"{}", delay_s=1.0))
    with pytest.raises(WeatherUnreachable, match="timed out"):
        fetcher(NOW)


def _rows(**change: Any) -> dict[str, Any]:
    row = {
        "pv_estimate": 1.0,
        "pv_estimate10": 0.5,
        "pv_estimate90": 1.5,
        "period_end": "2023-10-29T12:00:00.0000000Z",
        "period": "PT30M",
    }
    good = row | {"period_end": "2023-10-29T11:30:00.0000000Z"}
    return {"forecasts": [good, row | change]}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"estimated_actuals": []}, "forecasts is missing or empty"),
        (_rows(pv_estimate="1.0"), r"forecasts\[1\]\.pv_estimate = '1\.0' is not a number"),
        (_rows(pv_estimate90=None), r"forecasts\[1\]\.pv_estimate90 = None"),
        (_rows(period_end="tomorrow"), r"forecasts\[1\]\.period_end/period"),
        (_rows(period="half an hour"), r"forecasts\[1\]\.period_end/period"),
        (_rows(period_end="2023-10-29T12:00:00"), r"forecasts\[1\]\.period_end must be UTC"),
        ({"forecasts": ["x"]}, r"forecasts\[0\] is not an object"),
    ],
)
def test_a_malformed_answer_names_the_field(
    api: FakeWeather, client: httpx.Client, payload: Any, message: str
) -> None:
    api.script(Reply.json(payload))
    with pytest.raises(WeatherError, match=message) as caught:
        make_fetcher(settings(api, SITE_A), client, ENV)(NOW)
    assert not isinstance(caught.value, WeatherUnreachable)
