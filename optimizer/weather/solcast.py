"""Solcast rooftop sites: P50 with P10/P90, one call per site, clipped at the inverter.

``GET {api_url}/rooftop_sites/{resource_id}/forecasts?format=json&hours=48`` with
``Authorization: Bearer <key>`` (the key from the environment variable ``[pv]
solcast_api_key_env`` names; never logged, never in a message). The answer is
``{"forecasts": [{"pv_estimate", "pv_estimate10", "pv_estimate90", "period_end", "period"}]}``:
estimates are mean AC power in kW over the period *ending* at ``period_end`` (UTC, ISO 8601
with up to 7 fractional digits), ``period`` an ISO 8601 duration (``PT30M``). The site's panels,
tilt, azimuth and capacity are configured on Solcast's side. The free (home user) tier allows
10 calls a day.

Several sites are summed per interval, quantiles too (as if the sites' errors were fully
correlated: they share the sky), then clipped at ``[pv] ac_limit_kw``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
import numpy as np
import pandas as pd

from optimizer.config import PvSettings
from optimizer.errors import WeatherError
from optimizer.forecast.pvpower import clip_kw
from optimizer.weather.http import get_json
from optimizer.weather.model import PvForecast

SOURCE = "solcast"
HOURS = 48
#: Solcast's field → our column (kW before the conversion to kWh).
ESTIMATES = {"pv_estimate": "kwh", "pv_estimate10": "kwh_p10", "pv_estimate90": "kwh_p90"}


def _number(row: Mapping[str, Any], name: str, at: int) -> float:
    value = row.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool) or not np.isfinite(value):
        raise WeatherError(f"{SOURCE}: forecasts[{at}].{name} = {value!r} is not a number (kW)")
    return float(value)


def parse_forecasts(payload: Any) -> pd.DataFrame:
    """One site's answer as rows ``start_utc, end_utc, kwh, kwh_p10, kwh_p90`` (not clipped).

    Raises ``WeatherError`` naming the field for a malformed answer."""
    rows = payload.get("forecasts") if isinstance(payload, dict) else None
    if not isinstance(rows, list) or not rows:
        raise WeatherError(f"{SOURCE}: forecasts is missing or empty")
    records = []
    for at, row in enumerate(rows):
        if not isinstance(row, dict):
            raise WeatherError(f"{SOURCE}: forecasts[{at}] is not an object")
        try:
            end = pd.Timestamp(str(row.get("period_end")))
            period = pd.Timedelta(str(row.get("period")))
        except ValueError:
            raise WeatherError(
                f"{SOURCE}: forecasts[{at}].period_end/period = {row.get('period_end')!r}/"
                f"{row.get('period')!r} is not an ISO 8601 time/duration"
            ) from None
        if end.tzinfo is None or period <= pd.Timedelta(0):
            raise WeatherError(f"{SOURCE}: forecasts[{at}].period_end must be UTC, period > 0")
        hours = period.total_seconds() / 3600.0
        record: dict[str, Any] = {"start_utc": end - period, "end_utc": end}
        for name, column in ESTIMATES.items():
            record[column] = max(_number(row, name, at), 0.0) * hours
        records.append(record)
    frame = pd.DataFrame(records).sort_values("start_utc", ignore_index=True)
    frame["start_utc"] = pd.DatetimeIndex(frame["start_utc"]).tz_convert("UTC")
    frame["end_utc"] = pd.DatetimeIndex(frame["end_utc"]).tz_convert("UTC")
    return frame


def combine(pv: PvSettings, sites: list[pd.DataFrame], issued: datetime) -> PvForecast:
    """The sites summed on their common intervals, each quantile clipped at the inverter."""
    keys = ["start_utc", "end_utc"]
    columns = list(ESTIMATES.values())
    total = sites[0]
    for site in sites[1:]:
        merged = total.merge(site, on=keys, suffixes=("", "_b"))
        for column in columns:
            merged[column] = merged[column] + merged.pop(f"{column}_b")
        total = merged
    hours = (total["end_utc"] - total["start_utc"]).dt.total_seconds().to_numpy() / 3600.0
    frame = total[keys].copy()
    for column in columns:
        frame[column] = clip_kw(total[column].to_numpy() / hours, pv.ac_limit_kw) * hours
    return PvForecast(SOURCE, issued, frame)


def fetch(pv: PvSettings, client: httpx.Client, api_key: str, now: datetime) -> PvForecast:
    """Fetch every site's forecast and return the forecast issued at ``now``."""
    sites = [
        parse_forecasts(
            get_json(
                client,
                SOURCE,
                f"{pv.url()}/rooftop_sites/{site}/forecasts",
                params={"format": "json", "hours": str(HOURS)},
                headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
                timeout_s=pv.timeout_s,
                now=now,
            )
        )
        for site in pv.solcast_site_ids
    ]
    return combine(pv, sites, now)
