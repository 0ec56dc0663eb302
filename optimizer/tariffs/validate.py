"""Check a price series before it reaches the planner, and apply the configured policy.

Problems found, each naming its first slot: missing slots (gaps), duplicated slots, slots off the
grid, NaN/infinite prices, a run of exact zeros long enough to look like a publishing glitch, and
prices outside the plausible range. Policy ``reject`` raises ``TariffError``; policy
``fallback`` fills every bad slot from a fallback series and records a warning.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.errors import TariffError
from optimizer.tariffs.model import END, PRICE, PriceSeries, price_frame, slot_length
from optimizer.timeseries import require_utc

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rules:
    """Plausible range in currency units per kWh; zero runs this long (hours) are glitches."""

    min_price_per_kwh: float = -1.0
    max_price_per_kwh: float = 2.0
    zero_run_hours: float = 12.0


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad slot: ``kind`` is missing | duplicate | off-grid | nan | zero-run | implausible."""

    kind: str
    slot: datetime
    detail: str = ""


def _stamp(moment: datetime | pd.Timestamp) -> str:
    return pd.Timestamp(moment).strftime("%Y-%m-%dT%H:%MZ")


def _zero_runs(values: npt.NDArray[np.float64], min_len: int) -> npt.NDArray[np.bool_]:
    """Mask of slots inside runs of at least ``min_len`` exact zeros."""
    zero = values == 0.0
    mask = np.zeros(len(values), dtype=np.bool_)
    edges = np.diff(np.concatenate(([0], zero.astype(np.int8), [0])))
    for lo, hi in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if hi - lo >= min_len:
            mask[lo:hi] = True
    return mask


def grid_for(start: datetime, end: datetime, step: pd.Timedelta) -> pd.DatetimeIndex:
    """Slot starts ``[start, end)`` every ``step`` (UTC)."""
    return pd.date_range(require_utc(start), require_utc(end), freq=step, inclusive="left")


def find_problems(
    series: PriceSeries, start: datetime, end: datetime, rules: Rules, step: pd.Timedelta
) -> list[Problem]:
    """Every bad slot of ``series`` on the ``step`` grid over ``[start, end)``."""
    grid = grid_for(start, end, step)
    frame = series.window(start, end).frame
    problems = [Problem("duplicate", t) for t in frame.index[frame.index.duplicated()]]
    problems += [Problem("off-grid", t) for t in frame.index[~frame.index.isin(grid)]]
    problems += [Problem("missing", t) for t in grid[~grid.isin(frame.index)]]
    values = frame[~frame.index.duplicated()].reindex(grid)[PRICE].to_numpy(np.float64)
    present = grid.isin(frame.index)
    bad = ~np.isfinite(values) & present
    problems += [Problem("nan", t) for t in grid[bad]]
    zero_len = max(1, int(pd.Timedelta(hours=rules.zero_run_hours) / step))
    problems += [Problem("zero-run", t) for t in grid[_zero_runs(values, zero_len)]]
    wild = np.isfinite(values) & (
        (values < rules.min_price_per_kwh) | (values > rules.max_price_per_kwh)
    )
    problems += [
        Problem("implausible", t, f"{v:g}") for t, v in zip(grid[wild], values[wild], strict=True)
    ]
    return sorted(problems, key=lambda p: (p.slot, p.kind))


def summary(name: str, problems: list[Problem]) -> str:
    """``name: 4 missing slot(s) (first 2023-10-29T00:00Z); ...`` — one clause per kind."""
    counts = Counter(p.kind for p in problems)
    first: dict[str, Problem] = {}
    for problem in problems:
        first.setdefault(problem.kind, problem)
    parts = []
    for kind, count in counts.items():
        where = _stamp(first[kind].slot)
        extra = f" = {first[kind].detail}/kWh" if first[kind].detail else ""
        parts.append(f"{count} {kind} slot(s) (first {where}{extra})")
    return f"{name}: " + "; ".join(parts)


def checked(
    series: PriceSeries,
    start: datetime,
    end: datetime,
    rules: Rules,
    fallback: PriceSeries | None = None,
    step: pd.Timedelta | None = None,
) -> PriceSeries:
    """``series`` on a clean grid over ``[start, end)``, or ``TariffError``.

    With ``fallback`` given, bad slots take the fallback's price (its slots are repeated or
    averaged onto this grid) and a warning names what was filled; without it, any problem
    rejects the series.
    """
    if step is None:
        step = slot_length(series.frame) if not series.empty else pd.Timedelta(minutes=30)
    name = f"{series.source} {series.tariff}"
    problems = find_problems(series, start, end, rules, step)
    grid = grid_for(start, end, step)
    if not problems:
        return series.with_frame(series.window(start, end).frame)
    if fallback is None:
        raise TariffError(summary(name, problems))
    bad = grid.isin(pd.DatetimeIndex([p.slot for p in problems]))
    frame = series.frame[~series.frame.index.duplicated(keep=False)]
    values = frame.reindex(grid)[PRICE].to_numpy(np.float64, copy=True)
    filler = _on_grid(fallback, grid, step)
    values[bad] = filler[bad]
    if not np.isfinite(values).all():
        hole = grid[~np.isfinite(values)][0]
        raise TariffError(f"{summary(name, problems)}; fallback has no price at {_stamp(hole)}")
    warning = f"{summary(name, problems)}: filled {int(bad.sum())} slot(s) from {fallback.source}"
    log.warning("%s", warning)
    return series.with_frame(price_frame(grid, grid + step, values), warning)


def _on_grid(
    fallback: PriceSeries, grid: pd.DatetimeIndex, step: pd.Timedelta
) -> npt.NDArray[np.float64]:
    """The fallback's price at each grid slot: the fallback slot containing its start."""
    frame = fallback.frame[~fallback.frame.index.duplicated()]
    if frame.empty:
        return np.full(len(grid), np.nan)
    position = frame.index.searchsorted(grid, side="right") - 1
    inside = position >= 0
    values = np.full(len(grid), np.nan)
    starts = frame.index[position[inside]]
    ends = pd.DatetimeIndex(frame[END].to_numpy()[position[inside]])
    covers = np.asarray(grid[inside] + step <= ends) & np.asarray(grid[inside] >= starts)
    picked = frame[PRICE].to_numpy(np.float64)[position[inside]]
    values[np.flatnonzero(inside)[covers]] = picked[covers]
    return values
