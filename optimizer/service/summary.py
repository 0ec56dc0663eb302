"""What a service run did, from the store: commands, planned vs measured SOC, cost, a plot.

Money is in currency units; SOC in percent. The measured cost integrates the polled grid power
(W, + = import) between readings at the stored prices; "doing nothing" integrates the polled
house load minus PV the same way, so both use the same samples.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.config import Settings
from optimizer.domain import PlanSlot, Timetable
from optimizer.plotting import plot_timetable
from optimizer.store import Store


@dataclass(frozen=True)
class RunSummary:
    """Figures of one run over ``[start, end)``."""

    start: datetime
    end: datetime
    commands_sent: int
    commands_ok: int
    command_kinds: dict[str, int]
    readings: int
    soc_gap_max_pct: float
    soc_gap_mean_pct: float
    soc_start_pct: float
    soc_end_pct: float
    cost: float
    no_battery_cost: float
    plot: Path | None


def kind(body: dict[str, object]) -> str:
    """``charge``/``discharge`` for battery commands, else the command name."""
    params = body.get("parameters")
    action = params.get("action") if isinstance(params, dict) else None
    if action == "ACTION_CHARGE":
        return "charge"
    if action == "ACTION_DISCHARGE":
        return "discharge"
    return str(body.get("command"))


def soc_gaps(slots: list[PlanSlot], readings: pd.DataFrame) -> list[float]:
    """|measured − planned| SOC at each slot's end: the first reading at or after the end."""
    if readings.empty:
        return []
    times = pd.DatetimeIndex(readings.index)
    soc = readings["soc_pct"].to_numpy(dtype=float)
    gaps = []
    for slot in slots:
        at = int(times.searchsorted(pd.Timestamp(slot.end)))
        if at < len(times):
            gaps.append(abs(soc[at] - slot.soc_end_pct))
    return gaps


def _price_at(
    store: Store, tariff: str, times: pd.DatetimeIndex, lo: datetime, hi: datetime
) -> np.ndarray:
    if not tariff:
        return np.zeros(len(times))
    prices = store.prices(tariff, lo - pd.Timedelta(hours=1), hi)
    if prices.empty:
        return np.zeros(len(times))
    return prices.reindex(times, method="ffill").fillna(0.0).to_numpy(dtype=float)


def costs(store: Store, settings: Settings, readings: pd.DataFrame) -> tuple[float, float]:
    """(measured cost, cost with the battery idle) integrated over the readings."""
    if len(readings) < 2:
        return 0.0, 0.0
    times = pd.DatetimeIndex(readings.index)
    hours = np.diff(times.as_unit("ns").asi8) / 3.6e12
    lo, hi = times[0].to_pydatetime(), times[-1].to_pydatetime()
    p_in = _price_at(store, settings.tariff.import_code(), times, lo, hi)[:-1]
    p_out = _price_at(store, settings.tariff.export_code(), times, lo, hi)[:-1]

    def money(watts: np.ndarray) -> float:
        kwh = watts[:-1] * hours / 1000.0
        return float(np.sum(np.clip(kwh, 0, None) * p_in - np.clip(-kwh, 0, None) * p_out))

    grid = readings["grid_w"].fillna(0.0).to_numpy(dtype=float)
    net = (readings["load_w"].fillna(0.0) - readings["pv_w"].fillna(0.0)).to_numpy(dtype=float)
    return money(grid), money(net)


def summarize(
    store: Store,
    settings: Settings,
    executed: dict[datetime, PlanSlot],
    start: datetime,
    end: datetime,
    plot: Path | None = None,
) -> RunSummary:
    """The figures of a run (and the PNG at ``plot`` when given and a plan was made)."""
    sent = store.commands(start, end)
    readings = store.readings(start, end)
    slots = [executed[t] for t in sorted(executed) if start <= t < end]
    gaps = soc_gaps(slots, readings)
    cost, idle = costs(store, settings, readings)
    soc = readings["soc_pct"].to_numpy(dtype=float) if len(readings) else np.zeros(1)
    if plot is not None and slots:
        table = Timetable(tuple(slots), "executed", sum(s.cost for s in slots), idle, 0.0, 0.0,
                          "service", cost)  # fmt: skip
        measured = list(zip(pd.DatetimeIndex(readings.index).to_pydatetime(), soc, strict=True))
        plot_timetable(table, plot, settings.planner.currency, measured_soc=measured)
    return RunSummary(
        start, end, len(sent), sum(1 for c in sent if c.ok),
        dict(Counter(kind(c.body) for c in sent)), len(readings),
        max(gaps, default=0.0), float(np.mean(gaps)) if gaps else 0.0,
        float(soc[0]), float(soc[-1]), cost, idle, plot if slots else None,
    )  # fmt: skip
