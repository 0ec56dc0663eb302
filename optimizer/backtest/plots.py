"""PNG plots of backtest results (matplotlib Agg): cumulative savings, a typical day, months."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from optimizer.backtest.engine import BacktestResult


def _save(fig: object, path: Path) -> Path:
    fig.tight_layout()  # type: ignore[attr-defined]
    fig.savefig(path, dpi=100)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return path


def cumulative_savings(results: list[BacktestResult], path: Path) -> Path:
    """Cumulative savings against no battery, one line per strategy (currency units)."""
    fig, ax = plt.subplots(figsize=(10, 5))
    for result in results:
        frame = result.frame
        ax.plot(
            frame.index, (frame["no_battery_cost"] - frame["cost"]).cumsum(), label=result.strategy
        )
    ax.set_ylabel("cumulative savings")
    ax.set_xlabel("time (UTC)")
    ax.legend()
    return _save(fig, path)


def typical_day(results: list[BacktestResult], path: Path, timezone: str) -> Path:
    """Mean battery power (kW, + = charge) by local time of day, and mean import price."""
    fig, (ax_price, ax_power) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for k, result in enumerate(results):
        local = result.frame.tz_convert(timezone)
        index = pd.DatetimeIndex(local.index)
        dt_h = (index[1] - index[0]).total_seconds() / 3600
        hours = index.hour + index.minute / 60
        power = (local["charge_kwh"] - local["discharge_kwh"]) / dt_h
        ax_power.plot(power.groupby(hours).mean(), label=result.strategy)
        if k == 0:
            ax_price.plot(local["price_import_per_kwh"].groupby(hours).mean(), label="import")
            ax_price.plot(local["price_export_per_kwh"].groupby(hours).mean(), label="export")
    ax_price.set_ylabel("mean price per kWh")
    ax_price.legend()
    ax_power.set_ylabel("mean battery kW (+ charge)")
    ax_power.set_xlabel(f"hour of day ({timezone})")
    ax_power.legend()
    return _save(fig, path)


def monthly_bars(results: list[BacktestResult], path: Path, timezone: str) -> Path:
    """Savings per local month, bars grouped by strategy."""
    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.8 / max(1, len(results))
    for k, result in enumerate(results):
        local = result.frame.tz_convert(timezone)
        saved = (
            (local["no_battery_cost"] - local["cost"])
            .groupby(pd.DatetimeIndex(local.index).tz_localize(None).to_period("M"))
            .sum()
        )
        ax.bar(
            [x + k * width for x in range(len(saved))],
            saved.to_numpy(),
            width,
            label=result.strategy,
        )
        ax.set_xticks(range(len(saved)), [str(p) for p in saved.index], rotation=45)
    ax.set_ylabel("savings per month")
    ax.legend()
    return _save(fig, path)


def plot_all(results: list[BacktestResult], out: Path, timezone: str) -> list[Path]:
    """The three PNGs under ``out``."""
    return [
        cumulative_savings(results, out / "cumulative-savings.png"),
        typical_day(results, out / "typical-day.png", timezone),
        monthly_bars(results, out / "monthly-savings.png", timezone),
    ]
