"""PNG plots of a timetable: prices, planned battery power and SOC (matplotlib, no screen)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from optimizer.domain import Timetable


def local_time_axis(ax: Axes, timezone: str) -> None:
    """Date ticks of ``ax`` in ``timezone`` (an IANA name), short enough not to overlap
    (``ConciseDateFormatter``: the day once, then hours), and the axis labelled with the zone."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    locator = mdates.AutoDateLocator(tz=zone, minticks=4, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=zone))  # type: ignore[no-untyped-call]
    ax.set_xlabel(f"time ({timezone})")


def plot_timetable(
    timetable: Timetable,
    path: Path,
    currency: str = "GBP",
    measured_soc: Sequence[tuple[object, float]] | None = None,
    timezone: str = "UTC",
) -> Path:
    """Write a three-panel PNG (prices, battery power, SOC) of ``timetable`` to ``path``; times
    on the axis in ``timezone``."""
    slots = timetable.slots
    starts = [s.start for s in slots] + [slots[-1].end]
    fig, (ax_price, ax_power, ax_soc) = plt.subplots(3, 1, figsize=(11, 8), sharex=True)
    ax_price.step(
        starts,
        [s.price_import_per_kwh for s in slots] + [slots[-1].price_import_per_kwh],
        where="post",
        label="import",
    )
    ax_price.step(
        starts,
        [s.price_export_per_kwh for s in slots] + [slots[-1].price_export_per_kwh],
        where="post",
        label="export",
    )
    ax_price.set_ylabel(f"price ({currency}/kWh)")
    ax_price.legend(loc="upper left")
    power = [s.charge_kw - s.discharge_kw for s in slots]
    ax_power.bar(
        [s.start for s in slots],
        power,
        width=(slots[0].end - slots[0].start) * 0.9,
        align="edge",
        color=["tab:green" if p >= 0 else "tab:red" for p in power],
    )
    ax_power.axhline(0, color="black", linewidth=0.5)
    ax_power.set_ylabel("battery kW (+ charge)")
    ax_soc.plot(
        starts, [slots[0].soc_start_pct] + [s.soc_end_pct for s in slots], label="planned SOC"
    )
    if measured_soc:
        ax_soc.plot(
            [t for t, _ in measured_soc], [v for _, v in measured_soc], ".", label="measured SOC"
        )
    ax_soc.set_ylabel("SOC (%)")
    ax_soc.set_ylim(0, 100)
    local_time_axis(ax_soc, timezone)
    ax_soc.legend(loc="upper left")
    fig.suptitle(
        f"plan: cost {timetable.cost:.2f} {currency}, "
        f"{timetable.no_battery_cost:.2f} {currency} without battery"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
