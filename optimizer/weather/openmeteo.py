"""Open-Meteo: irradiance on each array's plane and the weather, through the PV physics.

One request per array (the API takes one ``tilt``/``azimuth`` per request), asking for
``global_tilted_irradiance``, ``temperature_2m`` and ``wind_speed_10m`` (``wind_speed_unit=ms``)
both ``minutely_15`` and ``hourly``, with ``timezone=GMT`` so the ``time`` stamps are UTC.

Time stamps (Open-Meteo's docs): radiation is the mean over the period *before* its stamp — the
hour before for ``hourly``, the 15 minutes before for ``minutely_15`` — so a value stamped ``t``
covers ``[t − step, t)``; temperature and wind are instantaneous at ``t`` and are read as the
interval's. 15-minute rows are used where they have values, hourly rows elsewhere (split into
the quarters no 15-minute row covers where they meet). Negative irradiance (open-meteo#1355) is
read as 0.

Azimuth: Open-Meteo's is 0 = south, −90 = east, 90 = west, ±180 = north; ours is the compass
bearing, so ``openmeteo = compass − 180``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pandas as pd

from optimizer.config import ArraySettings, PvSettings
from optimizer.errors import WeatherError
from optimizer.forecast.pvpower import system_ac_kw
from optimizer.weather.http import get_json
from optimizer.weather.model import PvForecast
from optimizer.weather.physics import pv_system

SOURCE = "open-meteo"
#: Open-Meteo's variable → our column.
VARIABLES = {
    "global_tilted_irradiance": "gti_wm2",
    "temperature_2m": "air_c",
    "wind_speed_10m": "wind_ms",
}
BLOCKS = {"minutely_15": timedelta(minutes=15), "hourly": timedelta(hours=1)}
#: ``forecast_days``: today (UTC) and two more days, so at least 48 h ahead.
FORECAST_DAYS = 3
HORIZON = timedelta(hours=48)


def openmeteo_azimuth(compass_deg: float) -> float:
    """Open-Meteo's azimuth (0 south, −90 east, 90 west, ±180 north) for a compass bearing."""
    value = compass_deg - 180.0
    return value + 360.0 if value < -180.0 else value


def request_params(pv: PvSettings, array: ArraySettings) -> dict[str, str]:
    """The query for one array."""
    variables = ",".join(VARIABLES)
    return {
        "latitude": f"{pv.latitude:.4f}",
        "longitude": f"{pv.longitude:.4f}",
        "minutely_15": variables,
        "hourly": variables,
        "tilt": f"{array.tilt_deg:g}",
        "azimuth": f"{openmeteo_azimuth(array.azimuth_deg):g}",
        "timezone": "GMT",
        "wind_speed_unit": "ms",
        "forecast_days": str(FORECAST_DAYS),
    }


def _numbers(block: Mapping[str, Any], name: str, field: str, length: int) -> np.ndarray:
    values = block.get(name)
    if not isinstance(values, list) or len(values) != length:
        raise WeatherError(f"{SOURCE}: {field}.{name} must be a list as long as {field}.time")
    if not all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
    ):
        raise WeatherError(f"{SOURCE}: {field}.{name} holds a value that is not a number or null")
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _stamps(values: list[Any]) -> pd.DatetimeIndex:
    """``2024-06-01T12:00`` stamps (UTC, as asked with ``timezone=GMT``)."""
    if not all(isinstance(v, str) for v in values):
        raise ValueError("not a string")
    return pd.DatetimeIndex(pd.to_datetime(pd.Series(values), format="%Y-%m-%dT%H:%M", utc=True))


def parse_block(payload: Mapping[str, Any], field: str) -> pd.DataFrame:
    """One block (``minutely_15`` or ``hourly``) as rows ``start_utc, end_utc, gti_wm2, air_c,
    wind_ms``, rows with any value missing dropped, irradiance clipped at 0. An absent block is
    an empty frame; a malformed one raises ``WeatherError`` naming the field."""
    columns = ["start_utc", "end_utc", *VARIABLES.values()]
    block = payload.get(field)
    if block is None:
        return pd.DataFrame(columns=columns)
    if not isinstance(block, dict) or not isinstance(block.get("time"), list):
        raise WeatherError(f"{SOURCE}: {field}.time is missing or not a list")
    try:
        end = _stamps(block["time"])
    except (ValueError, TypeError):
        raise WeatherError(
            f"{SOURCE}: {field}.time holds a stamp not like 2024-06-01T12:00"
        ) from None
    frame = pd.DataFrame({"start_utc": end - BLOCKS[field], "end_utc": end})
    for name, column in VARIABLES.items():
        frame[column] = _numbers(block, name, field, len(end))
    frame = frame.dropna().reset_index(drop=True)
    frame["gti_wm2"] = frame["gti_wm2"].clip(lower=0.0)
    if not frame["end_utc"].is_monotonic_increasing or frame["end_utc"].duplicated().any():
        raise WeatherError(f"{SOURCE}: {field}.time is not strictly increasing")
    return frame


def _uncovered(hourly: pd.DataFrame, fine: pd.DataFrame) -> pd.DataFrame:
    """The parts of the hourly rows no 15-minute row covers: whole hours where none overlaps,
    else the hour's uncovered quarters (each with the hour's mean irradiance)."""
    if fine.empty or hourly.empty:
        return hourly
    fine_start = pd.DatetimeIndex(fine["start_utc"])
    fine_end = pd.DatetimeIndex(fine["end_utc"])

    def overlapped(start: pd.Timestamp, end: pd.Timestamp) -> bool:
        first = int(fine_end.searchsorted(start, side="right"))  # the first ending after start
        return first < len(fine_end) and fine_start[first] < end

    quarter = BLOCKS["minutely_15"]
    rows: list[dict[Hashable, Any]] = []
    for row in hourly.to_dict("records"):
        if not overlapped(row["start_utc"], row["end_utc"]):
            rows.append(row)
            continue
        for k in range(4):
            start = row["start_utc"] + k * quarter
            if not overlapped(start, start + quarter):
                rows.append(row | {"start_utc": start, "end_utc": start + quarter})
    return pd.DataFrame(rows, columns=hourly.columns)


def parse_weather(payload: Any) -> pd.DataFrame:
    """The weather on one array's plane: 15-minute rows where given, hourly rows elsewhere.

    Raises ``WeatherError`` when the payload is not an Open-Meteo answer in UTC."""
    if not isinstance(payload, dict):
        raise WeatherError(f"{SOURCE}: the answer is not a JSON object")
    if payload.get("error"):
        raise WeatherError(f"{SOURCE}: {payload.get('reason', 'error')}")
    if payload.get("utc_offset_seconds") != 0:
        raise WeatherError(
            f"{SOURCE}: utc_offset_seconds = {payload.get('utc_offset_seconds')!r} "
            "(asked for timezone=GMT, must be 0)"
        )
    fine = parse_block(payload, "minutely_15")
    hourly = _uncovered(parse_block(payload, "hourly"), fine)
    both = [f for f in (fine, hourly) if len(f)]
    if not both:
        raise WeatherError(f"{SOURCE}: neither minutely_15 nor hourly holds any values")
    frame = pd.concat(both, ignore_index=True).sort_values("start_utc", ignore_index=True)
    return frame


def forecast_from_weather(
    pv: PvSettings, planes: list[pd.DataFrame], issued: datetime
) -> PvForecast:
    """The AC forecast from each array's weather (``parse_weather`` frames, in ``pv.arrays``
    order), on the intervals every array has."""
    keys = ["start_utc", "end_utc"]
    merged = planes[0][[*keys, "air_c", "wind_ms", "gti_wm2"]].rename(columns={"gti_wm2": "gti_0"})
    for i, plane in enumerate(planes[1:], start=1):
        merged = merged.merge(
            plane[[*keys, "gti_wm2"]].rename(columns={"gti_wm2": f"gti_{i}"}), on=keys
        )
    poa = [merged[f"gti_{i}"].to_numpy(dtype=np.float64) for i in range(len(planes))]
    kw = system_ac_kw(
        pv_system(pv),
        poa,
        merged["air_c"].to_numpy(dtype=np.float64),
        merged["wind_ms"].to_numpy(dtype=np.float64),
    )
    hours = (merged["end_utc"] - merged["start_utc"]).dt.total_seconds().to_numpy() / 3600.0
    frame = merged[keys].copy()
    frame["kwh"] = kw * hours
    return PvForecast(SOURCE, issued, frame)


def fetch(pv: PvSettings, client: httpx.Client, now: datetime) -> PvForecast:
    """Fetch every array's weather and return the forecast issued at ``now``."""
    planes = [
        parse_weather(
            get_json(
                client,
                SOURCE,
                pv.url(),
                params=request_params(pv, array),
                timeout_s=pv.timeout_s,
                now=now,
            )
        )
        for array in pv.arrays
    ]
    return forecast_from_weather(pv, planes, now)
