"""Pick the configured source, fetch import and export prices, and check them for the planner.

``fetch_prices`` does the I/O (through the injected ``httpx.Client``); the parsing it calls is
pure. ``for_planner`` applies validation and the reject/fallback policy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd

from optimizer.config import TariffSettings
from optimizer.errors import TariffError
from optimizer.tariffs import energycharts, entsoe, octopus
from optimizer.tariffs.http import HttpPolicy
from optimizer.tariffs.model import END, PRICE, PriceSeries, price_frame
from optimizer.tariffs.retail import RetailFormula
from optimizer.tariffs.static import csv_frame, static_frame
from optimizer.tariffs.validate import Rules, checked
from optimizer.timeseries import require_utc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TariffPrices:
    """Import prices, export prices (``None`` without an export tariff), and the standing charge
    in currency units per day (Octopus only)."""

    import_prices: PriceSeries
    export_prices: PriceSeries | None
    standing_charge_per_day: float | None = None

    def both(self) -> list[PriceSeries]:
        """Import prices, then export prices if there are any."""
        return [self.import_prices, *([self.export_prices] if self.export_prices else [])]


def http_policy(settings: TariffSettings) -> HttpPolicy:
    """The HTTP timeout and retry policy from ``[tariff]``."""
    return HttpPolicy(settings.timeout_s, settings.retries, settings.retry_backoff_s)


def rules(settings: TariffSettings) -> Rules:
    """The validation rules from ``[tariff]``."""
    return Rules(settings.min_price_per_kwh, settings.max_price_per_kwh, settings.zero_run_hours)


def formula(settings: TariffSettings) -> RetailFormula:
    """The retail formula from ``[tariff]``."""
    return RetailFormula(
        settings.retail_multiplier,
        settings.retail_adder_per_kwh,
        settings.vat_pct,
        settings.export_multiplier,
        settings.export_adder_per_kwh,
    )


def _window(frame: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    return frame[(frame.index >= start) & (frame.index < end)]


def _octopus(
    settings: TariffSettings, client: httpx.Client, start: datetime, end: datetime, now: datetime
) -> TariffPrices:
    policy, method = http_policy(settings), settings.payment_method
    code = settings.import_code()
    url = octopus.rates_url(settings.api_url, settings.import_product, code)
    pages = octopus.fetch_pages(client, url, start, end, policy)
    imports = PriceSeries("octopus", code, octopus.parse_rates(pages, start, end, method), now)
    exports = None
    if settings.export_code():
        url = octopus.rates_url(settings.api_url, settings.export_product, settings.export_code())
        pages = octopus.fetch_pages(client, url, start, end, policy)
        frame = octopus.parse_rates(pages, start, end, method)
        exports = PriceSeries("octopus", settings.export_code(), frame, now)
    standing = _standing_charge(settings, client, start, end, now)
    return TariffPrices(imports, exports, standing)


def _standing_charge(
    settings: TariffSettings, client: httpx.Client, start: datetime, end: datetime, now: datetime
) -> float | None:
    """Currency units per day in force at ``start``; ``None`` (with a warning) if unavailable."""
    kind = "standing-charges"
    url = octopus.rates_url(settings.api_url, settings.import_product, settings.import_code(), kind)
    try:
        pages = octopus.fetch_pages(client, url, start, end, http_policy(settings))
        return octopus.standing_charge_per_day(pages, start, settings.payment_method)
    except TariffError as exc:
        log.warning("standing charge not available: %s", exc)
        return None


def _eu(
    settings: TariffSettings, spot: pd.DataFrame, now: datetime, published: datetime | None
) -> TariffPrices:
    """Spot EUR/MWh frame → retail import and export series."""
    retail = formula(settings)
    source = settings.source
    ends, values = spot[END], spot[PRICE].to_numpy()
    imports = price_frame(spot.index, ends, retail.import_per_kwh(values))
    exports = price_frame(spot.index, ends, retail.export_per_kwh(values))
    return TariffPrices(
        PriceSeries(source, settings.import_code(), imports, now, published),
        PriceSeries(source, settings.export_code(), exports, now, published),
    )


EU_SOURCES = ("entsoe", "energy-charts")


def _minute(hhmm: str) -> int:
    return int(hhmm[3:5])


def _static(
    settings: TariffSettings, start: datetime, end: datetime, now: datetime
) -> TariffPrices:
    minutes = settings.resolution_minutes if settings.source in EU_SOURCES else 30
    bands = (*settings.static_import_bands, *settings.static_export_bands)
    if any(_minute(b.start) % minutes or _minute(b.end) % minutes for b in bands):
        minutes = 15
    tz = settings.timezone
    imports = static_frame(
        settings.static_import_bands, settings.static_import_per_kwh, tz, start, end, minutes
    )
    exports = static_frame(
        settings.static_export_bands, settings.static_export_per_kwh, tz, start, end, minutes
    )
    return TariffPrices(
        PriceSeries("static", "static-import", imports, now),
        PriceSeries("static", "static-export", exports, now),
    )


def _csv(settings: TariffSettings, start: datetime, end: datetime, now: datetime) -> TariffPrices:
    imports = csv_frame(Path(settings.import_csv), settings.csv_unit, start, end)
    exports = None
    if settings.export_csv:
        frame = csv_frame(Path(settings.export_csv), settings.csv_unit, start, end)
        exports = PriceSeries("csv", settings.export_code(), frame, now)
    return TariffPrices(PriceSeries("csv", settings.import_code(), imports, now), exports)


def fetch_prices(
    settings: TariffSettings, client: httpx.Client, start: datetime, end: datetime, now: datetime
) -> TariffPrices:
    """Prices for slots starting in ``[start, end)`` (UTC) from ``settings.source``, unchecked."""
    start, end, now = require_utc(start, "start"), require_utc(end, "end"), require_utc(now, "now")
    if end <= start:
        raise TariffError(f"window {start:%Y-%m-%dT%H:%MZ} to {end:%Y-%m-%dT%H:%MZ} is empty")
    if settings.source == "octopus":
        return _octopus(settings, client, start, end, now)
    if settings.source == "entsoe":
        body = entsoe.fetch_document(
            client, settings.entsoe_url, settings.entsoe_token(), settings.bidding_zone,
            start, end, http_policy(settings),
        )  # fmt: skip
        frame = entsoe.pick_resolution(entsoe.parse_document(body), settings.resolution_minutes)
        return _eu(settings, _window(frame, start, end), now, entsoe.created_at(body))
    if settings.source == "energy-charts":
        payload = energycharts.fetch_payload(
            client, settings.energy_charts_url, settings.bidding_zone, start, end,
            http_policy(settings),
        )  # fmt: skip
        frame = energycharts.parse_prices(payload, settings.resolution_minutes)
        return _eu(settings, _window(frame, start, end), now, None)
    if settings.source == "static":
        return _static(settings, start, end, now)
    return _csv(settings, start, end, now)


def fallback_series(
    settings: TariffSettings, start: datetime, end: datetime, now: datetime, export: bool
) -> PriceSeries:
    """The configured fallback (static bands or the CSV file) over ``[start, end)``."""
    if settings.fallback == "csv":
        path = settings.export_csv if export else settings.import_csv
        return PriceSeries("csv", path, csv_frame(path, settings.csv_unit, start, end), now)
    prices = _static(settings, start, end, now)
    chosen = prices.export_prices if export else prices.import_prices
    if chosen is None:  # pragma: no cover - _static always builds both
        raise TariffError("static fallback has no export prices")
    return chosen


def for_planner(
    settings: TariffSettings,
    series: PriceSeries,
    start: datetime,
    end: datetime,
    export: bool = False,
    step: timedelta | None = None,
) -> PriceSeries:
    """``series`` checked over ``[start, end)``: rejected, or filled from the fallback."""
    fallback = None
    if settings.on_invalid == "fallback":
        fallback = fallback_series(settings, start, end, series.fetched_at, export)
    gap = pd.Timedelta(step) if step is not None else None
    return checked(series, start, end, rules(settings), fallback, gap)
