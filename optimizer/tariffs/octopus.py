"""Octopus Energy unit rates and standing charges: pure parsing plus a paginated fetch.

Rates arrive in p/kWh (standing charges in p/day), newest first, possibly over several pages
linked by ``next``. Parsing turns them into 30-minute slots in currency units (× 0.01).
Duplicated periods differ only in ``payment_method``: the configured one wins
(``DIRECT_DEBIT`` by default), then rates without a payment method, then the rest.
An open-ended rate (``valid_to = null``) runs to the end of the requested window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pandas as pd

from optimizer.errors import InvalidInput, TariffError
from optimizer.tariffs.http import DEFAULT_POLICY, HttpPolicy, get_json
from optimizer.tariffs.model import price_frame
from optimizer.timeseries import parse_utc, require_utc

PENCE = 0.01
SLOT = timedelta(minutes=30)
MAX_PAGES = 200


@dataclass(frozen=True, slots=True)
class Rate:
    """One row of an Octopus rate list, in the API's units (p/kWh or p/day, inc. VAT)."""

    valid_from: datetime
    valid_to: datetime | None
    value_inc_vat: float
    payment_method: str | None


def tariff_code(product: str, region: str, register: str = "1R") -> str:
    """``E-1R-<product>-<region>``, e.g. ``E-1R-AGILE-24-10-01-C``."""
    return f"E-{register}-{product}-{region}"


def _field(row: dict[str, Any], key: str, where: str) -> Any:
    if key not in row:
        raise TariffError(f"{where}: missing field {key!r}")
    return row[key]


def _time(row: dict[str, Any], key: str, where: str) -> datetime:
    value = _field(row, key, where)
    if not isinstance(value, str):
        raise TariffError(f"{where}.{key} = {value!r}: not an ISO-8601 time")
    try:
        return parse_utc(value, f"{where}.{key}")
    except InvalidInput as exc:
        raise TariffError(str(exc)) from None


def parse_rate(row: Any, where: str) -> Rate:
    """One ``results[i]`` object; errors name ``where`` and the field."""
    if not isinstance(row, dict):
        raise TariffError(f"{where}: expected an object, got {type(row).__name__}")
    value = _field(row, "value_inc_vat", where)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TariffError(f"{where}.value_inc_vat = {value!r}: not a number")
    valid_from = _time(row, "valid_from", where)
    valid_to = None if row.get("valid_to", "") is None else _time(row, "valid_to", where)
    if valid_to is not None and valid_to <= valid_from:
        raise TariffError(f"{where}: valid_to {valid_to:%Y-%m-%dT%H:%MZ} is not after valid_from")
    method = row.get("payment_method")
    return Rate(valid_from, valid_to, float(value), str(method) if method is not None else None)


def parse_page(payload: Any, where: str = "page") -> tuple[list[Rate], str | None]:
    """The rates of one list page and its ``next`` URL (``None`` on the last page)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise TariffError(f"{where}: expected an object with a 'results' list")
    following = payload.get("next")
    if following is not None and not isinstance(following, str):
        raise TariffError(f"{where}.next = {following!r}: not a URL")
    rates = [parse_rate(row, f"{where}.results[{i}]") for i, row in enumerate(payload["results"])]
    return rates, following


def prefer_payment_method(rates: Iterable[Rate], preferred: str = "DIRECT_DEBIT") -> list[Rate]:
    """One rate per ``valid_from``: ``preferred`` first, then ``None``, then any other method."""

    def rank(rate: Rate) -> int:
        if rate.payment_method == preferred:
            return 0
        return 1 if rate.payment_method is None else 2

    best: dict[datetime, Rate] = {}
    for rate in rates:
        kept = best.get(rate.valid_from)
        if kept is None or rank(rate) < rank(kept):
            best[rate.valid_from] = rate
    return sorted(best.values(), key=lambda r: r.valid_from)


def rates_to_frame(
    rates: Iterable[Rate], start: datetime, end: datetime, preferred: str = "DIRECT_DEBIT"
) -> pd.DataFrame:
    """30-minute slots in ``[start, end)`` in currency units per kWh (p/kWh × 0.01).

    Rates are ordered oldest first whatever order they came in; where two overlap, the one
    that starts later wins for the shared slots.
    """
    start, end = require_utc(start, "start"), require_utc(end, "end")
    starts: list[pd.DatetimeIndex] = []
    values: list[float] = []
    for rate in prefer_payment_method(rates, preferred):
        lo = max(rate.valid_from, start)
        hi = min(rate.valid_to or end, end)
        slots = pd.date_range(lo, hi, freq=SLOT, inclusive="left") if lo < hi else None
        if slots is not None and len(slots):
            starts.append(slots)
            values.extend([rate.value_inc_vat * PENCE] * len(slots))
    if not starts:
        return price_frame([], [], [])
    index = pd.DatetimeIndex(starts[0].append(starts[1:]))
    keep = ~index.duplicated(keep="last")
    kept = pd.DatetimeIndex(index[keep])
    prices = np.asarray(values, dtype=np.float64)[keep]
    return price_frame(kept, kept + pd.Timedelta(SLOT), prices)


def parse_rates(
    pages: Sequence[Any], start: datetime, end: datetime, preferred: str = "DIRECT_DEBIT"
) -> pd.DataFrame:
    """Every page of a ``standard-unit-rates`` list → canonical 30-minute frame."""
    rates: list[Rate] = []
    for number, page in enumerate(pages, start=1):
        rates.extend(parse_page(page, f"page {number}")[0])
    return rates_to_frame(rates, start, end, preferred)


def standing_charge_per_day(
    pages: Sequence[Any], at: datetime, preferred: str = "DIRECT_DEBIT"
) -> float | None:
    """The standing charge in force at ``at``, in currency units per day (p/day × 0.01)."""
    rates: list[Rate] = []
    for number, page in enumerate(pages, start=1):
        rates.extend(parse_page(page, f"page {number}")[0])
    at = require_utc(at, "at")
    for rate in reversed(prefer_payment_method(rates, preferred)):
        if rate.valid_from <= at and (rate.valid_to is None or at < rate.valid_to):
            return rate.value_inc_vat * PENCE
    return None


def _iso(moment: datetime) -> str:
    return require_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def fetch_pages(
    client: httpx.Client,
    url: str,
    start: datetime,
    end: datetime,
    policy: HttpPolicy = DEFAULT_POLICY,
) -> list[Any]:
    """GET a rate list for ``[start, end)`` and follow ``next`` until it is null."""
    params: dict[str, str] | None = {
        "period_from": _iso(start),
        "period_to": _iso(end),
        "page_size": "1500",
    }
    pages: list[Any] = []
    seen: set[str] = set()
    next_url: str | None = url
    while next_url is not None:
        if next_url in seen or len(pages) >= MAX_PAGES:
            raise TariffError(f"GET {url}: pagination does not end (at page {len(pages) + 1})")
        seen.add(next_url)
        page = get_json(client, next_url, params, policy)
        pages.append(page)
        next_url = parse_page(page, f"{next_url} page {len(pages)}")[1]
        if next_url is not None and not _same_origin(next_url, url):
            raise TariffError(f"GET {url}: 'next' points to another server ({next_url})")
        params = None  # ``next`` is a full URL with its own query string
    return pages


def _same_origin(one: str, other: str) -> bool:
    """Same scheme, host and port: ``next`` links are only followed on the API's own server."""
    a, b = httpx.URL(one), httpx.URL(other)
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def rates_url(api_url: str, product: str, tariff: str, kind: str = "standard-unit-rates") -> str:
    """``{api}/products/{product}/electricity-tariffs/{tariff}/{kind}/``."""
    return f"{api_url.rstrip('/')}/products/{product}/electricity-tariffs/{tariff}/{kind}/"
