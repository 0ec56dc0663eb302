"""``fetch``, ``prices`` and ``import-csv`` through the CLI, against the local fake Octopus API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.csvdata import read_series_csv
from optimizer.store import Store
from tests.conftest import DATA
from tests.tariffs.fakeapi import FakeApi, OctopusRates, Reply, agile_rows
from tests.tariffs.test_octopus_fetch import EXPORT, IMPORT, STANDING

IMPORT_CSV = DATA / "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv"
LOAD_CSV = DATA / "household-consumption-uk-fawkesley-2020-08_2023-12.csv"
runner = CliRunner()


def config(tmp_path: Path, api_url: str = "http://127.0.0.1:9", extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[tariff]\napi_url = "{api_url}"\nretries = 1\nretry_backoff_s = 0.01\n{extra}\n'
        f'[store]\nurl = "sqlite:///{tmp_path / "history.db"}"\n'
    )
    return path


def test_fetch_then_prices_json_and_csv(tmp_path: Path, api: FakeApi) -> None:
    series = read_series_csv(IMPORT_CSV)
    day = series["2023-10-29T02:00Z":"2023-10-29T23:30Z"]  # type: ignore[misc]
    api.routes[IMPORT] = OctopusRates(api, IMPORT, agile_rows(day))
    api.routes[EXPORT] = OctopusRates(api, EXPORT, agile_rows(day * 0.5, vat=1.0))
    api.routes[STANDING] = lambda q: Reply.json({"count": 0, "next": None, "results": []})
    cfg = config(tmp_path, api.base_url)
    window = ["--from", "2023-10-29T00:00Z", "--to", "2023-10-30T00:00Z"]
    done = runner.invoke(app, ["fetch", "--config", str(cfg), *window])
    assert done.exit_code == 0, done.output
    assert "E-1R-AGILE-24-10-01-C: 44 slot(s) fetched; stored 44" in done.output
    assert "4 missing slot(s) (first 2023-10-29T00:00Z)" in done.output  # reported, not hidden
    shown = runner.invoke(app, ["prices", "--config", str(cfg), *window, "--json"])
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.stdout)
    assert len(rows) == 44
    assert rows[0] == {
        "start_utc": "2023-10-29T02:00:00Z",
        "end_utc": "2023-10-29T02:30:00Z",
        "price": pytest.approx(day.iloc[0] / 100),
        "unit": "GBP/kWh",
    }
    as_csv = runner.invoke(app, ["prices", "--config", str(cfg), *window, "--csv", "--export"])
    lines = as_csv.stdout.splitlines()
    assert lines[0] == "start_utc,end_utc,price,unit"  # the JSON's field names
    assert len(lines) == 45
    assert float(lines[1].split(",")[2]) == pytest.approx(day.iloc[0] * 0.5 / 100)
    assert lines[1].split(",")[3] == "GBP/kWh"
    # The unit travels with the file: importing it back stores the same prices (not 100x less,
    # though tariff.csv_unit is p/kWh), and an --unit that contradicts the file is refused.
    saved = tmp_path / "export.csv"
    saved.write_text(as_csv.stdout)
    back = ["import-csv", "--config", str(cfg), "--kind", "price", "--file", str(saved)]
    assert runner.invoke(app, [*back, "--tariff", "COPY"]).exit_code == 0
    original = runner.invoke(app, ["prices", "--config", str(cfg), *window, "--json", "--export"])
    copied = runner.invoke(app, ["prices", "--config", str(cfg), *window, "--json", "--tariff",
                                 "COPY"])  # fmt: skip
    assert json.loads(copied.stdout) == json.loads(original.stdout)
    plain = runner.invoke(app, ["prices", "--config", str(cfg), *window]).stdout.splitlines()
    assert plain[0].split()[-1] == "(GBP/kWh)"  # the header says the unit
    assert len(plain[1].split()[-1].partition(".")[2]) == 8  # 8 decimals, as --help says
    refused = runner.invoke(app, [*back, "--tariff", "X", "--unit", "p/kWh"])
    assert refused.exit_code == 2
    assert "its unit column says GBP/kWh, --unit says p/kWh" in refused.stderr
    again = runner.invoke(app, ["fetch", "--config", str(cfg), *window])
    assert "stored 0 new vintage row(s), 44 unchanged" in again.output


def test_unreachable_source_exits_4_and_stores_nothing(tmp_path: Path, api: FakeApi) -> None:
    api.routes[IMPORT] = lambda q: Reply(503, b"", "text/plain")
    cfg = config(tmp_path, api.base_url)
    done = runner.invoke(
        app,
        ["fetch", "--config", str(cfg), "--from", "2023-10-29T00:00Z", "--to", "2023-10-30T00:00Z"],
    )
    assert done.exit_code == 4  # unreachable, not bad input
    assert "HTTP 503 (gave up after 2 attempts)" in done.output
    with Store(f"sqlite:///{tmp_path / 'history.db'}") as store:
        assert store.tariffs() == []


def test_import_csv_price_and_load(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    args = ["--kind", "price", "--file", str(IMPORT_CSV), "--fetched-at", "2023-12-21T00:00Z"]
    done = runner.invoke(app, ["import-csv", "--config", str(cfg), *args])
    assert done.exit_code == 0, done.output
    assert "19916 row(s); stored 19916" in done.output
    done = runner.invoke(
        app,
        [
            "import-csv",
            "--config",
            str(cfg),
            "--kind",
            "load",
            "--file",
            str(LOAD_CSV),
            "--unit",
            "Wh",
        ],
    )
    assert done.exit_code == 0, done.output
    with Store(f"sqlite:///{tmp_path / 'history.db'}") as store:
        start = datetime(2022, 11, 1, tzinfo=UTC)
        prices = store.prices("E-1R-AGILE-24-10-01-C", start, datetime(2022, 11, 2, tzinfo=UTC))
        assert prices.iloc[0] == pytest.approx(0.1261)
        known = store.price_frame("E-1R-AGILE-24-10-01-C", start, start + pd.Timedelta(hours=1))
        assert known["fetched_at"].iloc[0] == datetime(2023, 12, 21, tzinfo=UTC)
        load = store.load_series("load", start, datetime(2022, 11, 2, tzinfo=UTC))
        expected = read_series_csv(LOAD_CSV)[pd.Timestamp(start) :].iloc[0] / 1000
        assert load.iloc[0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["prices", "--from", "yesterday", "--to", "2023-10-30T00:00Z"], "--from 'yesterday'"),
        (["prices", "--from", "2023-10-30T00:00Z", "--to", "2023-10-29T00:00Z"], "must be after"),
        (["import-csv", "--kind", "pv", "--file", "missing.csv"], "missing.csv: file not found"),
        (
            ["import-csv", "--kind", "load", "--file", str(LOAD_CSV), "--unit", "MWh"],
            "energy unit 'MWh'",
        ),
        (
            ["import-csv", "--kind", "price", "--file", str(IMPORT_CSV), "--unit", "p/MWh"],
            "price unit",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = runner.invoke(app, [*args[:1], "--config", str(config(tmp_path)), *args[1:]])
    assert done.exit_code == 2
    assert message in done.output


def test_bad_settings_exit_2_naming_the_key(tmp_path: Path) -> None:
    cfg = config(tmp_path, extra='source = "nordpool"')
    done = runner.invoke(app, ["fetch", "--config", str(cfg)])
    assert done.exit_code == 2
    assert "tariff.source = 'nordpool'" in done.output
