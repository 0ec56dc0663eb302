"""What a demo run did: measured money and energy, the commands sent, the plans behind them, a plot.

*Measured* figures come from what the simulated house and battery really did — the simulator's
exact per-minute meter (``optimizer.device.simulator.meter``: grid import/export, load, PV and
battery kWh) — priced at the actual prices of the input files: ``cost`` is import cost minus
export revenue, ``no_battery_cost`` the same meter with the battery idle (house load minus all
the PV available). *Planned* figures are what the service's plans expected for the same slots;
the planner plans on the *forecast* load, another house than the measured one, so they are only
ever shown labelled "planned on the forecast load". Plans and commands are read from the store,
never from the service object.

Money is in currency units, energies kWh, powers kW, SOC in percent, times aware UTC.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.store import Store
from optimizer.timeseries import interval_length

PLANNED_LABEL = "planned on the forecast load"
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ActualPrices:
    """The prices the run is measured at: currency units per kWh indexed by interval start
    (UTC; each interval as long as the series' most common spacing). No export series: exports
    earn nothing."""

    import_per_kwh: pd.Series
    export_per_kwh: pd.Series | None
    currency: str


@dataclass(frozen=True)
class SentCommand:
    """A command the service sent: when (UTC), the exact body, whether the device took it."""

    sent_at: datetime
    body: dict[str, Any]
    ok: bool


@dataclass(frozen=True)
class PlanRow:
    """One slot as the plan in force at its end saw it (on the forecast load): SOC % at the
    slot's start and end, battery kW (+ charge) and the planned cost of the slot."""

    start: datetime
    end: datetime
    soc_start_pct: float
    soc_end_pct: float
    battery_kw: float
    cost: float


@dataclass(frozen=True)
class RunSummary:
    """Figures of one run over ``[start, end)``; money in ``currency``, energies kWh."""

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
    currency: str = "GBP"
    planned_cost: float | None = None
    energy_kwh: dict[str, float] = field(default_factory=dict)
    commands: tuple[SentCommand, ...] = ()

    @property
    def savings(self) -> float:
        """Measured no-battery cost minus measured cost."""
        return self.no_battery_cost - self.cost

    @property
    def hours(self) -> float:
        """Length of the run, h."""
        return (self.end - self.start).total_seconds() / 3600.0


class SlotEnd(Protocol):
    """Anything with a slot end (UTC) and a planned SOC there (%)."""

    @property
    def end(self) -> datetime: ...

    @property
    def soc_end_pct(self) -> float: ...


def kind(body: dict[str, object]) -> str:
    """``charge``/``discharge`` for battery commands, else the command name."""
    params = body.get("parameters")
    action = params.get("action") if isinstance(params, dict) else None
    if action == "ACTION_CHARGE":
        return "charge"
    if action == "ACTION_DISCHARGE":
        return "discharge"
    return str(body.get("command"))


def soc_gaps(slots: Sequence[SlotEnd], readings: pd.DataFrame) -> list[float]:
    """|measured − planned| SOC at each slot's end: the first reading at or after the end
    (``readings``: column ``soc_pct``, UTC index)."""
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


def price_at(prices: pd.Series, times: pd.DatetimeIndex) -> FloatArray:
    """The price (per kWh) of the interval holding each of ``times``; NaN outside them."""
    if len(prices) == 0:
        return np.full(len(times), np.nan)
    starts = pd.DatetimeIndex(prices.index).as_unit("ns").asi8
    step = interval_length(prices, "prices").value if len(prices) > 1 else 0
    at = pd.DatetimeIndex(times).as_unit("ns").asi8
    row = np.searchsorted(starts, at, side="right") - 1
    inside = (row >= 0) & (at < starts[np.maximum(row, 0)] + step)
    values = prices.to_numpy(dtype=np.float64)[np.maximum(row, 0)]
    return np.where(inside, values, np.nan)


def bucket_money(meter: pd.DataFrame, prices: ActualPrices) -> tuple[FloatArray, FloatArray]:
    """Per meter bucket, (cost, cost with the battery idle) in currency units, from the columns
    ``import_kwh``, ``export_kwh``, ``idle_import_kwh``, ``idle_export_kwh``. A bucket without
    an import price costs nothing; without an export price, exports earn nothing."""
    times = pd.DatetimeIndex(meter.index)
    p_in = np.nan_to_num(price_at(prices.import_per_kwh, times))
    p_out = np.zeros(len(times))
    if prices.export_per_kwh is not None:
        p_out = np.nan_to_num(price_at(prices.export_per_kwh, times))

    def money(imported: str, exported: str) -> FloatArray:
        bought = meter[imported].to_numpy(dtype=np.float64) * p_in
        return np.asarray(bought - meter[exported].to_numpy(dtype=np.float64) * p_out)

    return money("import_kwh", "export_kwh"), money("idle_import_kwh", "idle_export_kwh")


def metered_costs(meter: pd.DataFrame, prices: ActualPrices) -> tuple[float, float]:
    """(cost, cost with the battery idle), currency units, over the meter's buckets."""
    with_battery, without = bucket_money(meter, prices)
    return float(np.sum(with_battery)), float(np.sum(without))


def sent_commands(store: Store, start: datetime, end: datetime) -> list[SentCommand]:
    """Commands sent in ``[start, end)``, oldest first."""
    return [SentCommand(c.sent_at, c.body, bool(c.ok)) for c in store.commands(start, end)]


def _plan_row(start: datetime, r: dict[Any, Any]) -> PlanRow:
    """A ``Store.plan_slots`` row as a ``PlanRow``."""
    cost = r["grid_import_kwh"] * r["price_import_per_kwh"]
    cost -= r["grid_export_kwh"] * r["price_export_per_kwh"]
    end = pd.Timestamp(r["slot_end"]).to_pydatetime()
    battery_kw = float(r["charge_kw"] - r["discharge_kw"])
    return PlanRow(start, end, float(r["soc_start_pct"]), float(r["soc_end_pct"]), battery_kw,
                   float(cost))  # fmt: skip


def planned_rows(store: Store, start: datetime, end: datetime) -> list[PlanRow]:
    """Per slot of ``[start, end)``, the slot as the newest plan holding it saw it: the plan in
    force when the slot ended (the service plans from the current slot onwards). Plans are read
    newest first by id, down to the first that ends by ``start``."""
    latest = store.latest_plan()
    rows: dict[datetime, PlanRow] = {}
    for plan_id in range(latest.id if latest is not None else 0, 0, -1):
        frame = store.plan_slots(plan_id)
        if frame.empty:
            continue
        if pd.Timestamp(frame["slot_end"].iloc[-1]) <= pd.Timestamp(start):
            break
        starts = pd.DatetimeIndex(frame.index).to_pydatetime()
        for moment, row in zip(starts, frame.to_dict("records"), strict=True):
            if start <= moment < end and moment not in rows:
                rows[moment] = _plan_row(moment, row)
    return [rows[t] for t in sorted(rows)]


def _meter_soc(meter: pd.DataFrame) -> pd.DataFrame:
    """Measured SOC at each meter bucket's end (column ``soc_pct``)."""
    ends = pd.DatetimeIndex(meter.index) + pd.to_timedelta(meter["seconds"].to_numpy(), unit="s")
    return pd.DataFrame({"soc_pct": meter["soc_end_pct"].to_numpy(dtype=float)}, index=ends)


def summarize(
    store: Store,
    meter: pd.DataFrame,
    prices: ActualPrices,
    start: datetime,
    end: datetime,
    plot: Path | None = None,
    timezone: str = "UTC",
) -> RunSummary:
    """The figures of a run from the simulator's ``meter`` (``Meter.frame`` of ``[start,
    end)``) at ``prices`` and the store's commands, plans and readings; the PNG at ``plot``
    (its time axis in ``timezone``)."""
    sent = sent_commands(store, start, end)
    planned = planned_rows(store, start, end)
    gaps = soc_gaps(planned, _meter_soc(meter)) if len(meter) else []
    cost, idle = metered_costs(meter, prices)
    energy = {name: float(meter[name].sum()) for name in meter.columns if name.endswith("_kwh")}
    soc_start = float(meter["soc_start_pct"].iloc[0]) if len(meter) else float("nan")
    soc_end = float(meter["soc_end_pct"].iloc[-1]) if len(meter) else float("nan")
    summary = RunSummary(
        start, end, len(sent), sum(1 for c in sent if c.ok),
        dict(Counter(kind(c.body) for c in sent)), len(store.readings(start, end)),
        max(gaps, default=0.0), float(np.mean(gaps)) if gaps else 0.0,
        soc_start, soc_end, cost, idle, None, prices.currency,
        sum(r.cost for r in planned) if planned else None, energy, tuple(sent),
    )  # fmt: skip
    if plot is not None and len(meter):
        summary = replace(summary, plot=plot_run(summary, meter, prices, planned, plot, timezone))
    return summary


def plot_run(
    summary: RunSummary,
    meter: pd.DataFrame,
    prices: ActualPrices,
    planned: Sequence[PlanRow],
    path: Path,
    timezone: str = "UTC",
) -> Path:
    """A four-panel PNG: prices; measured battery, load and PV (kW, 5-minute means); measured
    SOC with the plans' SOC; cumulative measured cost with and without the battery (and the
    planned cost, labelled as planned on the forecast load); times in ``timezone``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cur = summary.currency
    fig, (ax_price, ax_power, ax_soc, ax_cost) = plt.subplots(4, 1, figsize=(11, 10), sharex=True)
    _price_panel(ax_price, meter, prices, cur)
    _power_panel(ax_power, meter)
    _soc_panel(ax_soc, meter, planned)
    _cost_panel(ax_cost, meter, prices, planned, cur)
    fig.suptitle(
        f"measured: {summary.cost:z.2f} {cur} with the battery, {summary.no_battery_cost:z.2f} "
        f"{cur} without (saved {summary.savings:z.2f} {cur})"
        + (f"\n{PLANNED_LABEL}: {summary.planned_cost:z.2f} {cur}"
           if summary.planned_cost is not None else "")
    )  # fmt: skip
    from optimizer.plotting import local_time_axis

    local_time_axis(ax_cost, timezone)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _edges(meter: pd.DataFrame) -> pd.DatetimeIndex:
    """The first bucket's start, then every bucket's end (UTC)."""
    times = pd.DatetimeIndex(meter.index)
    ends = times + pd.to_timedelta(meter["seconds"].to_numpy(), unit="s")
    return pd.DatetimeIndex([times[0], *ends])


def _steps(ax: Any, edges: Sequence[Any], values: Sequence[float], **style: Any) -> None:
    """Values held from each edge to the next (``len(edges) == len(values) + 1``)."""
    ax.step(list(edges), [*values, values[-1]], where="post", **style)


def _price_panel(ax: Any, meter: pd.DataFrame, prices: ActualPrices, cur: str) -> None:
    """The import and export prices the run is measured at."""
    times, edges = pd.DatetimeIndex(meter.index), list(_edges(meter))
    _steps(ax, edges, list(price_at(prices.import_per_kwh, times)), label="import")
    if prices.export_per_kwh is not None:
        _steps(ax, edges, list(price_at(prices.export_per_kwh, times)), label="export")
    ax.set_ylabel(f"price ({cur}/kWh)")
    ax.legend(loc="best")


def _power_panel(ax: Any, meter: pd.DataFrame) -> None:
    """Measured battery (+ charge), house load and PV produced, kW averaged over 5 minutes."""
    columns = ["charge_kwh", "discharge_kwh", "load_kwh", "pv_kwh", "seconds"]
    sums = meter[columns].resample("5min").sum()
    sums = sums[sums["seconds"] > 0]
    kw = sums.drop(columns="seconds").div(sums["seconds"] / 3600.0, axis=0)
    edges = [*pd.DatetimeIndex(sums.index), _edges(meter)[-1]]
    _steps(ax, edges, list(kw["charge_kwh"] - kw["discharge_kwh"]), label="battery (+ charge)")
    _steps(ax, edges, list(kw["load_kwh"]), label="house load", alpha=0.7)
    if kw["pv_kwh"].any():
        _steps(ax, edges, list(kw["pv_kwh"]), label="PV produced", alpha=0.7)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_ylabel("measured kW")
    ax.legend(loc="best")


def _soc_panel(ax: Any, meter: pd.DataFrame, planned: Sequence[PlanRow]) -> None:
    """Measured SOC, and the plans' SOC at slot ends."""
    soc = [float(meter["soc_start_pct"].iloc[0]), *meter["soc_end_pct"]]
    ax.plot(list(_edges(meter)), soc, label="measured")
    if planned:
        ax.plot([r.end for r in planned], [r.soc_end_pct for r in planned], "o", markersize=3,
                label=f"{PLANNED_LABEL} (slot ends)")  # fmt: skip
    ax.set_ylabel("SOC (%)")
    ax.set_ylim(0, 100)
    ax.legend(loc="best")


def _cost_panel(
    ax: Any, meter: pd.DataFrame, prices: ActualPrices, planned: Sequence[PlanRow], cur: str
) -> None:
    """Cumulative measured cost with and without the battery, and the planned cost."""
    edges = list(_edges(meter))
    labels = ("measured, with the battery", "measured, without the battery")
    for money, label in zip(bucket_money(meter, prices), labels, strict=True):
        ax.plot(edges, [0.0, *np.cumsum(money)], label=label)
    if planned:
        cumulative = [0.0, *np.cumsum([r.cost for r in planned])]
        ax.plot([planned[0].start, *[r.end for r in planned]], cumulative, "--",
                label=PLANNED_LABEL)  # fmt: skip
    ax.set_ylabel(f"cumulative cost ({cur})")
    ax.legend(loc="best")


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with ``Z``."""
    return pd.Timestamp(moment).tz_convert("UTC").isoformat().replace("+00:00", "Z")


def summary_json(summary: RunSummary) -> dict[str, Any]:
    """The ``demo --json`` figures: measured money (currency units), energy (kWh), SOC (%),
    the commands sent, and the planned cost labelled as planned on the forecast load."""
    return {
        "start": iso(summary.start),
        "end": iso(summary.end),
        "hours": round(summary.hours, 6),
        "currency": summary.currency,
        "cost": round(summary.cost, 6),
        "no_battery_cost": round(summary.no_battery_cost, 6),
        "savings": round(summary.savings, 6),
        "soc_start_pct": round(summary.soc_start_pct, 3),
        "soc_end_pct": round(summary.soc_end_pct, 3),
        "energy_kwh": {k.removesuffix("_kwh"): round(v, 6) for k, v in summary.energy_kwh.items()},
        "planned_cost_on_forecast_load": (
            round(summary.planned_cost, 6) if summary.planned_cost is not None else None
        ),
        "soc_gap_max_pct": round(summary.soc_gap_max_pct, 3),
        "readings": summary.readings,
        "commands": [
            {"start": iso(c.sent_at), "body": c.body, "ok": c.ok} for c in summary.commands
        ],
        "plot": str(summary.plot) if summary.plot else None,
    }
