"""The three APIs' answers, shaped as the real ones (docs and peers' parsers), served from
functions of time so tests control every value.

- Open-Meteo ``/v1/forecast``: ``time`` stamps in the asked ``timezone`` (UTC only for GMT/UTC,
  otherwise local with ``utc_offset_seconds``), ``forecast_days`` days from that zone's
  midnight, radiation the mean over the period before the stamp, wind in km/h unless
  ``wind_speed_unit=ms``.
- forecast.solar ``/estimate/lat/lon/dec/az/kwp``: ``result.watts``, ``watt_hours_period``,
  ``watt_hours``, ``watt_hours_day`` keyed by stamps in local time ("2023-03-26 07:00:00") or,
  with ``time=utc``, "2023-03-26T06:00:00+00:00"; ``message`` with ``info`` and ``ratelimit``.
- Solcast ``/rooftop_sites/{id}/forecasts``: ``forecasts`` rows with ``pv_estimate``,
  ``pv_estimate10``, ``pv_estimate90`` (kW), ``period_end`` ("…T10:30:00.0000000Z") and
  ``period`` ("PT30M"); 401 without the right bearer key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from optimizer.config import PvSettings, parse_settings
from tests.weather.fakeserver import Call, Reply

#: (end of the period (UTC), tilt, Open-Meteo azimuth) -> (W/m², °C, m/s), None for null.
Sky = Callable[[pd.Timestamp, float, float], tuple[float | None, float | None, float | None]]

UNITS = {"global_tilted_irradiance": "W/m²", "temperature_2m": "°C", "wind_speed_10m": "m/s"}


@dataclass
class OpenMeteoApi:
    first_day: date
    sky: Sky
    #: minutely_15 values exist for this many hours from the first stamp (null after).
    fine_hours: float = 48.0

    def _block(self, query: dict[str, str], key: str, step: timedelta) -> dict[str, list[Any]]:
        zone = query.get("timezone", "GMT")
        tz = "UTC" if zone in ("GMT", "UTC") else zone
        start = pd.Timestamp(self.first_day).tz_localize(tz)
        end = pd.Timestamp(self.first_day) + pd.Timedelta(days=int(query["forecast_days"]))
        stamps = pd.date_range(start, end.tz_localize(tz), freq=step, inclusive="left")
        names = query[key].split(",")
        out: dict[str, list[Any]] = {"time": [t.strftime("%Y-%m-%dT%H:%M") for t in stamps]}
        for name in names:
            out[name] = []
        limit = stamps[0] + pd.Timedelta(hours=self.fine_hours)
        for stamp in stamps:
            gti, air, wind = self.sky(
                stamp.tz_convert("UTC"), float(query["tilt"]), float(query["azimuth"])
            )
            if key == "minutely_15" and stamp >= limit:
                gti = air = wind = None
            if wind is not None and query.get("wind_speed_unit") != "ms":
                wind = wind * 3.6  # km/h, the API's default
            values = {
                "global_tilted_irradiance": gti,
                "temperature_2m": air,
                "wind_speed_10m": wind,
            }
            for name in names:
                out[name].append(values[name])
        return out

    def __call__(self, call: Call) -> Reply:
        query = call.query
        zone = query.get("timezone", "GMT")
        offset = 0
        if zone not in ("GMT", "UTC"):
            local = pd.Timestamp(self.first_day).tz_localize(ZoneInfo(zone))
            offset = int(local.utcoffset().total_seconds())
        payload: dict[str, Any] = {
            "latitude": round(float(query["latitude"]), 2),
            "longitude": round(float(query["longitude"]), 2),
            "generationtime_ms": 0.2,
            "utc_offset_seconds": offset,
            "timezone": zone,
            "timezone_abbreviation": zone,
            "elevation": 16.0,
        }
        for key, step in (("minutely_15", timedelta(minutes=15)), ("hourly", timedelta(hours=1))):
            if key in query:
                units = {"time": "iso8601"} | {n: UNITS[n] for n in query[key].split(",")}
                if query.get("wind_speed_unit") != "ms" and "wind_speed_10m" in units:
                    units["wind_speed_10m"] = "km/h"
                payload[f"{key}_units"] = units
                payload[key] = self._block(query, key, step)
        return Reply.json(payload)


@dataclass
class ForecastSolarApi:
    """``watt_hours_period``: (end stamp UTC, dec, az, kwp) -> Wh, at ``stamps`` (UTC)."""

    stamps: list[pd.Timestamp]
    energy: Callable[[pd.Timestamp, int, int, float], float]
    timezone: str = "Europe/London"
    remaining: int = 11

    def __call__(self, call: Call) -> Reply:
        query = call.query
        parts = call.path.strip("/").split("/")
        if len(parts) != 6 or parts[0] != "estimate":
            return Reply.json({"result": None, "message": {"code": 404, "type": "error"}}, 404)
        lat, lon, dec, az, kwp = parts[1:]
        if not (dec.isdigit() and az.lstrip("-").isdigit()):  # the API wants whole degrees
            return Reply.json({"result": None, "message": {"code": 400, "type": "error"}}, 400)

        def key(stamp: pd.Timestamp) -> str:
            if query.get("time") == "utc":
                return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S+00:00")
            return stamp.tz_convert(self.timezone).strftime("%Y-%m-%d %H:%M:%S")

        periods = {key(t): self.energy(t, int(dec), int(az), float(kwp)) for t in self.stamps}
        total, cumulative, days = 0.0, {}, {}
        for t in self.stamps:
            total += periods[key(t)]
            cumulative[key(t)] = total
            day = t.tz_convert(self.timezone).strftime("%Y-%m-%d")
            days[day] = days.get(day, 0.0) + periods[key(t)]
        payload = {
            "result": {
                "watts": {k: round(v) for k, v in periods.items()},  # hourly: W ≈ Wh
                "watt_hours_period": periods,
                "watt_hours": cumulative,
                "watt_hours_day": days,
            },
            "message": {
                "code": 0,
                "type": "success",
                "text": "",
                "info": {
                    "latitude": float(lat),
                    "longitude": float(lon),
                    "distance": 0,
                    "place": "Somewhere, United Kingdom",
                    "timezone": self.timezone,
                    "time": "2023-03-26T08:00:00+01:00",
                    "time_utc": "2023-03-26T07:00:00+00:00",
                },
                "ratelimit": {
                    "zone": "IP 127.0.0.1",
                    "period": 3600,
                    "limit": 12,
                    "remaining": self.remaining,
                },
            },
        }
        return Reply.json(payload)


@dataclass
class SolcastApi:
    """Per site id: (end stamp UTC) -> (p50, p10, p90) kW, at half-hours from ``first_end``."""

    key: str
    first_end: pd.Timestamp
    power: dict[str, Callable[[pd.Timestamp], tuple[float, float, float]]] = field(
        default_factory=dict
    )

    def __call__(self, call: Call) -> Reply:
        if call.headers.get("authorization") != f"Bearer {self.key}":
            return Reply.json({"response_status": {"error_code": "Unauthorized"}}, 401)
        query = call.query
        parts = call.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "rooftop_sites" or parts[2] != "forecasts":
            return Reply.json({"response_status": {"error_code": "NotFound"}}, 404)
        site = parts[1]
        if site not in self.power:
            return Reply.json({"response_status": {"error_code": "NotFound"}}, 404)
        hours = int(query.get("hours", "168"))
        ends = pd.date_range(self.first_end, periods=hours * 2, freq="30min")
        rows = []
        for end in ends:
            p50, p10, p90 = self.power[site](end)
            rows.append(
                {
                    "pv_estimate": p50,
                    "pv_estimate10": p10,
                    "pv_estimate90": p90,
                    "period_end": end.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
                    "period": "PT30M",
                }
            )
        return Reply.json({"forecasts": rows})


def pv_settings(
    source: str,
    url: str,
    arrays: tuple[tuple[float, float, float], ...] = (),
    **pv: Any,
) -> PvSettings:
    """``[pv]`` settings for ``source`` at London pointed at ``url`` with ``arrays`` as (kWp,
    tilt, compass azimuth) and any other keys in ``pv`` (``ac_limit_kw`` among them), parsed as
    a config file would be."""
    raw: dict[str, Any] = {"forecast": source, "latitude": 51.5, "longitude": -0.12,
                           "api_url": url}  # fmt: skip
    if arrays:
        raw["arrays"] = [{"kwp": k, "tilt_deg": t, "azimuth_deg": a} for k, t, a in arrays]
    return parse_settings({"pv": raw | pv}).pv
