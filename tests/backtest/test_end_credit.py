"""The backtest table and summaries show each strategy's end SOC and credit the energy left,
so shares compare like with like (``optimizer.backtest.report``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.backtest.report import end_value_per_kwh
from optimizer.cli import app
from optimizer.domain import BatterySpec
from tests.backtest.test_cli import _args
from tests.backtest.test_cli import files as files

runner = CliRunner()


def test_auto_end_value_is_the_planners_rule_over_the_window() -> None:
    frame = pd.DataFrame(
        {
            "load_kwh": [1.0, 1.0, 0.0, 1.0, 1.0],
            "pv_kwh": [0.0, 0.0, 2.0, 0.0, 0.0],
            "price_import_per_kwh": [0.10, 0.30, 0.50, 0.20, 0.40],
            "price_export_per_kwh": [0.05, 0.05, 0.01, 0.05, 0.05],
        }
    )
    battery = BatterySpec(discharge_efficiency=0.9, cycle_cost_per_kwh=0.02)
    # displaced prices 0.10 0.30 0.01 0.20 0.40 → median 0.20; × 0.9 − 0.02 = 0.16
    assert end_value_per_kwh(frame, battery, "auto") == pytest.approx(0.16)
    assert end_value_per_kwh(frame, battery, "none") == 0.0
    assert end_value_per_kwh(frame, battery, 0.07) == 0.07


def test_summaries_credit_the_energy_left_and_the_table_shows_it(
    files: dict[str, Path], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[planner]\nterminal_soc_value = 0.2\n[backtest]\ninitial_soc_pct = 30\n")
    args = [*_args(files, "--config", str(config)), "--price-unit", "p/kWh"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    capacity = BatterySpec().capacity_kwh
    for name, s in doc.items():
        assert s["soc_start_pct"] == pytest.approx(30.0), name
        assert s["end_value_per_kwh"] == pytest.approx(0.2)
        gained_kwh = (s["soc_end_pct"] - s["soc_start_pct"]) / 100 * capacity
        assert s["end_energy_credit"] == pytest.approx(gained_kwh * 0.2, abs=1e-3), name
        assert s["savings_credited"] == pytest.approx(
            s["savings"] + s["end_energy_credit"], abs=1e-3
        )
        reference = doc["perfect"]["savings_credited"]
        assert s["captured_share"] == pytest.approx(s["savings_credited"] / reference, abs=1e-3)
    assert doc["none"]["end_energy_credit"] == pytest.approx(0.0, abs=1e-9)
    assert doc["perfect"]["captured_share"] == 1.0

    table = runner.invoke(app, args, env={"COLUMNS": "80"})
    assert table.exit_code == 0, table.output
    text = table.stdout
    assert max(len(line) for line in text.splitlines()) <= 80  # fits, nothing cut with "…"
    assert "…" not in text and "cheapest-slots" in text
    head = [line.split() for line in text.splitlines()[1:3]]  # two-line headers
    assert head[0][-2:] == ["end", "end"] and head[1][4:6] == ["SOC", "%"]
    assert head[1][6] == "credit" and f"{doc['lp']['slots']} slots replayed" in text
    flat = " ".join(text.split())  # the caption wraps at 80 columns
    assert "× 0.2000" in flat and "as a share of perfect's" in flat
    row = next(line for line in text.splitlines() if line.strip("│ ").startswith("lp "))
    assert f"{doc['lp']['soc_end_pct']:.0f}" in row
    assert f"{doc['lp']['end_energy_credit']:+.2f}" in row
