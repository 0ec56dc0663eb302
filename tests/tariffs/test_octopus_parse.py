"""Octopus parsers on recorded fixtures: units, order, DST days, payment methods, bad rows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from optimizer.errors import TariffError
from optimizer.tariffs import octopus
from optimizer.timeseries import local_day_bounds
from tests.tariffs.conftest import fixture_json

OUTGOING = "octopus_E-1R-AGILE-OUTGOING-19-05-13-C_2023-10-29_page{}.json"
IMPORT = "octopus_E-1R-AGILE-FLEX-22-11-25-C_2023-03-26_page1.json"


def test_tariff_code_from_product_and_region() -> None:
    assert octopus.tariff_code("AGILE-24-10-01", "C") == "E-1R-AGILE-24-10-01-C"


def test_two_newest_first_pages_of_the_autumn_dst_day_give_50_ascending_slots() -> None:
    pages = [fixture_json(OUTGOING.format(n)) for n in (1, 2)]
    start, end = local_day_bounds(date(2023, 10, 29), "Europe/London")
    frame = octopus.parse_rates(pages, start, end)
    assert len(frame) == 50
    assert frame.index.is_monotonic_increasing
    assert frame.index[0] == start
    assert frame["end"].iloc[-1] == end
    assert (frame["end"] - frame.index == np.timedelta64(30, "m")).all()
    newest = pages[0]["results"][0]
    assert frame["price_per_kwh"].iloc[-1] == pytest.approx(newest["value_inc_vat"] / 100)


def test_spring_dst_day_has_46_slots_in_pounds() -> None:
    start, end = local_day_bounds(date(2023, 3, 26), "Europe/London")
    frame = octopus.parse_rates([fixture_json(IMPORT)], start, end)
    assert len(frame) == 46
    first = fixture_json(IMPORT)["results"][-1]
    assert frame["price_per_kwh"].iloc[0] == pytest.approx(first["value_inc_vat"] * 0.01)
    assert str(frame.index.tz) == "UTC"


def test_direct_debit_wins_and_open_ended_rate_runs_to_window_end() -> None:
    page = fixture_json("octopus_flexible_payment_methods.json")
    start = datetime(2024, 3, 31, 22, tzinfo=UTC)
    end = datetime(2024, 4, 1, 0, tzinfo=UTC)
    frame = octopus.parse_rates([page], start, end)
    assert len(frame) == 4
    # 22:00-23:00Z: the old rate (valid_to 23:00Z); from 23:00Z (= 00:00+01:00) the new one
    assert list(frame["price_per_kwh"].round(5)) == [0.252, 0.252, 0.231, 0.231]


def test_non_direct_debit_when_asked() -> None:
    page = fixture_json("octopus_flexible_payment_methods.json")
    start, end = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 1, 1, tzinfo=UTC)
    frame = octopus.parse_rates([page], start, end, preferred="NON_DIRECT_DEBIT")
    assert list(frame["price_per_kwh"].round(5)) == [0.24675, 0.24675]


def test_standing_charge_in_force_per_day() -> None:
    page = fixture_json("octopus_standing_charges.json")
    summer = datetime(2023, 6, 1, tzinfo=UTC)
    winter = datetime(2024, 1, 1, tzinfo=UTC)
    assert octopus.standing_charge_per_day([page], summer) == pytest.approx(0.42)
    assert octopus.standing_charge_per_day([page], winter) == pytest.approx(0.4725)
    assert octopus.standing_charge_per_day([page], datetime(2020, 1, 1, tzinfo=UTC)) is None


def test_malformed_value_names_page_row_and_field() -> None:
    page = fixture_json("octopus_malformed_value.json")
    with pytest.raises(TariffError, match=r"page 1\.results\[1\]\.value_inc_vat = '18.5p'"):
        octopus.parse_rates(
            [page], datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 1, 16, tzinfo=UTC)
        )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "expected an object with a 'results' list"),
        ({"results": [{"value_inc_vat": 1.0}]}, "missing field 'valid_from'"),
        ({"results": [1]}, r"results\[0\]: expected an object"),
        ({"results": [], "next": 3}, "next = 3: not a URL"),
        (
            {"results": [{"value_inc_vat": 1, "valid_from": "yesterday", "valid_to": None}]},
            "not an ISO-8601 time",
        ),
        (
            {
                "results": [
                    {"value_inc_vat": 1, "valid_from": "2024-01-01T00:00:00", "valid_to": None}
                ]
            },
            "no time zone",
        ),
        (
            {
                "results": [
                    {
                        "value_inc_vat": 1,
                        "valid_from": "2024-01-01T01:00Z",
                        "valid_to": "2024-01-01T00:00Z",
                    }
                ]
            },
            "not after valid_from",
        ),
    ],
)
def test_bad_shapes_are_named(payload: object, message: str) -> None:
    with pytest.raises(TariffError, match=message):
        octopus.parse_page(payload)


def test_overlapping_rates_later_start_wins() -> None:
    rates = [
        octopus.Rate(datetime(2024, 1, 1, tzinfo=UTC), None, 10.0, None),
        octopus.Rate(datetime(2024, 1, 1, 0, 30, tzinfo=UTC), None, 20.0, None),
    ]
    frame = octopus.rates_to_frame(
        rates, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 1, 30, tzinfo=UTC)
    )
    assert list(frame["price_per_kwh"]) == [0.1, 0.2, 0.2]


def test_window_with_no_rates_is_empty() -> None:
    frame = octopus.rates_to_frame(
        [], datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    )
    assert frame.empty
