"""Pick the configured PV forecast source: its fetcher, its rate limit and its horizon.

``make_fetcher`` is what the service (and the ``forecast`` command) call; each source module
fetches through the injected ``httpx.Client`` and parses with pure functions.

Rate limits (each fetch makes one call per array, or per Solcast site):
- Open-Meteo: free for non-commercial use within 600 calls a minute, 5,000 an hour, 10,000 a
  day; its models update hourly at most, so 30 minutes between fetches is polite.
- forecast.solar: free tier 12 calls an hour per IP, data changing at most every 15 minutes:
  ``max(15 min, 6 min × arrays)`` leaves two calls an hour for anything else on the same IP.
- Solcast: the home user tier allows 10 calls a day: ``24 h × sites / 9`` leaves one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import httpx

from optimizer.config import PvSettings, pv_problems
from optimizer.errors import ConfigError
from optimizer.timeseries import require_utc
from optimizer.weather import forecastsolar, openmeteo, solcast
from optimizer.weather.model import PvForecast

Fetcher = Callable[[datetime], PvForecast]

OPEN_METEO_INTERVAL = timedelta(minutes=30)
FORECAST_SOLAR_CALLS_PER_HOUR = 10  # of the free tier's 12
SOLCAST_CALLS_PER_DAY = 9  # of the free tier's 10


def _weather_source(pv: PvSettings) -> str:
    if pv.forecast == "history":
        raise ConfigError(['pv.forecast = "history": there is no weather source to fetch from'])
    problems = pv_problems(pv)  # settings built without parse_settings skip the cross-checks
    if problems:
        raise ConfigError(problems)
    return pv.forecast


def make_fetcher(pv: PvSettings, client: httpx.Client, env: Mapping[str, str]) -> Fetcher:
    """A function of ``now`` (tz-aware UTC) that fetches the configured source and returns the
    forecast issued at ``now``: AC kWh per interval, through the physics (Open-Meteo) and
    clipped at ``pv.ac_limit_kw``.

    The fetcher raises ``WeatherUnreachable`` (connection error, timeout, 429 with the source's
    retry-after, 5xx) and ``WeatherError`` (a malformed answer, naming the field; another 4xx).
    ``make_fetcher`` itself raises ``ConfigError`` for ``forecast = "history"`` and for a
    Solcast key missing from ``env``.
    """
    source = _weather_source(pv)
    if source == "open-meteo":
        return lambda now: openmeteo.fetch(pv, client, require_utc(now, "now"))
    if source == "forecast.solar":
        return lambda now: forecastsolar.fetch(pv, client, require_utc(now, "now"))
    key = pv.solcast_api_key(env)
    return lambda now: solcast.fetch(pv, client, key, require_utc(now, "now"))


def calls_per_fetch(pv: PvSettings) -> int:
    """HTTP calls one fetch makes: one per array (one per Solcast site)."""
    if pv.forecast == "solcast":
        return len(pv.solcast_site_ids)
    return len(pv.arrays)


def min_fetch_interval(pv: PvSettings) -> timedelta:
    """The least time between two fetches that keeps within the source's free limits."""
    source = _weather_source(pv)
    calls = max(calls_per_fetch(pv), 1)
    if source == "open-meteo":
        return OPEN_METEO_INTERVAL
    if source == "forecast.solar":
        minutes = math.ceil(60 * calls / FORECAST_SOLAR_CALLS_PER_HOUR)
        return timedelta(minutes=max(15, minutes))
    return timedelta(minutes=math.ceil(24 * 60 * calls / SOLCAST_CALLS_PER_DAY))


def horizon(pv: PvSettings) -> timedelta:
    """How far ahead of its issue time a fresh forecast reaches at least.

    Open-Meteo: ``forecast_days = 3`` from today's UTC midnight (≥ 48 h). Solcast: ``hours =
    48``. forecast.solar's free tier: to tomorrow's sunset (local), at least 12 h; its night
    after that is uncovered. A forecast's own ``end_utc`` is what counts for a given slot."""
    source = _weather_source(pv)
    if source == "open-meteo":
        return openmeteo.HORIZON
    if source == "solcast":
        return timedelta(hours=solcast.HOURS)
    return timedelta(hours=12)
