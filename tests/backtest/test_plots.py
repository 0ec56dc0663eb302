"""Backtest plots people read: money axes carry the currency, months are local months with the
bars centred on their labels, and every strategy looks different."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from optimizer.backtest import plots
from optimizer.backtest.engine import BacktestResult


def result(name: str, start: str, periods: int, saved_per_slot: float) -> BacktestResult:
    index = pd.date_range(start, periods=periods, freq="30min", tz="UTC")
    frame = pd.DataFrame(
        {
            "cost": np.full(periods, 1.0 - saved_per_slot),
            "no_battery_cost": np.ones(periods),
            "charge_kwh": np.zeros(periods),
            "discharge_kwh": np.zeros(periods),
            "price_import_per_kwh": np.full(periods, 0.2),
            "price_export_per_kwh": np.full(periods, 0.05),
        },
        index=index,
    )
    return BacktestResult(name, frame, (), periods, 0.0)


def test_a_march_run_has_only_march_in_local_time() -> None:
    # All of March in Europe/London: from 00:00 GMT on the 1st to 00:00 BST on 1 April
    # (= 2024-03-31T23:00Z); the last UTC hour of March is April's first local hour.
    span = pd.Timestamp("2024-03-31T23:00Z") - pd.Timestamp("2024-03-01T00:00Z")
    slots = int(span / pd.Timedelta(minutes=30))
    runs = [result("lp", "2024-03-01T00:00Z", slots, 0.1)]
    table = plots.monthly_savings(runs, "Europe/London")
    assert list(table.index) == ["2024-03"]
    assert table.loc["2024-03", "lp"] == pytest.approx(0.1 * slots)
    # --to 2024-04-01T00:00Z: the last UTC hour is April's first local hour; April gets no bar
    # of its own (an hour is no month), its money counts with March
    one_more = [result("lp", "2024-03-01T00:00Z", slots + 2, 0.1)]
    table = plots.monthly_savings(one_more, "Europe/London")
    assert list(table.index) == ["2024-03"]
    assert table.loc["2024-03", "lp"] == pytest.approx(0.1 * (slots + 2))
    # a real day of April is April's
    into_april = [result("lp", "2024-03-01T00:00Z", slots + 48, 0.1)]
    table = plots.monthly_savings(into_april, "Europe/London")
    assert list(table.index) == ["2024-03", "2024-04"]
    assert table.loc["2024-04", "lp"] == pytest.approx(0.1 * 48)
    # a zone west of UTC: a UTC --from reaches back into the previous local month
    new_york = [result("lp", "2024-03-01T00:00Z", slots, 0.1)]
    assert list(plots.monthly_savings(new_york, "America/New_York").index) == ["2024-03"]


def test_bars_sit_on_their_month_and_axes_carry_the_currency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = [result(n, "2024-03-01T00:00Z", 48 * 45, s) for n, s in
            (("perfect", 0.2), ("lp", 0.15), ("cheapest-slots", 0.1), ("self-use", 0.0),
             ("none", 0.0))]  # fmt: skip
    figures: list[plt.Figure] = []
    close = plt.close
    monkeypatch.setattr(plots.plt, "close", figures.append)
    plots.plot_all(runs, tmp_path, "Europe/London", "EUR")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cumulative-savings.png", "monthly-savings.png", "typical-day.png",
    ]  # fmt: skip
    cumulative, day, months = figures
    assert cumulative.axes[0].get_ylabel() == "cumulative savings (EUR)"
    assert day.axes[0].get_ylabel() == "mean price (EUR/kWh)"
    ax = months.axes[0]
    assert ax.get_ylabel() == "savings per month (EUR)"
    ticks = ax.get_xticks()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024-03", "2024-04"]
    # Each month's group of bars is centred on its tick.
    for k, tick in enumerate(ticks):
        centres = [bar.get_x() + bar.get_width() / 2 for c in ax.containers for bar in [c[k]]]
        assert np.mean(centres) == pytest.approx(tick)
    # self-use and none coincide here, and still look different.
    lines = cumulative.axes[0].get_lines()
    by_name = {line.get_label(): line for line in lines}
    a, b = by_name["self-use"], by_name["none"]
    assert (a.get_linestyle(), a.get_marker(), a.get_color()) != (
        b.get_linestyle(), b.get_marker(), b.get_color(),
    )  # fmt: skip
    assert a.get_linestyle() != b.get_linestyle() and a.get_marker() != b.get_marker()
    for fig in figures:
        close(fig)


def _overlapping(fig: plt.Figure) -> list[tuple[str, str]]:
    """Neighbouring x tick labels (of every axis) whose boxes overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    clashes = []
    for ax in fig.axes:
        labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        boxes = [t.get_window_extent(renderer) for t in labels]
        order = sorted(range(len(boxes)), key=lambda i: boxes[i].x0)
        for i, j in itertools.pairwise(order):
            if boxes[i].overlaps(boxes[j]):
                clashes.append((labels[i].get_text(), labels[j].get_text()))
    return clashes


@pytest.mark.parametrize("days", [2, 40, 395])
def test_x_labels_never_overlap_and_dates_are_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, days: int
) -> None:
    runs = [result(n, "2022-11-01T00:00Z", 48 * days, 0.1) for n in ("perfect", "lp")]
    figures: list[plt.Figure] = []
    close = plt.close
    monkeypatch.setattr(plots.plt, "close", figures.append)
    plots.plot_all(runs, tmp_path, "Europe/London", "GBP")
    monkeypatch.undo()
    try:
        for fig in figures:
            assert _overlapping(fig) == []
        assert figures[0].axes[0].get_xlabel() == "time (Europe/London)"
    finally:
        for fig in figures:
            close(fig)
