"""The source registry: which fetcher, how often, how far ahead."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from optimizer.config import PvSettings, parse_settings
from optimizer.errors import ConfigError, InvalidInput
from optimizer.weather.sources import horizon, make_fetcher, min_fetch_interval


def pv(forecast: str, arrays: int = 1, sites: int = 1, **extra: Any) -> PvSettings:
    raw = {
        "forecast": forecast,
        "latitude": 51.5,
        "longitude": -0.12,
        "arrays": [{"kwp": 2, "tilt_deg": 30, "azimuth_deg": 180}] * arrays,
        "solcast_site_ids": [f"site-{i}" for i in range(sites)],
    }
    return parse_settings({"pv": raw | extra}).pv


@pytest.mark.parametrize(
    ("settings", "interval"),
    [
        (pv("open-meteo", arrays=3), timedelta(minutes=30)),
        (pv("forecast.solar", arrays=1), timedelta(minutes=15)),  # data changes every 15 min
        (pv("forecast.solar", arrays=2), timedelta(minutes=15)),
        (pv("forecast.solar", arrays=4), timedelta(minutes=24)),  # 4 calls × 2.5/h = 10 of 12
        (pv("solcast", sites=1), timedelta(minutes=160)),  # 9 of the 10 calls a day
        (pv("solcast", sites=2), timedelta(minutes=320)),
    ],
)
def test_fetches_stay_within_each_providers_free_limits(
    settings: PvSettings, interval: timedelta
) -> None:
    assert min_fetch_interval(settings) == interval
    calls = (
        len(settings.solcast_site_ids) if settings.forecast == "solcast" else len(settings.arrays)
    )
    per_day = calls * timedelta(days=1) / interval
    limit = {"open-meteo": 10_000, "forecast.solar": 12 * 24, "solcast": 10}[settings.forecast]
    assert per_day < limit


def test_horizons_and_history_has_no_fetcher() -> None:
    assert horizon(pv("open-meteo")) == timedelta(hours=48)
    assert horizon(pv("solcast")) == timedelta(hours=48)
    assert horizon(pv("forecast.solar")) == timedelta(hours=12)
    history = parse_settings({}).pv
    with httpx.Client() as client, pytest.raises(ConfigError, match=r'pv\.forecast = "hist'):
        make_fetcher(history, client, {})
    with pytest.raises(ConfigError, match=r'pv\.forecast = "history"'):
        min_fetch_interval(history)


def test_the_fetcher_wants_utc() -> None:
    from datetime import datetime

    with httpx.Client() as client:
        fetcher = make_fetcher(pv("open-meteo", api_url="http://127.0.0.1:9"), client, {})
        with pytest.raises(InvalidInput, match="now"):
            fetcher(datetime(2024, 6, 1, 12))


def test_settings_built_around_the_checks_are_still_refused() -> None:
    unchecked = PvSettings(forecast="open-meteo")  # not through parse_settings
    with httpx.Client() as client, pytest.raises(ConfigError, match=r"pv\.latitude: must be set"):
        make_fetcher(unchecked, client, {})
