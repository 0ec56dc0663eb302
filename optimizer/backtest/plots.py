"""PNG plots of backtest results (matplotlib Agg): cumulative savings, a typical day, months.

Money axes carry the currency; months are local calendar months; each strategy has its own
colour, line style and marker, so strategies that coincide (``self-use`` and ``none`` on a
tariff where self-use saves nothing) stay distinguishable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from optimizer.backtest.engine import BacktestResult

_STYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D", "v", "x")
_HATCHES = ("", "//", "..", "xx", "\\\\", "--")


def style(k: int) -> dict[str, Any]:
    """Colour, line style and marker of the ``k``-th strategy (all three differ for k < 4)."""
    return {
        "color": f"C{k}",
        "linestyle": _STYLES[k % len(_STYLES)],
        "marker": _MARKERS[k % len(_MARKERS)],
        "markevery": 0.1,
        "linewidth": 2.2 - 0.3 * (k % 3),
    }


def _save(fig: object, path: Path) -> Path:
    fig.tight_layout()  # type: ignore[attr-defined]
    fig.savefig(path, dpi=100)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return path


def cumulative_savings(
    results: list[BacktestResult], path: Path, currency: str = "GBP", timezone: str = "UTC"
) -> Path:
    """Cumulative savings against no battery, one line per strategy (currency units); dates
    in ``timezone``, short enough that neighbouring labels never overlap."""
    from optimizer.plotting import local_time_axis

    fig, ax = plt.subplots(figsize=(10, 5))
    for k, result in enumerate(results):
        frame = result.frame
        saved = (frame["no_battery_cost"] - frame["cost"]).cumsum()
        ax.plot(frame.index, saved, label=result.strategy, **style(k))
    ax.set_ylabel(f"cumulative savings ({currency})")
    local_time_axis(ax, timezone)
    ax.legend()
    return _save(fig, path)


def typical_day(
    results: list[BacktestResult], path: Path, timezone: str, currency: str = "GBP"
) -> Path:
    """Mean battery power (kW, + = charge) by local time of day, and mean import price."""
    fig, (ax_price, ax_power) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for k, result in enumerate(results):
        local = result.frame.tz_convert(timezone)
        index = pd.DatetimeIndex(local.index)
        dt_h = (index[1] - index[0]).total_seconds() / 3600
        hours = index.hour + index.minute / 60
        power = (local["charge_kwh"] - local["discharge_kwh"]) / dt_h
        ax_power.plot(power.groupby(hours).mean(), label=result.strategy, **style(k))
        if k == 0:
            ax_price.plot(local["price_import_per_kwh"].groupby(hours).mean(), label="import")
            ax_price.plot(local["price_export_per_kwh"].groupby(hours).mean(), label="export")
    ax_price.set_ylabel(f"mean price ({currency}/kWh)")
    ax_price.legend()
    ax_power.set_ylabel("mean battery kW (+ charge)")
    ax_power.set_xlabel(f"hour of day ({timezone})")
    ax_power.legend()
    return _save(fig, path)


SLIVER = pd.Timedelta(days=1)


def month_labels(index: pd.DatetimeIndex, timezone: str) -> pd.Index:
    """The local calendar month (``YYYY-MM``) of each slot start, except that a month at either
    end of the run holding less than a day of slots (the hour a UTC ``--from``/``--to`` reaches
    into the next or previous local month) counts with its neighbour: no bar for a month the
    run did not really cover."""
    labels: pd.Index = pd.Index(index.tz_convert(timezone).strftime("%Y-%m"))
    if len(index) < 2:
        return labels
    step = index[1] - index[0]
    for end in (-1, 0):  # the last month, then the first
        months = list(dict.fromkeys(labels))
        if len(months) < 2:
            break
        edge, neighbour = months[end], months[-2 if end == -1 else 1]
        if int((labels == edge).sum()) * step < SLIVER:
            labels = pd.Index(np.where(labels == edge, neighbour, labels))
    return labels


def monthly_savings(results: list[BacktestResult], timezone: str) -> pd.DataFrame:
    """Savings per local calendar month (rows, ``YYYY-MM``; see ``month_labels``) and strategy
    (columns)."""
    columns = {}
    for result in results:
        frame = result.frame
        month = month_labels(pd.DatetimeIndex(frame.index), timezone)
        saved = (frame["no_battery_cost"] - frame["cost"]).to_numpy()
        columns[result.strategy] = pd.Series(saved).groupby(month.to_numpy()).sum()
    return pd.DataFrame(columns).sort_index().fillna(0.0)


def monthly_bars(
    results: list[BacktestResult], path: Path, timezone: str, currency: str = "GBP"
) -> Path:
    """Savings per local month, bars grouped by strategy, centred on their month's label."""
    table = monthly_savings(results, timezone)
    fig, ax = plt.subplots(figsize=(11, 5))
    count = max(1, len(table.columns))
    width = 0.8 / count
    x = np.arange(len(table.index))
    for k, name in enumerate(table.columns):
        offset = (k - (count - 1) / 2) * width
        ax.bar(x + offset, table[name].to_numpy(), width, label=name, color=f"C{k}",
               hatch=_HATCHES[k % len(_HATCHES)], edgecolor="black", linewidth=0.4)  # fmt: skip
    ax.set_xticks(x, list(table.index), rotation=45, ha="right", rotation_mode="anchor")
    ax.set_xlabel(f"month ({timezone})")
    ax.set_ylabel(f"savings per month ({currency})")
    ax.legend()
    return _save(fig, path)


def plot_all(
    results: list[BacktestResult], out: Path, timezone: str, currency: str = "GBP"
) -> list[Path]:
    """The three PNGs under ``out``."""
    return [
        cumulative_savings(results, out / "cumulative-savings.png", currency, timezone),
        typical_day(results, out / "typical-day.png", timezone, currency),
        monthly_bars(results, out / "monthly-savings.png", timezone, currency),
    ]
