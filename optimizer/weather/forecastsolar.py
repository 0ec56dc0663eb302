"""forecast.solar: the public ``estimate`` API, one call per array, clipped at the inverter.

``GET {api_url}/estimate/{lat}/{lon}/{dec}/{az}/{kwp}?time=utc`` (doc.forecast.solar/api):
``dec`` is the tilt (0 flat … 90 vertical), ``az`` their azimuth (−180 … 180: 0 south,
−90 east, 90 west, ±180 north, so ``az = compass − 180``), ``kwp`` the array's peak power.
Without ``time=utc`` stamps come in the location's local time; with it they look like
``2023-03-26T11:00:00+00:00``.

``result.watt_hours_period`` maps each stamp to the energy (Wh) produced in the period *ending*
at that stamp, since the stamp before. Stamps are irregular at sunrise and sunset (the day is
filled from sunrise to sunset) and there is none at night: a stamp's period starts at the
stamp before or one step (the usual spacing) earlier, whichever is later, and the night before
it is an interval of 0 kWh. ``message.ratelimit`` reports the calls left (free tier: 12 an hour
per IP); a 429 carries ``X-Ratelimit-Retry-At`` or ``message.ratelimit.retry-at``.

forecast.solar already models the panels (its output is the array's AC-side estimate for the
given kWp); the arrays' power is summed and clipped at ``[pv] ac_limit_kw``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx
import numpy as np
import pandas as pd

from optimizer.config import ArraySettings, PvSettings
from optimizer.errors import WeatherError
from optimizer.forecast.pvpower import clip_kw
from optimizer.weather.http import get_json
from optimizer.weather.model import PvForecast

log = logging.getLogger(__name__)

SOURCE = "forecast.solar"
#: The free tier covers today and tomorrow (to tomorrow's sunset, local time).
FREE_TIER_DAYS = 2


def forecastsolar_azimuth(compass_deg: float) -> float:
    """forecast.solar's azimuth (0 south, −90 east, 90 west, ±180 north) for a bearing."""
    value = compass_deg - 180.0
    return value + 360.0 if value < -180.0 else value


def estimate_url(pv: PvSettings, array: ArraySettings) -> str:
    """The ``estimate`` URL for one array (tilt and azimuth whole degrees, as the API wants)."""
    return (
        f"{pv.url()}/estimate/{pv.latitude:.4f}/{pv.longitude:.4f}/{round(array.tilt_deg)}/"
        f"{round(forecastsolar_azimuth(array.azimuth_deg))}/{array.kwp:g}"
    )


def retry_at(body: Any) -> str | None:
    """``message.ratelimit.retry-at`` of a 429 body, if any."""
    value = body["message"]["ratelimit"].get("retry-at")
    return str(value) if value else None


def _periods(payload: Any) -> pd.Series:
    """``result.watt_hours_period`` as Wh indexed by UTC end stamps, sorted."""
    if not isinstance(payload, dict):
        raise WeatherError(f"{SOURCE}: the answer is not a JSON object")
    message = payload.get("message")
    if isinstance(message, dict) and message.get("type") == "error":
        raise WeatherError(f"{SOURCE}: {message.get('text', 'error')}")
    result = payload.get("result")
    periods = result.get("watt_hours_period") if isinstance(result, dict) else None
    if not isinstance(periods, dict) or not periods:
        raise WeatherError(f"{SOURCE}: result.watt_hours_period is missing or empty")
    values = list(periods.values())
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values):
        raise WeatherError(f"{SOURCE}: result.watt_hours_period holds a value that is not Wh ≥ 0")
    try:
        stamps = [pd.Timestamp(key) for key in periods]
    except ValueError:
        raise WeatherError(
            f"{SOURCE}: result.watt_hours_period has a stamp that is not a time"
        ) from None
    if any(stamp.tzinfo is None for stamp in stamps):
        raise WeatherError(
            f"{SOURCE}: result.watt_hours_period stamps carry no UTC offset (asked for time=utc)"
        )
    index = pd.DatetimeIndex(stamps).tz_convert("UTC")
    return pd.Series(np.asarray(values, dtype=np.float64), index=index).sort_index()


def parse_estimate(payload: Any) -> pd.DataFrame:
    """One array's answer as rows ``start_utc, end_utc, kwh`` covering its first to last stamp
    (night gaps as 0 kWh). Raises ``WeatherError`` naming the field for a malformed answer."""
    wh = _periods(payload)
    ends = wh.index
    if len(ends) < 2:
        raise WeatherError(f"{SOURCE}: result.watt_hours_period needs two stamps or more")
    step = pd.Series(ends[1:] - ends[:-1]).median()
    rows: list[tuple[pd.Timestamp, pd.Timestamp, float]] = []
    previous = ends[0] - step
    for end, value in zip(ends, wh.to_numpy(), strict=True):
        start = max(previous, end - step)
        if start > previous:
            rows.append((previous, start, 0.0))  # the night: no stamps, no sun
        rows.append((start, end, float(value) / 1000.0))
        previous = end
    return pd.DataFrame(rows, columns=["start_utc", "end_utc", "kwh"])


def _log_ratelimit(payload: Any) -> None:
    message = payload.get("message") if isinstance(payload, dict) else None
    limit = message.get("ratelimit") if isinstance(message, dict) else None
    if isinstance(limit, dict) and limit.get("remaining") is not None:
        log.debug("forecast.solar: %s of %s calls left", limit.get("remaining"), limit.get("limit"))


def combine(pv: PvSettings, planes: list[pd.DataFrame], issued: datetime) -> PvForecast:
    """The arrays' energy summed on their common intervals, clipped at ``pv.ac_limit_kw``."""
    keys = ["start_utc", "end_utc"]
    merged = planes[0].rename(columns={"kwh": "kwh_0"})
    for i, plane in enumerate(planes[1:], start=1):
        merged = merged.merge(plane.rename(columns={"kwh": f"kwh_{i}"}), on=keys)
    total = merged[[f"kwh_{i}" for i in range(len(planes))]].sum(axis=1).to_numpy()
    hours = (merged["end_utc"] - merged["start_utc"]).dt.total_seconds().to_numpy() / 3600.0
    frame = merged[keys].copy()
    frame["kwh"] = clip_kw(total / hours, pv.ac_limit_kw) * hours
    return PvForecast(SOURCE, issued, frame)


def fetch(pv: PvSettings, client: httpx.Client, now: datetime) -> PvForecast:
    """Fetch every array's estimate and return the forecast issued at ``now``."""
    planes = []
    for array in pv.arrays:
        payload = get_json(
            client,
            SOURCE,
            estimate_url(pv, array),
            params={"time": "utc"},
            headers={"Accept": "application/json"},
            timeout_s=pv.timeout_s,
            now=now,
            retry_at=retry_at,
        )
        _log_ratelimit(payload)
        planes.append(parse_estimate(payload))
    return combine(pv, planes, now)
