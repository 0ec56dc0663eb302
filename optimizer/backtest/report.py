"""Figures from backtest results: summary per strategy, per-day and per-month tables, plots.

Money is in currency units; energies in kWh. ``cycles`` is equivalent full cycles: energy taken
out of the store (discharge / discharge efficiency) over the usable window
(``capacity_kwh × (max_soc_pct − min_soc_pct) / 100``). ``throughput_kwh`` is AC charge plus
discharge.

The energy left at the end is credited, so strategies that end at different SOCs compare like
with like: ``end_energy_credit`` = (stored kWh at the end − stored kWh at the start) ×
``end_value_per_kwh``, where ``end_value_per_kwh`` is the planner's own terminal value of a
stored kWh (``planner.terminal_soc_value``: a number as given; ``"none"`` → 0; ``"auto"`` → the
planner's rule, ``optimizer.planning.inputs.terminal_value_per_kwh``, applied to the whole
replayed window: the median price a stored kWh displaces — import where the house has net
load, else export — times the discharge efficiency, less the cycle cost, never below 0). It is
negative when a strategy ends below its start. ``savings_credited`` = ``savings`` + the credit;
``captured_share`` is ``savings_credited`` over ``perfect``'s ``savings_credited``
(``captured_share_uncredited``: the bare savings over ``perfect``'s bare savings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.backtest.engine import BacktestResult
from optimizer.domain import BatterySpec

_SUMS = ("cost", "no_battery_cost", "import_kwh", "export_kwh", "charge_kwh", "discharge_kwh")


def end_value_per_kwh(frame: pd.DataFrame, battery: BatterySpec, setting: float | str) -> float:
    """The value of a stored kWh left at the end of a replay (currency per kWh), by the
    planner's ``terminal_soc_value`` rule (see the module docstring) over ``frame``'s slots
    (columns ``load_kwh``, ``pv_kwh``, ``price_import_per_kwh``, ``price_export_per_kwh``)."""
    if setting == "none" or frame.empty:
        return 0.0
    if setting != "auto":
        return float(setting)
    net_load = (frame["load_kwh"] > frame["pv_kwh"]).to_numpy()
    displaced = np.where(
        net_load, frame["price_import_per_kwh"].to_numpy(), frame["price_export_per_kwh"].to_numpy()
    )
    value = float(np.median(displaced)) * battery.discharge_efficiency
    return max(0.0, value - battery.cycle_cost_per_kwh)


def end_energy_credit(frame: pd.DataFrame, value_per_kwh: float) -> float:
    """(stored kWh at the end − at the start) × ``value_per_kwh``, currency units."""
    if frame.empty:
        return 0.0
    gained = float(frame["soc_end_kwh"].iloc[-1] - frame["soc_start_kwh"].iloc[0])
    return gained * value_per_kwh


def summary(
    result: BacktestResult,
    battery: BatterySpec,
    perfect_cost: float | None = None,
    value_per_kwh: float = 0.0,
    perfect_credit: float = 0.0,
) -> dict[str, Any]:
    """The summary object of one strategy (the ``--json`` shape). ``perfect_cost`` and
    ``perfect_credit``: the reference's cost and end-energy credit; ``value_per_kwh``: the
    end value of a stored kWh (``end_value_per_kwh``)."""
    frame = result.frame
    cost, base = float(frame["cost"].sum()), float(frame["no_battery_cost"].sum())
    usable = battery.kwh(battery.max_soc_pct - battery.min_soc_pct)
    stored_out = float(frame["discharge_kwh"].sum()) / battery.discharge_efficiency
    credit = end_energy_credit(frame, value_per_kwh)
    perfect_savings = None if perfect_cost is None else base - perfect_cost
    raw_share = (base - cost) / perfect_savings if perfect_savings else None
    reference = None if perfect_savings is None else perfect_savings + perfect_credit
    share = (base - cost + credit) / reference if reference else None
    return {
        "strategy": result.strategy,
        "cost": round(cost, 4),
        "no_battery_cost": round(base, 4),
        "savings": round(base - cost, 4),
        "soc_start_pct": round(float(frame["soc_start_pct"].iloc[0]), 2) if len(frame) else None,
        "end_value_per_kwh": round(value_per_kwh, 6),
        "end_energy_credit": round(credit, 4),
        "savings_credited": round(base - cost + credit, 4),
        "perfect_cost": None if perfect_cost is None else round(perfect_cost, 4),
        "captured_share": None if share is None else round(share, 4),
        "captured_share_uncredited": None if raw_share is None else round(raw_share, 4),
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
