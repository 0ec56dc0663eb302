"""Static time-of-use bands (local time, DST-correct, weekday/weekend) and CSV price files."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pandas as pd
import pytest

from optimizer.config import TouBand, parse_settings
from optimizer.errors import ConfigError, TariffError
from optimizer.tariffs import fetch_prices
from optimizer.tariffs.static import csv_frame, static_frame
from optimizer.timeseries import local_day_bounds
from tests.conftest import DATA

GO = [TouBand(start="00:30", end="05:30", price=0.085)]
ECONOMY7 = [TouBand(start="23:30", end="06:30", price=0.12)]
NOW = datetime(2024, 1, 1, tzinfo=UTC)


def cheap_local_times(frame: pd.DataFrame, below: float) -> list[str]:
    local = frame.index[frame["price_per_kwh"] < below].tz_convert("Europe/London")
    return [t.strftime("%H:%M") for t in local]


@pytest.mark.parametrize(
    ("day", "slots", "cheap"),
    [(date(2023, 6, 1), 48, 10), (date(2023, 3, 26), 46, 8), (date(2023, 10, 29), 50, 12)],
)
def test_go_band_follows_local_clock_through_dst(day: date, slots: int, cheap: int) -> None:
    start, end = local_day_bounds(day, "Europe/London")
    frame = static_frame(GO, 0.30, "Europe/London", start, end)
    assert len(frame) == slots
    times = cheap_local_times(frame, 0.1)
    assert len(times) == cheap
    assert times[0] == "00:30"
    assert times[-1] == "05:00"


def test_band_that_wraps_midnight() -> None:
    start, end = local_day_bounds(date(2023, 6, 1), "Europe/London")
    frame = static_frame(ECONOMY7, 0.30, "Europe/London", start, end)
    times = cheap_local_times(frame, 0.2)
    assert times[:2] == ["00:00", "00:30"]
    assert times[-1] == "23:30"
    assert len(times) == 14


def test_weekday_and_weekend_bands_and_later_band_wins() -> None:
    bands = [
        TouBand(days="weekday", start="16:00", end="19:00", price=0.40),
        TouBand(days="weekend", start="00:00", end="00:00", price=0.15),
        TouBand(days="all", start="17:00", end="17:30", price=0.50),
    ]
    friday, saturday = date(2024, 1, 5), date(2024, 1, 6)
    lo, hi = (
        local_day_bounds(friday, "Europe/London")[0],
        local_day_bounds(saturday, "Europe/London")[1],
    )
    frame = static_frame(bands, 0.25, "Europe/London", lo, hi)
    fri = frame["price_per_kwh"].iloc[:48]
    sat = frame["price_per_kwh"].iloc[48:]
    assert (fri.iloc[32:34] == 0.40).all()
    assert fri.iloc[34] == 0.50
    assert fri.iloc[38] == 0.25
    assert (sat.drop(sat.index[34]) == 0.15).all()
    assert sat.iloc[34] == 0.50


def test_static_source_from_config_toml_section() -> None:
    settings = parse_settings(
        {
            "tariff": {
                "source": "static",
                "static_import_per_kwh": 0.2745,
                "static_import_bands": [{"start": "00:30", "end": "05:30", "price": 0.085}],
                "static_export_per_kwh": 0.15,
            }
        }
    )
    start, end = local_day_bounds(date(2023, 10, 29), "Europe/London")
    prices = fetch_prices(settings.tariff, httpx.Client(), start, end, NOW)
    assert len(prices.import_prices.frame) == 50
    assert prices.export_prices is not None
    assert (prices.export_prices.prices == 0.15).all()


def test_bad_band_is_named() -> None:
    with pytest.raises(ConfigError, match=r"tariff.static_import_bands.0.end = '24:00'"):
        parse_settings(
            {"tariff": {"static_import_bands": [{"start": "00:30", "end": "24:00", "price": 0.1}]}}
        )


def test_csv_source_converts_pence_and_keeps_the_window() -> None:
    file = DATA / "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv"
    start, end = datetime(2022, 11, 1, tzinfo=UTC), datetime(2022, 11, 1, 1, tzinfo=UTC)
    frame = csv_frame(file, "p/kWh", start, end)
    assert list(frame["price_per_kwh"].round(6)) == [0.1261, 0.1848]
    settings = parse_settings({"tariff": {"source": "csv", "import_csv": str(file)}})
    prices = fetch_prices(settings.tariff, httpx.Client(), start, end, NOW)
    assert prices.import_prices.tariff == "csv-import"
    assert prices.export_prices is None


def test_csv_errors_name_the_file() -> None:
    with pytest.raises(TariffError, match=r"nope\.csv: file not found"):
        csv_frame("nope.csv", "p/kWh", NOW, NOW)
    with pytest.raises(TariffError, match="price unit 'p/MWh'"):
        csv_frame(
            DATA / "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv", "p/MWh", NOW, NOW
        )
