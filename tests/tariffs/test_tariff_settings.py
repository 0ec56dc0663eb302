"""``[tariff]`` and ``[store]`` settings: defaults, codes, and errors that name the key."""

from __future__ import annotations

from datetime import date

import httpx
import numpy as np
import pytest

from optimizer.config import parse_settings
from optimizer.errors import ConfigError
from optimizer.tariffs import fetch_prices, for_planner
from optimizer.timeseries import local_day_bounds
from tests.tariffs.fakeapi import FakeApi, Reply


def test_defaults_build_octopus_codes() -> None:
    tariff = parse_settings({}).tariff
    assert tariff.import_code() == "E-1R-AGILE-24-10-01-C"
    assert tariff.export_code() == "E-1R-AGILE-OUTGOING-19-05-13-C"
    no_export = parse_settings({"tariff": {"export_product": ""}}).tariff
    assert no_export.export_code() == ""
    region = parse_settings({"tariff": {"region": "p"}}).tariff
    assert region.import_code() == "E-1R-AGILE-24-10-01-P"


@pytest.mark.parametrize(
    ("tariff", "message"),
    [
        ({"region": "I"}, "tariff.region = 'I': must be one GSP region letter"),
        ({"source": "csv"}, 'source = "csv" needs import_csv'),
        ({"import_tariff": "E-1R-AGILE 24"}, "tariff.import_tariff = 'E-1R-AGILE 24'"),
        ({"min_price_per_kwh": 3.0}, "min_price_per_kwh must be below max_price_per_kwh"),
        ({"timezone": "Mars/Olympus"}, "tariff.timezone = 'Mars/Olympus'"),
        ({"csv_unit": "p/MWh"}, "tariff.csv_unit = 'p/MWh': must be one of"),
        ({"publish_time": "4pm"}, "tariff.publish_time = '4pm'"),
        ({"vat_pct": -5}, "tariff.vat_pct = -5"),
        ({"resolution_minutes": 20}, "tariff.resolution_minutes = 20"),
        ({"on_invalid": "ignore"}, "tariff.on_invalid = 'ignore'"),
        (
            {"static_import_bands": [{"start": "00:10", "end": "05:30", "price": 0.1}]},
            "tariff.static_import_bands.0.start = '00:10': must be on a quarter hour",
        ),
        ({"colour": "blue"}, "tariff.colour: unknown key"),
    ],
)
def test_bad_tariff_settings_name_the_key(tariff: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as failure:
        parse_settings({"tariff": tariff})
    assert message in str(failure.value)


def test_store_url_must_be_sqlite_or_postgresql() -> None:
    with pytest.raises(ConfigError, match=r"store\.url = 'mysql://x'"):
        parse_settings({"store": {"url": "mysql://x"}})
    assert (
        parse_settings({"store": {"url": "postgresql://u@h/db"}}).store.url == "postgresql://u@h/db"
    )


@pytest.mark.parametrize(("day", "slots"), [(date(2025, 3, 30), 92), (date(2025, 10, 26), 100)])
def test_energy_charts_15_minute_dst_days(api: FakeApi, day: date, slots: int) -> None:
    start, end = local_day_bounds(day, "Europe/Berlin")
    seconds = list(range(int(start.timestamp()), int(end.timestamp()), 900))
    body = {"unix_seconds": seconds, "price": [80.0 + i % 7 for i in range(len(seconds))]}
    api.routes["/price"] = lambda q: Reply.json(body | {"unit": "EUR / MWh", "deprecated": False})
    tariff = parse_settings(
        {
            "tariff": {
                "source": "energy-charts", "bidding_zone": "DE-LU", "resolution_minutes": 15,
                "energy_charts_url": api.base_url, "timezone": "Europe/Berlin",
            }
        }
    ).tariff  # fmt: skip
    prices = fetch_prices(tariff, httpx.Client(), start, end, start)
    checked = for_planner(tariff, prices.import_prices, start, end)
    assert len(checked.frame) == slots
    assert checked.prices.iloc[0] == pytest.approx(0.08)


def test_export_gap_is_filled_from_static_export_prices() -> None:
    settings = parse_settings(
        {"tariff": {"source": "static", "on_invalid": "fallback", "static_export_per_kwh": 0.04}}
    ).tariff
    start, end = local_day_bounds(date(2024, 1, 10), "Europe/London")
    prices = fetch_prices(settings, httpx.Client(), start, end, start)
    assert prices.export_prices is not None
    holed = prices.export_prices.with_frame(prices.export_prices.frame.iloc[2:])
    holed.frame.iloc[5, 1] = np.nan
    filled = for_planner(settings, holed, start, end, export=True)
    assert len(filled.frame) == 48
    assert (filled.prices == 0.04).all()
    assert "filled 3 slot(s) from static" in filled.warnings[-1]
