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
    """Bars per home and tariff: the bill without a battery (hatched) and with the best
    settings (solid), side by side."""
    from matplotlib.patches import Patch

    currency = summary["currency"]
    ranking: dict[str, list[dict[str, Any]]] = summary["tariffs_ranked"]
    homes = list(ranking)
    tariffs = sorted({item["tariff"] for items in ranking.values() for item in items})
    width = 0.8 / max(1, 2 * len(tariffs))
    fig, ax = plt.subplots(figsize=(max(7.0, 1.2 * len(homes) * len(tariffs)), 4.5))
    handles = []
    for t, tariff in enumerate(tariffs):
        found = [next((i for i in ranking[h] if i["tariff"] == tariff), None) for h in homes]
        costs = [np.nan if i is None else i["net_cost"] for i in found]
        bases = [np.nan if i is None else i["no_battery_cost"] for i in found]
        x = np.arange(len(homes)) + 2 * t * width
        colour = f"C{t}"
        ax.bar(x, bases, width * 0.95, fill=False, hatch="//", edgecolor=colour)
        ax.bar(x + width, costs, width * 0.95, color=colour)
        handles.append(Patch(color=colour, label=f"{tariff}: best settings, less end credit"))
        handles.append(
            Patch(fill=False, hatch="//", edgecolor=colour, label=f"{tariff}: no battery")
        )
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xticks(np.arange(len(homes)) + width * (2 * len(tariffs) - 1) / 2, homes)
    ax.set_ylabel(f"bill over the period ({currency})")
    ax.set_title("Bill per home and tariff: no battery vs the best settings")
    ax.legend(handles=handles, fontsize="small")
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
    """One panel per grid key: the best credited savings at each of its values (best over the
    other keys and the strategies), one line per home × tariff."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.8), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        order = _order(ok[key])
        for (home, tariff), group in ok.groupby(["home", "tariff"], sort=False):
            values = group.assign(value=group[key].astype(str))
            by_value = values.groupby("value")["savings_credited"].max()
            ax.plot(range(len(order)), [by_value.get(v, np.nan) for v in order], marker="o",
                    label=f"{home} / {tariff}")  # fmt: skip
        ax.set_xticks(range(len(order)), order)
        ax.set_xlabel(key)
        ax.set_ylabel(f"savings + end credit ({currency})")
    axes[0][0].legend(fontsize="small")
    fig.suptitle("Best savings (with the end energy credit) at each setting value")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
