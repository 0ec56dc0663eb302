"""Octopus fetch against a real local HTTP server shaped like api.octopus.energy."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import httpx
import pandas as pd
import pytest

from optimizer.config import Settings, TariffSettings, parse_settings
from optimizer.csvdata import read_series_csv
from optimizer.errors import TariffError
from optimizer.tariffs import fetch_prices, for_planner
from optimizer.tariffs.http import HttpPolicy
from optimizer.tariffs.octopus import fetch_pages, rates_url
from optimizer.timeseries import local_day_bounds
from tests.conftest import DATA
from tests.tariffs.fakeapi import FakeApi, OctopusRates, Reply, agile_rows

IMPORT = "/products/AGILE-24-10-01/electricity-tariffs/E-1R-AGILE-24-10-01-C/standard-unit-rates/"
EXPORT = (
    "/products/AGILE-OUTGOING-19-05-13/electricity-tariffs/E-1R-AGILE-OUTGOING-19-05-13-C/"
    "standard-unit-rates/"
)
STANDING = "/products/AGILE-24-10-01/electricity-tariffs/E-1R-AGILE-24-10-01-C/standing-charges/"
NOW = datetime(2023, 11, 1, tzinfo=UTC)
FAST = HttpPolicy(timeout_s=0.5, retries=2, backoff_s=0.01)


def settings(api: FakeApi, **tariff: object) -> TariffSettings:
    raw = {"api_url": api.base_url + "/", "retries": 2, "retry_backoff_s": 0.01, "timeout_s": 0.5}
    result: Settings = parse_settings({"tariff": raw | tariff})
    return result.tariff


def real(file: str, start: datetime, end: datetime) -> pd.Series:
    series = read_series_csv(DATA / file)
    return series[(series.index >= start) & (series.index < end)]


def serve_real(api: FakeApi, start: datetime, end: datetime, drop: int = 0) -> None:
    imports = real("agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv", start, end)
    exports = real("agile-outgoing-export-C-london-2019-05_2024-03.csv", start, end)
    if drop:
        imports = imports.drop(imports.index[10 : 10 + drop])
    api.routes[IMPORT] = OctopusRates(api, IMPORT, agile_rows(imports))
    api.routes[EXPORT] = OctopusRates(api, EXPORT, agile_rows(exports, vat=1.0))
    api.routes[STANDING] = lambda q: Reply.json(
        {"count": 1, "next": None, "previous": None, "results": [
            {"value_exc_vat": 40.0, "value_inc_vat": 42.0, "valid_from": "2023-04-01T00:00:00Z",
             "valid_to": None, "payment_method": None}]}
    )  # fmt: skip


def test_a_week_over_several_pages_comes_back_whole_and_ascending(api: FakeApi) -> None:
    start, end = datetime(2023, 5, 1, tzinfo=UTC), datetime(2023, 5, 8, tzinfo=UTC)
    serve_real(api, start, end)
    prices = fetch_prices(settings(api), httpx.Client(), start, end, NOW)
    assert api.count(IMPORT) == 4  # 336 slots at 100 per page, newest first
    frame = prices.import_prices.frame
    assert len(frame) == 336
    assert frame.index.is_monotonic_increasing
    expected = real("agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv", start, end) / 100
    pd.testing.assert_series_equal(
        prices.import_prices.prices, expected.rename("price_per_kwh"), check_index_type=False,
        check_names=False, check_freq=False,
    )  # fmt: skip
    assert prices.export_prices is not None
    assert len(prices.export_prices.frame) == 336
    assert prices.standing_charge_per_day == pytest.approx(0.42)
    assert prices.import_prices.tariff == "E-1R-AGILE-24-10-01-C"
    assert prices.import_prices.fetched_at == NOW
    first_query = api.calls[0][1]
    assert first_query["period_from"] == "2023-05-01T00:00:00Z"
    assert first_query["page_size"] == "1500"


@pytest.mark.parametrize(("day", "slots"), [(date(2023, 3, 26), 46), (date(2023, 10, 29), 50)])
def test_dst_days_have_46_and_50_slots(api: FakeApi, day: date, slots: int) -> None:
    start, end = local_day_bounds(day, "Europe/London")
    rows = agile_rows(real("agile-outgoing-export-C-london-2019-05_2024-03.csv", start, end))
    api.routes[IMPORT] = OctopusRates(api, IMPORT, rows)
    api.routes[STANDING] = lambda q: Reply.json({"count": 0, "next": None, "results": []})
    prices = fetch_prices(settings(api, export_product=""), httpx.Client(), start, end, NOW)
    assert prices.export_prices is None
    checked = for_planner(settings(api), prices.import_prices, start, end)
    assert len(checked.frame) == slots
    assert checked.frame.index[0] == start
    assert checked.frame["end"].iloc[-1] == end


def test_full_tariff_code_is_used_in_the_url(api: FakeApi) -> None:
    path = IMPORT.replace("E-1R-AGILE-24-10-01-C", "E-1R-AGILE-24-10-01-J")
    start, end = datetime(2023, 5, 1, tzinfo=UTC), datetime(2023, 5, 2, tzinfo=UTC)
    rows = agile_rows(real("agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv", start, end))
    api.routes[path] = OctopusRates(api, path, rows)
    tariff = settings(api, import_tariff="E-1R-AGILE-24-10-01-J", export_product="")
    prices = fetch_prices(tariff, httpx.Client(), start, end, NOW)
    assert prices.import_prices.tariff == "E-1R-AGILE-24-10-01-J"
    assert len(prices.import_prices.frame) == 48
    assert prices.standing_charge_per_day is None  # 404 on standing charges: warned, not fatal


def test_gap_is_rejected_naming_the_first_missing_slot(api: FakeApi) -> None:
    start, end = datetime(2023, 5, 1, tzinfo=UTC), datetime(2023, 5, 2, tzinfo=UTC)
    serve_real(api, start, end, drop=4)
    prices = fetch_prices(settings(api), httpx.Client(), start, end, NOW)
    assert len(prices.import_prices.frame) == 44
    with pytest.raises(TariffError, match=r"4 missing slot\(s\) \(first 2023-05-01T05:00Z\)"):
        for_planner(settings(api), prices.import_prices, start, end)


def test_gap_is_filled_from_static_fallback_with_a_warning(
    api: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    start, end = datetime(2023, 5, 1, tzinfo=UTC), datetime(2023, 5, 2, tzinfo=UTC)
    serve_real(api, start, end, drop=4)
    tariff = settings(api, on_invalid="fallback", static_import_per_kwh=0.3)
    prices = fetch_prices(tariff, httpx.Client(), start, end, NOW)
    checked = for_planner(tariff, prices.import_prices, start, end)
    assert len(checked.frame) == 48
    assert (checked.prices.iloc[10:14] == 0.3).all()
    assert checked.prices.iloc[9] != 0.3
    assert any("filled 4 slot(s) from static" in w for w in checked.warnings)
    assert "filled 4 slot(s)" in caplog.text


def test_zero_glitch_day_is_rejected(api: FakeApi) -> None:
    start, end = local_day_bounds(date(2023, 6, 1), "Europe/London")
    series = real("agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv", start, end) * 0.0
    api.routes[IMPORT] = OctopusRates(api, IMPORT, agile_rows(series))
    prices = fetch_prices(settings(api, export_product=""), httpx.Client(), start, end, NOW)
    with pytest.raises(TariffError, match=r"48 zero-run slot\(s\) \(first 2023-05-31T23:00Z\)"):
        for_planner(settings(api), prices.import_prices, start, end)


def test_5xx_is_retried_with_backoff_then_succeeds(api: FakeApi) -> None:
    start, end = datetime(2023, 5, 1, tzinfo=UTC), datetime(2023, 5, 2, tzinfo=UTC)
    serve_real(api, start, end)
    api.script(
        IMPORT, Reply(503, b"Service Unavailable", "text/plain"), Reply(502, b"", "text/plain")
    )
    url = rates_url(api.base_url, "AGILE-24-10-01", "E-1R-AGILE-24-10-01-C")
    pages = fetch_pages(httpx.Client(), url, start, end, FAST)
    assert len(pages[0]["results"]) == 48
    assert api.count(IMPORT) == 3


def test_5xx_forever_gives_up_after_a_bounded_number_of_attempts(api: FakeApi) -> None:
    api.routes[IMPORT] = lambda q: Reply(500, b"oops", "text/plain")
    url = rates_url(api.base_url, "AGILE-24-10-01", "E-1R-AGILE-24-10-01-C")
    start = datetime(2023, 5, 1, tzinfo=UTC)
    with pytest.raises(TariffError, match=r"HTTP 500 \(gave up after 3 attempts\)"):
        fetch_pages(httpx.Client(), url, start, start + timedelta(days=1), FAST)
    assert api.count(IMPORT) == 3


def test_timeouts_are_retried_and_bounded(api: FakeApi) -> None:
    start, end = datetime(2023, 5, 1, tzinfo=UTC), datetime(2023, 5, 2, tzinfo=UTC)
    serve_real(api, start, end)
    api.script(IMPORT, Reply(200, b"{}", delay_s=1.0))
    url = rates_url(api.base_url, "AGILE-24-10-01", "E-1R-AGILE-24-10-01-C")
    policy = HttpPolicy(timeout_s=0.2, retries=2, backoff_s=0.01)
    assert len(fetch_pages(httpx.Client(), url, start, end, policy)[0]["results"]) == 48
    api.script(IMPORT, *[Reply(200, b"{}", delay_s=5.0)] * 3)
    began = time.monotonic()
    with pytest.raises(TariffError, match=r"timed out after 0.2 s \(gave up after 3 attempts\)"):
        fetch_pages(httpx.Client(), url, start, end, policy)
    assert time.monotonic() - began < 4  # three 5-s replies would take 15 s


def test_malformed_body_fails_at_once_without_retry(api: FakeApi) -> None:
    api.routes[IMPORT] = lambda q: Reply(200, b"<html>maintenance</html>", "text/html")
    url = rates_url(api.base_url, "AGILE-24-10-01", "E-1R-AGILE-24-10-01-C")
    start = datetime(2023, 5, 1, tzinfo=UTC)
    with pytest.raises(TariffError, match="body is not valid JSON"):
        fetch_pages(httpx.Client(), url, start, start + timedelta(days=1), FAST)
    assert api.count(IMPORT) == 1


def test_404_is_not_retried_and_names_the_url(api: FakeApi) -> None:
    url = rates_url(api.base_url, "NOPE", "E-1R-NOPE-C")
    start = datetime(2023, 5, 1, tzinfo=UTC)
    with pytest.raises(TariffError, match=r"E-1R-NOPE-C/standard-unit-rates/.*HTTP 404"):
        fetch_pages(httpx.Client(), url, start, start + timedelta(days=1), FAST)
    assert len(api.calls) == 1


def test_next_link_that_loops_is_refused(api: FakeApi) -> None:
    url = rates_url(api.base_url, "AGILE-24-10-01", "E-1R-AGILE-24-10-01-C")
    api.routes[IMPORT] = lambda q: Reply.json({"count": 1, "next": url, "results": []})
    start = datetime(2023, 5, 1, tzinfo=UTC)
    with pytest.raises(TariffError, match="pagination does not end"):
        fetch_pages(httpx.Client(), url, start, start + timedelta(days=1), FAST)


def test_connection_refused_is_a_tariff_error() -> None:
    url = "http://127.0.0.1:9/products/X/electricity-tariffs/Y/standard-unit-rates/"
    start = datetime(2023, 5, 1, tzinfo=UTC)
    with pytest.raises(TariffError, match="could not connect"):
        fetch_pages(httpx.Client(), url, start, start + timedelta(days=1), FAST)


def test_next_link_to_another_server_is_not_followed(api: FakeApi) -> None:
    url = rates_url(api.base_url, "AGILE-24-10-01", "E-1R-AGILE-24-10-01-C")
    elsewhere = "https://example.invalid/v1/products/X/"
    api.routes[IMPORT] = lambda q: Reply.json({"count": 2, "next": elsewhere, "results": []})
    start = datetime(2023, 5, 1, tzinfo=UTC)
    with pytest.raises(TariffError, match="'next' points to another server"):
        fetch_pages(httpx.Client(), url, start, start + timedelta(days=1), FAST)
