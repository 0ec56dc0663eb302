"""``backtest`` on the command line: ``--json`` shape, outputs, errors naming file and line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.cli import app

runner = CliRunner()


def _csv(path: Path, start: str, values: np.ndarray, column: str) -> Path:
    index = pd.date_range(pd.Timestamp(start), periods=len(values), freq="30min", tz="UTC")
    frame = pd.DataFrame(
        {
            "start_utc": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_utc": (index + pd.Timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            column: values,
        }
    )
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(5)
    n = 48 * 10
    start = "2023-05-01T00:00Z"
    return {
        "prices": _csv(tmp_path / "imp.csv", start, rng.uniform(5, 40, n).round(2), "price"),
        "export": _csv(tmp_path / "exp.csv", start, rng.uniform(2, 15, n).round(2), "price"),
        "load": _csv(tmp_path / "load.csv", start, rng.uniform(0.05, 1, n).round(3), "kwh"),
    }


def _args(files: dict[str, Path], *extra: str) -> list[str]:
    return [
        "backtest", "--prices", str(files["prices"]), "--export-prices", str(files["export"]),
        "--load", str(files["load"]), "--from", "2023-05-09T00:00Z", "--to", "2023-05-10T00:00Z",
        *extra,
    ]  # fmt: skip


def test_json_summary_per_strategy(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = runner.invoke(app, _args(files, "--json", "--out", str(out)))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"perfect", "lp", "cheapest-slots", "self-use", "none"}
    keys = {"cost", "no_battery_cost", "savings", "perfect_cost", "captured_share", "cycles",
            "slots"}  # fmt: skip
    for name, item in doc.items():
        assert keys <= set(item), name
        assert item["slots"] == 48
        assert item["perfect_cost"] == doc["perfect"]["cost"]
        assert item["savings"] == pytest.approx(item["no_battery_cost"] - item["cost"], abs=1e-3)
    assert doc["none"]["savings"] == pytest.approx(0.0, abs=1e-9)
    assert doc["perfect"]["captured_share"] == 1.0
    for name in ("summary.json", "slots-lp.csv", "cumulative-savings.png", "typical-day.png",
                 "monthly-savings.png"):  # fmt: skip
        assert (out / name).stat().st_size > 0


def test_bad_value_names_file_line_and_field(files: dict[str, Path]) -> None:
    text = files["load"].read_text().splitlines()
    text[5] = text[5].rsplit(",", 1)[0] + ",oops"
    files["load"].write_text("\n".join(text) + "\n")
    result = runner.invoke(app, _args(files, "--strategy", "none"))
    assert result.exit_code == 2
    assert f"{files['load']}: line 6: bad kwh 'oops'" in result.stderr.replace("\n", "")


def test_negative_load_names_the_slot(files: dict[str, Path]) -> None:
    frame = pd.read_csv(files["load"])
    frame.loc[410, "kwh"] = -1  # row 410 starts 410 half-hours after 1 May: 9 May 13:00Z
    frame.to_csv(files["load"], index=False)
    result = runner.invoke(app, _args(files, "--strategy", "none"))
    assert result.exit_code == 2
    message = result.stderr.replace("\n", "")
    assert "negative energy -1.0 kWh at slot 2023-05-09T13:00:00+00:00" in message
    assert str(files["load"]) in message


def test_bad_replan_is_refused(files: dict[str, Path]) -> None:
    result = runner.invoke(app, _args(files, "--replan", "weekly"))
    assert result.exit_code == 2
    assert "--replan 'weekly'" in result.stderr


def test_tune_ranks_the_grid_and_writes_the_best(files: dict[str, Path], tmp_path: Path) -> None:
    best = tmp_path / "best.toml"
    args = _args(files)
    args[0] = "tune"
    grid = ["battery.cycle_cost_per_kwh=0,0.5", "planner.terminal_soc_value=none"]
    args += ["--param", grid[0], "--param", grid[1], "--workers", "2", "--best-out", str(best)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "battery.cycle_cost_per_kwh=0.5" in result.stdout
    assert "tune: 2 backtests of lp on 2 processes" in result.stderr  # progress on stderr
    text = best.read_text()
    # A wear price of 0.5/kWh (more than any spread here) can only cost more, never less.
    assert "cycle_cost_per_kwh = 0\n" in text
    assert '[planner]\nterminal_soc_value = "none"' in text


def test_tune_compares_load_forecast_methods(files: dict[str, Path], tmp_path: Path) -> None:
    args = _args(files)
    args[0] = "tune"
    best = tmp_path / "best.toml"
    grid = "forecast.load_method=weekday,blend-inday"
    result = runner.invoke(app, [*args, "--param", grid, "--workers", "1", "--best-out", str(best)])
    assert result.exit_code == 0, result.output
    assert "forecast.load_method=weekday" in result.stdout
    assert "forecast.load_method=blend-" in result.stdout  # the table may wrap the rest
    assert "[forecast]\nload_method = " in best.read_text()
    bad = runner.invoke(app, [*args, "--param", "forecast.load_method=median"])
    assert bad.exit_code == 2 and "forecast.load_method" in bad.stderr


def test_tune_refuses_an_unknown_key(files: dict[str, Path], tmp_path: Path) -> None:
    args = _args(files)
    args[0] = "tune"
    result = runner.invoke(app, [*args, "--param", "battery.colour=red"])
    assert result.exit_code == 2
    assert "battery.colour" in result.stderr


def test_soc_sets_the_starting_soc(files: dict[str, Path]) -> None:
    frames = {}
    for soc in ("10", "90"):
        result = runner.invoke(app, _args(files, "--strategy", "none", "--soc", soc, "--json"))
        assert result.exit_code == 0, result.output
        frames[soc] = json.loads(result.stdout)["none"]
    # The idle battery keeps whatever it started with.
    assert frames["10"]["soc_end_pct"] == pytest.approx(10.0)
    assert frames["90"]["soc_end_pct"] == pytest.approx(90.0)
    # A fuller start never costs the planner more.
    costs = []
    for soc in ("10", "90"):
        result = runner.invoke(app, _args(files, "--strategy", "lp", "--soc", soc, "--json"))
        assert result.exit_code == 0, result.output
        costs.append(json.loads(result.stdout)["lp"]["cost"])
    assert costs[1] <= costs[0]


def test_soc_out_of_range_is_refused(files: dict[str, Path]) -> None:
    result = runner.invoke(app, _args(files, "--soc", "120"))
    assert result.exit_code == 2
    assert "--soc 120" in result.output
