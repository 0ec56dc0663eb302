"""A sweep's PNG plots (matplotlib, no screen): tariffs per home, savings per setting value."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def tariffs_plot(summary: dict[str, Any], path: Path) -> Path:
    """Bars per home: the best bill on each tariff, and the bill without a battery (hatched)."""
    currency = summary["currency"]
    ranking: dict[str, list[dict[str, Any]]] = summary["tariffs_ranked"]
    homes = list(ranking)
    tariffs = sorted({item["tariff"] for items in ranking.values() for item in items})
    width = 0.8 / max(1, len(tariffs))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(homes) * len(tariffs)), 4.5))
    for t, tariff in enumerate(tariffs):
        x = np.arange(len(homes)) + t * width
        costs = [next((i["cost"] for i in ranking[h] if i["tariff"] == tariff), np.nan)
                 for h in homes]  # fmt: skip
        bases = [next((i["no_battery_cost"] for i in ranking[h] if i["tariff"] == tariff), np.nan)
                 for h in homes]  # fmt: skip
        bars = ax.bar(x, costs, width * 0.9, label=f"{tariff} (best)")
        colour = bars.patches[0].get_facecolor()
        ax.bar(x, bases, width * 0.9, fill=False, hatch="//", edgecolor=colour)
    ax.bar([], [], fill=False, hatch="//", label="no battery")
    ax.set_xticks(np.arange(len(homes)) + width * (len(tariffs) - 1) / 2, homes)
    ax.set_ylabel(f"bill over the period ({currency})")
    ax.set_title("Tariffs per home: best settings vs no battery")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _order(values: pd.Series) -> list[str]:
    unique = list(dict.fromkeys(values.astype(str)))
    try:
        return sorted(unique, key=float)
    except ValueError:
        return unique


def settings_plot(ok: pd.DataFrame, keys: Sequence[str], currency: str, path: Path) -> Path:
    """One panel per grid key: the best savings at each of its values (best over the other keys
    and the strategies), one line per home × tariff."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.8), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        order = _order(ok[key])
        for (home, tariff), group in ok.groupby(["home", "tariff"], sort=False):
            by_value = group.assign(value=group[key].astype(str)).groupby("value")["savings"].max()
            ax.plot(range(len(order)), [by_value.get(v, np.nan) for v in order], marker="o",
                    label=f"{home} / {tariff}")  # fmt: skip
        ax.set_xticks(range(len(order)), order)
        ax.set_xlabel(key)
        ax.set_ylabel(f"savings ({currency})")
    axes[0][0].legend(fontsize="small")
    fig.suptitle("Best savings at each setting value")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
