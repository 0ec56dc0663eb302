"""``xstorage-optimizer plan`` on the shipped real data, end to end through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from optimizer.cli import app

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
IMPORT = DATA / "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv"
EXPORT = DATA / "agile-outgoing-export-regionUNKNOWN-fawkesley-2022-11_2023-12.csv"
LOAD = DATA / "household-consumption-uk-fawkesley-2020-08_2023-12.csv"
PV = DATA / "pv-pvgis-modelled-glasgow-4kWp-2023-hourly.csv"
BASE = ["plan", "--config", str(ROOT / "config.toml"), "--prices", str(IMPORT)]


def test_json_plan_on_real_data_has_the_documented_shape(tmp_path: Path) -> None:
    args = [
        *BASE,
        "--export-prices",
        str(EXPORT),
        "--load",
        str(LOAD),
        "--pv",
        str(PV),
        "--start",
        "2023-06-01T00:00Z",
        "--hours",
        "24",
        "--soc",
        "30",
        "--json",
        "--plot",
        str(tmp_path / "plan.png"),
    ]
    # A real process: stdout must be pure JSON (no solver banner).
    done = subprocess.run(
        [sys.executable, "-m", "optimizer", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["status"].startswith("optimal")
    assert doc["cost"] <= doc["no_battery_cost"]
    assert len(doc["slots"]) == 48
    slot = doc["slots"][0]
    for key in (
        "start",
        "end",
        "action",
        "charge_kw",
        "discharge_kw",
        "grid_import_kwh",
        "grid_export_kwh",
        "soc_start_pct",
        "soc_end_pct",
        "command",
    ):
        assert key in slot
    assert slot["start"] == "2023-06-01T00:00:00Z" and slot["soc_start_pct"] == 30
    assert set(slot["command"]) == {"command", "duration", "parameters"}
    total = sum(
        s["grid_import_kwh"] * s["price_import_per_kwh"]
        - s["grid_export_kwh"] * s["price_export_per_kwh"]
        for s in doc["slots"]
    )
    assert abs(total - doc["cost"]) < 1e-3
    assert (tmp_path / "plan.png").stat().st_size > 10_000


def test_table_output_is_readable() -> None:
    result = CliRunner().invoke(app, [*BASE, "--start", "2023-01-10T00:00Z", "--hours", "6"])
    assert result.exit_code == 0, result.output
    assert "Europe/London" in result.output and "savings" in result.output


def test_price_unit_converts(tmp_path: Path) -> None:
    csv = tmp_path / "mwh.csv"
    csv.write_text(
        "start_utc,end_utc,price\n2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,100\n"
        "2023-01-01T01:00:00Z,2023-01-01T02:00:00Z,300\n"
    )
    result = CliRunner().invoke(
        app, ["plan", "--prices", str(csv), "--price-unit", "EUR/MWh", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [s["price_import_per_kwh"] for s in doc["slots"]] == [0.1, 0.1, 0.3, 0.3]


def test_bad_csv_row_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "start_utc,end_utc,price\n2023-01-01T00:00:00Z,2023-01-01T00:30:00Z,1\n"
        "2023-01-01T00:30:00Z,2023-01-01T01:00:00Z,abc\n"
    )
    result = CliRunner().invoke(app, ["plan", "--prices", str(csv)])
    assert result.exit_code == 2
    assert "bad.csv: line 3: bad price 'abc'" in result.output


def test_prices_that_do_not_cover_hours_say_where_they_end() -> None:
    result = CliRunner().invoke(app, [*BASE, "--start", "2023-12-20T20:00Z", "--hours", "12"])
    assert result.exit_code == 2
    assert "--hours 12: the prices in" in result.output
    assert "end at 2023-12-21T00:00Z, 4 h after the start" in result.output


def test_unknown_price_unit_exits_2() -> None:
    result = CliRunner().invoke(app, [*BASE, "--price-unit", "p/MWh"])
    assert result.exit_code == 2
    assert "price unit 'p/MWh' is not known" in result.output


def test_the_table_fits_80_columns_and_names_each_mode() -> None:
    """An evening peak from 10 %: some slots go to the device's self-consumption mode, shown as
    such (not as a "discharge" with blank power and target); nothing is cut or wrapped."""
    args = [*BASE, "--export-prices", str(EXPORT), "--load", str(LOAD),
            "--start", "2023-10-14T12:00Z", "--hours", "12", "--soc", "10"]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.stdout
    rows = [line for line in lines if line[:3] in ("Sat", "Sun")]
    assert len(rows) == 24  # one line per slot
    modes = {line.split()[2] for line in rows}
    assert "self-consumption" in modes and "charge" in modes
    for line in rows:
        if "self-consumption" in line:
            assert line.split()[3:5] == ["-", "-"]  # no power or target: the device sets them
    assert "ends at" in result.stdout and "GBP/kWh" in result.stdout


def test_an_all_zero_export_file_is_no_export_tariff_not_a_strange_one(tmp_path: Path) -> None:
    import pandas as pd

    index = pd.date_range("2023-06-01T00:00Z", periods=48, freq="30min")
    zeros = tmp_path / "export-zero.csv"
    pd.DataFrame(
        {
            "start_utc": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_utc": (index + pd.Timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "price": 0.0,
        }
    ).to_csv(zeros, index=False)
    args = [*BASE, "--export-prices", str(zeros), "--load", str(LOAD),
            "--start", "2023-06-01T00:00Z", "--hours", "24"]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "unlike any real tariff" not in result.stderr
    assert "warning" not in result.stderr
    assert f"--export-prices {zeros}: every price is 0 p/kWh: read as no export tariff" in (
        result.stderr.replace("\n", "")
    )
    backtest = CliRunner().invoke(
        app,
        ["backtest", "--prices", str(IMPORT), "--export-prices", str(zeros), "--load", str(LOAD),
         "--from", "2023-06-01T00:00Z", "--to", "2023-06-02T00:00Z", "--strategy", "none"],
    )  # fmt: skip
    assert backtest.exit_code == 0, backtest.output
    assert "unlike any real tariff" not in backtest.output
