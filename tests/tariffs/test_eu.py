"""ENTSO-E and Energy-Charts: parsers on recorded fixtures, fetch against the local server."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import numpy as np
import pytest

from optimizer.config import TariffSettings, parse_settings
from optimizer.errors import ConfigError, TariffError
from optimizer.tariffs import fetch_prices, find_problems, for_planner
from optimizer.tariffs.energycharts import parse_prices
from optimizer.tariffs.entsoe import parse_document, pick_resolution, zone_code
from optimizer.tariffs.retail import RetailFormula
from optimizer.tariffs.validate import Rules
from optimizer.timeseries import local_day_bounds
from tests.tariffs.conftest import fixture_bytes, fixture_json
from tests.tariffs.fakeapi import FakeApi, Reply

NOW = datetime(2023, 11, 1, tzinfo=UTC)
TOKEN_ENV = "XSO_TEST_ENTSOE_TOKEN"


def eu_settings(api: FakeApi, source: str, **extra: object) -> TariffSettings:
    raw = {
        "source": source,
        "entsoe_url": api.base_url + "/api",
        "energy_charts_url": api.base_url,
        "entsoe_token_env": TOKEN_ENV,
        "retries": 1,
        "retry_backoff_s": 0.01,
        "timeout_s": 1.0,
        "timezone": "Europe/Amsterdam",
        "publish_time": "13:00",
        "day_start": "00:00",
    }
    return parse_settings({"tariff": raw | extra}).tariff


def test_entsoe_dst_day_has_23_hourly_slots_in_eur_per_mwh() -> None:
    frame = parse_document(fixture_bytes("entsoe_NL_2023-03-26_PT60M.xml"))
    start, end = local_day_bounds(date(2023, 3, 26), "Europe/Amsterdam")
    assert len(frame) == 23
    assert frame.index[0] == start
    assert frame["end"].iloc[-1] == end
    assert frame["price_per_kwh"].iloc[0] == pytest.approx(94.57)  # still EUR/MWh here
    assert set(frame["resolution_min"]) == {60}


def test_entsoe_a03_repeats_missing_positions_and_15_minutes_is_preferred() -> None:
    frame = parse_document(fixture_bytes("entsoe_NL_A03_PT15M.xml"))
    quarter = pick_resolution(frame, 15)
    assert list(quarter["price_per_kwh"]) == [85.12, 85.12, 79.4, 79.4]
    assert (quarter["end"] - quarter.index == np.timedelta64(15, "m")).all()
    hourly = pick_resolution(frame, 60)
    assert list(hourly["price_per_kwh"]) == [82.26]
    assert len(pick_resolution(frame, 30)) == 4  # not offered: the finest


def test_entsoe_acknowledgement_is_reported_with_its_reason() -> None:
    with pytest.raises(TariffError, match="No matching data found"):
        parse_document(fixture_bytes("entsoe_acknowledgement_no_data.xml"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<Publication_MarketDocument><TimeSeries>", "not valid XML"),
        (b"<html/>", "unexpected document 'html'"),
        (
            fixture_bytes("entsoe_NL_2023-03-26_PT60M.xml").replace(
                b"<position>23</position>", b"<position>24</position>"
            ),
            "position 24 outside 1..23",
        ),
        (
            fixture_bytes("entsoe_NL_2023-03-26_PT60M.xml").replace(b"PT60M", b"P1D"),
            "resolution 'P1D'",
        ),
        (
            fixture_bytes("entsoe_NL_2023-03-26_PT60M.xml").replace(b">MWH<", b">KWH<"),
            "price unit 'KWH'",
        ),
        (
            fixture_bytes("entsoe_NL_2023-03-26_PT60M.xml").replace(b"94.57", b"n/a"),
            "price 'n/a'",
        ),
    ],
)
def test_entsoe_malformed_documents_are_named(body: bytes, message: str) -> None:
    with pytest.raises(TariffError, match=message):
        parse_document(body)


def test_zone_codes() -> None:
    assert zone_code("nl") == "10YNL----------L"
    assert zone_code("10Y1001A1001A82H") == "10Y1001A1001A82H"
    with pytest.raises(TariffError, match=r"tariff\.bidding_zone = 'XX'"):
        zone_code("XX")


def test_retail_formula_converts_per_mwh_then_adds_vat() -> None:
    formula = RetailFormula(multiplier=1.1, adder_per_kwh=0.05, vat_pct=21)
    assert formula.import_per_kwh([100.0])[0] == pytest.approx((0.1 * 1.1 + 0.05) * 1.21)
    export = RetailFormula(export_multiplier=0.9, export_adder_per_kwh=-0.01)
    assert export.export_per_kwh([-50.0])[0] == pytest.approx(-0.05 * 0.9 - 0.01)


def test_energy_charts_fall_back_day_has_25_hours_and_null_is_a_named_gap() -> None:
    frame = parse_prices(fixture_json("energy_charts_NL_2023-10-29.json"))
    start, end = local_day_bounds(date(2023, 10, 29), "Europe/Amsterdam")
    assert len(frame) == 25
    assert frame.index[0] == start
    assert frame["end"].iloc[-1] == end
    assert np.isnan(frame["price_per_kwh"].iloc[5])


def test_energy_charts_15_minute_spacing() -> None:
    frame = parse_prices(fixture_json("energy_charts_DE-LU_15min.json"))
    assert len(frame) == 8
    assert (frame["end"] - frame.index == np.timedelta64(15, "m")).all()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2], "expected a JSON object"),
        ({"price": [1.0]}, "'unix_seconds' missing"),
        ({"unix_seconds": [1, 2], "price": [1.0]}, "2 unix_seconds but 1 prices"),
        ({"unix_seconds": [1], "price": ["x"]}, r"price\[0\] = 'x'"),
        ({"unix_seconds": ["1"], "price": [1.0]}, r"unix_seconds\[0\] = '1'"),
        ({"unix_seconds": [1], "price": [1.0], "unit": "GBP / MWh"}, "unit 'GBP / MWh'"),
    ],
)
def test_energy_charts_malformed_payloads_are_named(payload: object, message: str) -> None:
    with pytest.raises(TariffError, match=message):
        parse_prices(payload)


def test_energy_charts_fetch_applies_retail_formula_and_flags_the_null(api: FakeApi) -> None:
    api.routes["/price"] = lambda q: Reply.json(fixture_json("energy_charts_NL_2023-10-29.json"))
    api.script("/price", Reply(503, b"", "text/plain"))
    tariff = eu_settings(
        api, "energy-charts", retail_multiplier=1.0, retail_adder_per_kwh=0.1, vat_pct=21
    )
    start, end = local_day_bounds(date(2023, 10, 29), "Europe/Amsterdam")
    prices = fetch_prices(tariff, httpx.Client(), start, end, NOW)
    assert api.count("/price") == 2  # one 503, then the answer
    query = api.calls[-1][1]
    assert query["bzn"] == "NL"
    assert query["start"] == "2023-10-28T22:00Z"
    imports = prices.import_prices
    assert imports.tariff == "energy-charts-NL-import"
    assert len(imports.frame) == 25
    assert imports.prices.iloc[0] == pytest.approx((5.34 / 1000 + 0.1) * 1.21)
    assert prices.export_prices is not None
    assert prices.export_prices.prices.iloc[1] == pytest.approx(-2.76 / 1000)
    problems = find_problems(imports, start, end, Rules(), imports.frame.index[1] - start)
    assert [(p.kind, p.slot.isoformat()) for p in problems] == [
        ("nan", "2023-10-29T03:00:00+00:00")
    ]
    with pytest.raises(TariffError, match=r"1 nan slot\(s\) \(first 2023-10-29T03:00Z\)"):
        for_planner(tariff, imports, start, end)


def test_entsoe_fetch_sends_the_token_but_never_prints_it(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "secret-token-123")
    api.routes["/api"] = lambda q: Reply(
        200, fixture_bytes("entsoe_NL_2023-03-26_PT60M.xml"), "text/xml"
    )
    tariff = eu_settings(api, "entsoe", vat_pct=9)
    start, end = local_day_bounds(date(2023, 3, 26), "Europe/Amsterdam")
    prices = fetch_prices(tariff, httpx.Client(), start, end, NOW)
    query = api.calls[0][1]
    assert query["securityToken"] == "secret-token-123"
    assert query["documentType"] == "A44"
    assert query["in_Domain"] == "10YNL----------L"
    assert query["periodStart"] == "202303252300"
    assert query["periodEnd"] == "202303262200"
    assert len(prices.import_prices.frame) == 23
    assert prices.import_prices.published_at == datetime(2023, 3, 25, 11, 58, 1, tzinfo=UTC)
    assert prices.import_prices.prices.iloc[0] == pytest.approx(94.57 / 1000 * 1.09)
    api.routes["/api"] = lambda q: Reply(401, b"Unauthorized", "text/plain")
    with pytest.raises(TariffError) as failure:
        fetch_prices(tariff, httpx.Client(), start, end, NOW)
    assert "HTTP 401" in str(failure.value)
    assert "secret-token-123" not in str(failure.value)


def test_entsoe_without_token_names_the_variable(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    tariff = eu_settings(api, "entsoe")
    with pytest.raises(ConfigError, match=f"tariff.entsoe_token_env = {TOKEN_ENV}"):
        fetch_prices(tariff, httpx.Client(), NOW, NOW.replace(day=2), NOW)


def test_energy_charts_deprecated_flag_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    payload = fixture_json("energy_charts_DE-LU_15min.json") | {"deprecated": True}
    parse_prices(payload)
    assert "deprecated" in caplog.text
