"""``xstorage-optimizer demo`` on given files: the files drive the simulated house and the prices,
``--json`` is the only thing on stdout, bad input exits 2 naming the option and the file.

The runs are the real service against the simulator over HTTPS, sped up (an hour in a few
seconds). Assertions are on physics and accounting — the house follows the files, the meter
balances, money is the meter at the files' prices — never on which commands the planner picks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.service.demo import DATA as PACKAGE_DATA
from optimizer.service.demo import DEMO_DAY, DemoInputs, resolve
from optimizer.store import Store
from optimizer.timeseries import local_day_bounds
from tests.conftest import ROOT

START = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
SLOT = timedelta(minutes=30)
#: EUR/MWh per half-hour slot of the price file (4 hours from START).
PRICES = [80.0, 120.0, 40.0, -10.0, 200.0, 150.0, 90.0, 60.0]
EXPORTS = [30.0, 50.0, 10.0, 0.0, 100.0, 70.0, 40.0, 20.0]
LOAD_KWH = 1.0  # per half-hour slot: 2 kW all the time
PV_KWH = 0.6  # per hour: 0.6 kW all the time
SPEED = "1440"
SHIPPED_LOAD = PACKAGE_DATA / "household-consumption-uk-fawkesley-2023-09_2023-10.csv"


def write_csv(
    path: Path, start: datetime, step: timedelta, values: list[float], column: str
) -> Path:
    """A file in the project's ``start_utc,end_utc,<column>`` shape."""
    lines = [f"start_utc,end_utc,{column}"]
    for i, value in enumerate(values):
        a, b = start + i * step, start + (i + 1) * step
        lines.append(f"{a:%Y-%m-%dT%H:%M:%SZ},{b:%Y-%m-%dT%H:%M:%SZ},{value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Prices for 4 h from START; load and PV with 3 days of history before it."""
    since = START - timedelta(days=3)
    hours = 3 * 24 + 6
    return {
        "prices": write_csv(tmp_path / "prices.csv", START, SLOT, PRICES, "price"),
        "exports": write_csv(tmp_path / "exports.csv", START, SLOT, EXPORTS, "price"),
        "load": write_csv(tmp_path / "load.csv", since, SLOT, [LOAD_KWH] * 2 * hours, "kwh"),
        "pv": write_csv(tmp_path / "pv.csv", since, timedelta(hours=1), [PV_KWH] * hours, "kwh"),
    }


def slot_prices(values: list[float], hours: float) -> np.ndarray:
    """EUR/kWh of the slots of the first ``hours``."""
    return np.array(values[: int(hours * 2)]) / 1000.0


def test_json_run_on_given_files_measures_the_house_of_the_files(
    files: dict[str, Path], tmp_path: Path
) -> None:
    args = [
        "demo", "--prices", str(files["prices"]), "--export-prices", str(files["exports"]),
        "--load", str(files["load"]), "--pv", str(files["pv"]), "--price-unit", "EUR/MWh",
        "--start", "2024-03-01T01:00:00+01:00", "--hours", "2", "--soc", "55",
        "--speed", SPEED, "--json", "--workdir", str(tmp_path / "run"),
    ]  # fmt: skip
    # A real process: stdout must be exactly one JSON object, progress and logs on stderr.
    done = subprocess.run(
        [sys.executable, "-m", "optimizer", *args],
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    assert "demo:" in done.stderr
    assert "demo: 100 % (simulated 2024-03-01 02:00 UTC)" in done.stderr  # progress, not silence

    # Fields and types.
    assert (doc["start"], doc["end"], doc["hours"]) == (
        "2024-03-01T00:00:00Z", "2024-03-01T02:00:00Z", 2.0,
    )  # fmt: skip
    assert doc["currency"] == "EUR"
    for key in ("cost", "no_battery_cost", "savings", "soc_start_pct", "soc_end_pct"):
        assert isinstance(doc[key], float), key
    assert doc["savings"] == pytest.approx(doc["no_battery_cost"] - doc["cost"], abs=1e-5)
    # The commands are the exact bodies the service sent (whichever the planner chose).
    with Store(f"sqlite:///{doc['store']}") as store:
        stored = store.commands(START, START + timedelta(hours=2))
    assert isinstance(doc["commands"], list)
    assert [c["body"] for c in doc["commands"]] == [c.body for c in stored]
    for command, record in zip(doc["commands"], stored, strict=True):
        sent = datetime.fromisoformat(command["start"].replace("Z", "+00:00"))
        assert sent == record.sent_at and START <= sent < START + timedelta(hours=2)
        assert set(command["body"]) == {"command", "duration", "parameters"}

    # --soc reached the simulator: the battery starts the run exactly there.
    assert doc["soc_start_pct"] == pytest.approx(55.0)
    assert 0.0 <= doc["soc_end_pct"] <= 100.0

    # The house is the files': 2 kW of load and 0.6 kW of PV (minus what a mode curtailed).
    energy = doc["energy_kwh"]
    assert energy["load"] == pytest.approx(2 * 2 * LOAD_KWH, rel=1e-6)
    assert energy["pv"] + energy["curtailed"] == pytest.approx(2 * PV_KWH, rel=1e-6)
    net = LOAD_KWH - PV_KWH / 2  # import per slot with the battery idle
    expected_idle = float(np.sum(net * slot_prices(PRICES, 2)))
    assert doc["no_battery_cost"] == pytest.approx(expected_idle, rel=0.02)

    # The meter balances and the battery's energy is conserved (efficiency 0.92 each way).
    grid = energy["import"] - energy["export"]
    house = energy["load"] - energy["pv"] + energy["charge"] - energy["discharge"]
    assert grid == pytest.approx(house, abs=1e-5)  # JSON rounds to 1e-6 kWh
    stored = (doc["soc_end_pct"] - doc["soc_start_pct"]) / 100 * 4.2
    assert stored == pytest.approx(energy["charge"] * 0.92 - energy["discharge"] / 0.92, abs=1e-3)
    # Money is the meter at the files' prices: bounded by the cheapest and dearest slot.
    p_in, p_out = slot_prices(PRICES, 2), slot_prices(EXPORTS, 2)
    low = energy["import"] * p_in.min() - energy["export"] * p_out.max()
    high = energy["import"] * p_in.max() - energy["export"] * p_out.min()
    assert low - 1e-9 <= doc["cost"] <= high + 1e-9

    assert doc["inputs"]["price_unit"] == "EUR/MWh"
    assert Path(doc["plot"]).stat().st_size > 10_000
    assert not any("fallback forecast" in note for note in doc["notes"])


def test_no_history_and_prices_ending_early_are_said_and_the_run_stops_there(
    tmp_path: Path,
) -> None:
    prices = write_csv(tmp_path / "p.csv", START, SLOT, [20.0, 30.0, 10.0], "price")  # p/kWh
    load = write_csv(tmp_path / "l.csv", START, SLOT, [LOAD_KWH] * 6, "kwh")
    result = CliRunner().invoke(
        app,
        ["demo", "--prices", str(prices), "--load", str(load), "--hours", "2", "--speed", SPEED,
         "--soc", "0", "--json", "--workdir", str(tmp_path / "run")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["start"], doc["hours"], doc["currency"]) == ("2024-03-01T00:00:00Z", 1.5, "GBP")
    notes = result.stderr
    assert "--load" in notes and "l.csv" in notes and "fallback forecast" in notes
    assert "--hours 2" in notes and "p.csv" in notes and "stops there after 1.5 h" in notes
    assert doc["soc_start_pct"] == 0.0
    # No export prices: exports earn nothing; with the battery idle the house imports its load.
    assert doc["no_battery_cost"] == pytest.approx(LOAD_KWH * (0.20 + 0.30 + 0.10), rel=0.02)
    assert doc["energy_kwh"]["load"] == pytest.approx(3 * LOAD_KWH, rel=1e-6)


def test_without_options_the_demo_is_the_shipped_day() -> None:
    data = resolve(DemoInputs(), 24.0)
    assert data.start == local_day_bounds(DEMO_DAY, "Europe/London")[0]
    assert data.end == data.start + timedelta(hours=24)
    assert data.import_csv.name.startswith("agile-import")
    assert data.export_csv is not None and data.export_csv.name.startswith("agile-outgoing")
    assert (data.load_csv, data.pv_csv, data.prices.currency) == (SHIPPED_LOAD, None, "GBP")
    assert data.notes == ()


def bad_cases(tmp: Path, files: dict[str, Path]) -> list[tuple[list[str], str, str]]:
    """(arguments, option the message must name, file or value it must name)."""
    missing = tmp / "nowhere.csv"
    return [
        (["--prices", str(missing)], "--prices", "nowhere.csv"),
        (["--prices", str(tmp)], "--prices", str(tmp)),
        (["--prices", str(files["load"])], "--prices", "load.csv"),
        (["--prices", str(files["prices"]), "--load", str(files["exports"])], "--load",
         "exports.csv"),
        (["--prices", str(files["prices"]), "--pv", str(missing)], "--pv", "nowhere.csv"),
        (["--prices", str(files["prices"]), "--export-prices", str(files["pv"])],
         "--export-prices", "pv.csv"),
        (["--prices", str(files["prices"]), "--price-unit", "EUR/GJ"], "--price-unit",
         "prices.csv"),
        (["--prices", str(files["prices"]), "--price-unit", "GBP/kWh"], "--price-unit",
         "prices.csv"),
        (["--start", "2023-10-15T00:00:00"], "--start", "2023-10-15T00:00:00"),
        (["--prices", str(files["prices"]), "--start", "2024-03-02T00:00Z"], "--start",
         "prices.csv"),
        (["--start", "2023-10-15T00:10Z"], "--start", "00:10"),
        (["--soc", "120"], "--soc", "120"),
        (["--hours", "0.5"], "--hours", "0.5"),
        (["--export-prices", str(files["exports"])], "--export-prices", "--prices"),
    ]  # fmt: skip


def test_bad_input_exits_2_with_one_line_naming_the_option(
    files: dict[str, Path], tmp_path: Path
) -> None:
    for args, option, named in bad_cases(tmp_path, files):
        result = CliRunner().invoke(app, ["demo", *args, "--json"])
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (args, result.stderr)
        assert option in lines[0] and named in lines[0], (args, lines[0])
        assert result.stdout == "", args
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
