"""Energy-Charts (Fraunhofer ISE) day-ahead prices: public, no token.

``GET {base}/price?bzn=NL&start=..&end=..`` returns
``{"license_info": str, "unix_seconds": [int], "price": [float | null], "unit": "EUR / MWh",
"deprecated": bool}``. Each ``unix_seconds`` is a slot start in UTC; the slot length is the
spacing (60 or 15 minutes). ``null`` prices stay NaN so validation can name the slot.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pandas as pd

from optimizer.errors import TariffError
from optimizer.tariffs.http import DEFAULT_POLICY, HttpPolicy, get_json
from optimizer.tariffs.model import price_frame
from optimizer.timeseries import require_utc

log = logging.getLogger(__name__)


def _numbers(payload: dict[str, Any], key: str) -> list[Any]:
    value = payload.get(key)
    if not isinstance(value, list):
        raise TariffError(f"Energy-Charts: field {key!r} missing or not a list")
    return value


def _unit_factor(unit: Any) -> float:
    """Multiplier from the response's unit to EUR/MWh."""
    compact = str(unit).replace(" ", "").upper()
    factors = {"EUR/MWH": 1.0, "EUR/KWH": 1000.0}
    if compact not in factors:
        raise TariffError(f"Energy-Charts: unit {unit!r} is not EUR / MWh")
    return factors[compact]


def parse_prices(payload: Any, default_minutes: int = 60) -> pd.DataFrame:
    """The response → frame indexed by UTC slot start; ``price_per_kwh`` still in **EUR/MWh**."""
    if not isinstance(payload, dict):
        raise TariffError("Energy-Charts: expected a JSON object")
    seconds, prices = _numbers(payload, "unix_seconds"), _numbers(payload, "price")
    if len(seconds) != len(prices):
        raise TariffError(f"Energy-Charts: {len(seconds)} unix_seconds but {len(prices)} prices")
    factor = _unit_factor(payload.get("unit", "EUR / MWh"))
    if payload.get("deprecated") is True:
        log.warning("Energy-Charts says this /price request is deprecated; check its API notes")
    for i, (second, price) in enumerate(zip(seconds, prices, strict=True)):
        if not isinstance(second, int) or isinstance(second, bool):
            raise TariffError(f"Energy-Charts: unix_seconds[{i}] = {second!r} is not an integer")
        if price is not None and (isinstance(price, bool) or not isinstance(price, int | float)):
            raise TariffError(f"Energy-Charts: price[{i}] = {price!r} is not a number")
    starts = pd.DatetimeIndex(
        pd.to_datetime(np.asarray(seconds, dtype=np.int64), unit="s", utc=True)
    ).as_unit("ns")
    values = np.array([np.nan if p is None else p for p in prices], dtype=np.float64) * factor
    step = _spacing(starts, default_minutes)
    return price_frame(starts, starts + step, values)


def _spacing(starts: pd.DatetimeIndex, default_minutes: int) -> pd.Timedelta:
    if len(starts) < 2:
        return pd.Timedelta(minutes=default_minutes)
    diffs = pd.Series(np.diff(starts.asi8))
    return pd.Timedelta(int(diffs.mode().iloc[0]), unit="ns")


def fetch_payload(
    client: httpx.Client,
    base_url: str,
    zone: str,
    start: datetime,
    end: datetime,
    policy: HttpPolicy = DEFAULT_POLICY,
) -> Any:
    """GET ``/price`` for bidding zone ``zone`` (e.g. ``NL``, ``DE-LU``) over ``[start, end)``."""
    fmt = "%Y-%m-%dT%H:%MZ"
    params = {
        "bzn": zone,
        "start": require_utc(start).strftime(fmt),
        "end": (require_utc(end) - timedelta(minutes=1)).strftime(fmt),
    }
    return get_json(client, f"{base_url.rstrip('/')}/price", params, policy)
