"""Figures from backtest results: summary per strategy, per-day and per-month tables, plots.

Money is in currency units; energies in kWh. ``cycles`` is equivalent full cycles: energy taken
out of the store (discharge / discharge efficiency) over the usable window
(``capacity_kwh × (max_soc_pct − min_soc_pct) / 100``). ``throughput_kwh`` is AC charge plus
discharge. ``captured_share`` is savings over the perfect-foresight savings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.backtest.engine import BacktestResult
from optimizer.domain import BatterySpec

_SUMS = ("cost", "no_battery_cost", "import_kwh", "export_kwh", "charge_kwh", "discharge_kwh")


def summary(
    result: BacktestResult, battery: BatterySpec, perfect_cost: float | None = None
) -> dict[str, Any]:
    """The summary object of one strategy (the ``--json`` shape)."""
    frame = result.frame
    cost, base = float(frame["cost"].sum()), float(frame["no_battery_cost"].sum())
    usable = battery.kwh(battery.max_soc_pct - battery.min_soc_pct)
    stored_out = float(frame["discharge_kwh"].sum()) / battery.discharge_efficiency
    perfect_savings = None if perfect_cost is None else base - perfect_cost
    share = (base - cost) / perfect_savings if perfect_savings else None
    return {
        "strategy": result.strategy,
        "cost": round(cost, 4),
        "no_battery_cost": round(base, 4),
        "savings": round(base - cost, 4),
        "perfect_cost": None if perfect_cost is None else round(perfect_cost, 4),
        "captured_share": None if share is None else round(share, 4),
        "cycles": round(stored_out / usable, 2) if usable > 0 else 0.0,
        "throughput_kwh": round(float(frame["charge_kwh"].sum() + frame["discharge_kwh"].sum()), 3),
        "import_kwh": round(float(frame["import_kwh"].sum()), 3),
        "export_kwh": round(float(frame["export_kwh"].sum()), 3),
        "soc_end_pct": round(float(frame["soc_end_pct"].iloc[-1]), 2) if len(frame) else None,
        "slots": len(frame),
        "decisions": result.decisions,
        "seconds": round(result.seconds, 2),
        "start": frame.index[0].isoformat() if len(frame) else None,
        "end": frame.index[-1].isoformat() if len(frame) else None,
        "gaps": [
            {"start": g.start.isoformat(), "end": g.end.isoformat(), "slots": g.slots,
             "missing": g.missing}
            for g in result.gaps
        ],
    }  # fmt: skip


def _grouped(frame: pd.DataFrame, timezone: str, freq: str) -> pd.DataFrame:
    local = frame.tz_convert(timezone)
    periods = pd.DatetimeIndex(local.index).tz_localize(None).to_period(freq)
    table = local[list(_SUMS)].groupby(periods).sum()
    table["savings"] = table["no_battery_cost"] - table["cost"]
    table["slots"] = local.groupby(periods).size()
    return table


def per_day(result: BacktestResult, timezone: str = "Europe/London") -> pd.DataFrame:
    """Sums per local calendar day (23-, 24- or 25-hour days keep their true slot count)."""
    return _grouped(result.frame, timezone, "D")


def per_month(result: BacktestResult, timezone: str = "Europe/London") -> pd.DataFrame:
    """Sums per local calendar month."""
    return _grouped(result.frame, timezone, "M")


def write_outputs(
    results: list[BacktestResult],
    summaries: list[dict[str, Any]],
    out: Path,
    timezone: str,
    currency: str = "GBP",
) -> list[Path]:
    """Per-slot CSV per strategy, ``summary.json`` and the PNG plots under ``out``."""
    import json

    from optimizer.backtest.plots import plot_all

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for result in results:
        path = out / f"slots-{result.strategy}.csv"
        frame = result.frame.copy()
        frame.index = pd.DatetimeIndex(frame.index).strftime("%Y-%m-%dT%H:%M:%SZ")
        frame.index.name = "start_utc"
        frame.to_csv(path, float_format="%.6g")
        written.append(path)
    path = out / "summary.json"
    path.write_text(json.dumps({s["strategy"]: s for s in summaries}, indent=2) + "\n")
    written.append(path)
    written.extend(plot_all(results, out, timezone, currency))
    return written
