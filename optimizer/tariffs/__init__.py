"""Tariff sources: Octopus Energy, ENTSO-E, Energy-Charts, static time-of-use bands, CSV files.

Each source returns the canonical ``PriceSeries`` (UTC slot start/end, price per kWh in currency
units, fetched/published time). Fetching (httpx, injected client) is separate from parsing (pure
functions). ``for_planner`` checks a series and applies the reject/fallback policy;
``publication_status`` says when the next day's prices are due and whether they are late.
"""

from optimizer.tariffs.model import PriceSeries, price_frame
from optimizer.tariffs.publication import Publication, publication_status
from optimizer.tariffs.sources import TariffPrices, fetch_prices, for_planner
from optimizer.tariffs.validate import Problem, Rules, checked, find_problems

__all__ = [
    "PriceSeries",
    "Problem",
    "Publication",
    "Rules",
    "TariffPrices",
    "checked",
    "fetch_prices",
    "find_problems",
    "for_planner",
    "price_frame",
    "publication_status",
]
