"""Check a price series before it reaches the planner, and apply the configured policy.

Problems found, each naming its first slot: missing slots (gaps), duplicated slots, slots off the
grid, NaN/infinite prices, a run of exact zeros long enough to look like a publishing glitch
(``zero-run``), a shorter run of exact zeros that stands out from its neighbours
(``suspect-zero``, see ``suspect_zeros``), and prices outside the plausible range. Policy
``reject`` raises ``TariffError``; policy ``fallback`` fills every bad slot from a fallback series
and records a warning. ``usable`` keeps every good slot and drops the bad ones (the service
stores those: a hole only shortens the horizon).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

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
    # Suspect zeros: judged on up to ``neighbours`` prices each side within ``neighbour_hours``.
    neighbour_hours: float = 6.0
    neighbours: int = 8
    zero_jump: float = 4.0


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad slot: ``kind`` is missing | duplicate | off-grid | nan | zero-run | implausible."""

    kind: str
    slot: datetime
    detail: str = ""


BAD_KINDS = frozenset({"duplicate", "off-grid", "nan", "zero-run", "suspect-zero", "implausible"})


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


def _runs(values: npt.NDArray[np.float64]) -> list[tuple[int, int]]:
    """``(first, end)`` positions of every run of exact zeros."""
    zero = (values == 0.0).astype(np.int8)
    edges = np.diff(np.concatenate(([0], zero, [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def _side(
    index: pd.DatetimeIndex, good: npt.NDArray[np.bool_], positions: range, limit: pd.Timestamp,
    after: bool, count: int,
) -> list[int]:  # fmt: skip
    """Up to ``count`` positions of good prices from ``positions`` outward, not past ``limit``."""
    found: list[int] = []
    for i in positions:
        if (index[i] > limit) if after else (index[i] < limit):
            break
        if good[i]:
            found.append(i)
            if len(found) == count:
                break
    return found if after else found[::-1]


def suspect_zeros(prices: pd.Series, rules: Rules | None = None) -> pd.DatetimeIndex:
    """Slots of ``prices`` (indexed by UTC slot start; include stored neighbours) holding exact
    zeros that stand out from their neighbours: a publishing glitch, not a price.

    A run of zeros is judged on the nearest non-zero prices on each side (up to
    ``rules.neighbours`` within ``rules.neighbour_hours``): it is suspect when the smallest of the
    two prices next to it is more than ``rules.zero_jump`` times the neighbours' median step from
    slot to slot. Real zeros come among small or jumpy prices (none of the 373 exact zeros in the
    shipped Agile and day-ahead files is flagged); a glitch is a cliff to 0 and back. Fewer than
    three neighbours: no judgement (not suspect).
    """
    rules = rules or Rules()
    series = prices[~prices.index.duplicated()].sort_index()
    index = pd.DatetimeIndex(series.index)
    values = series.to_numpy(np.float64)
    good = np.isfinite(values) & (values != 0.0)
    reach = pd.Timedelta(hours=rules.neighbour_hours)
    flagged: list[pd.Timestamp] = []
    for lo, hi in _runs(values):
        before = _side(
            index, good, range(lo - 1, -1, -1), index[lo] - reach, False, rules.neighbours
        )
        after = _side(
            index, good, range(hi, len(values)), index[hi - 1] + reach, True, rules.neighbours
        )
        if len(before) + len(after) < 3:
            continue
        steps = [abs(values[b] - values[a]) for side in (before, after) for a, b in pairwise(side)]
        nearest = [abs(values[before[-1]])] if before else []
        nearest += [abs(values[after[0]])] if after else []
        step = float(np.median(steps)) if steps else 0.0
        if min(nearest) > rules.zero_jump * step:
            flagged.extend(index[lo:hi])
    return pd.DatetimeIndex(flagged, tz="UTC")


def grid_for(start: datetime, end: datetime, step: pd.Timedelta) -> pd.DatetimeIndex:
    """Slot starts ``[start, end)`` every ``step`` (UTC)."""
    return pd.date_range(require_utc(start), require_utc(end), freq=step, inclusive="left")


def find_problems(
    series: PriceSeries,
    start: datetime,
    end: datetime,
    rules: Rules,
    step: pd.Timedelta,
    neighbours: pd.Series | None = None,
) -> list[Problem]:
    """Every bad slot of ``series`` on the ``step`` grid over ``[start, end)``; suspect zeros are
    judged with the stored ``neighbours`` (prices by slot start) as well as the series."""
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
    long_zeros = grid[_zero_runs(values, zero_len)]
    problems += [Problem("zero-run", t) for t in long_zeros]
    suspects = suspect_zeros(_with_neighbours(series, neighbours), rules)
    suspects = suspects[suspects.isin(grid) & ~suspects.isin(long_zeros)]
    problems += [Problem("suspect-zero", t) for t in suspects]
    wild = np.isfinite(values) & (
        (values < rules.min_price_per_kwh) | (values > rules.max_price_per_kwh)
    )
    problems += [
        Problem("implausible", t, f"{v:g}") for t, v in zip(grid[wild], values[wild], strict=True)
    ]
    return sorted(problems, key=lambda p: (p.slot, p.kind))


def _with_neighbours(series: PriceSeries, neighbours: pd.Series | None) -> pd.Series:
    """The series' prices over the stored ``neighbours`` (the series wins where both have one)."""
    own = series.prices
    own = own[~own.index.duplicated()]
    if neighbours is None or neighbours.empty:
        return own
    others = neighbours[~neighbours.index.isin(own.index)]
    combined: pd.Series = pd.concat([others.astype(np.float64), own]).sort_index()
    return combined


def usable(
    series: PriceSeries,
    start: datetime,
    end: datetime,
    rules: Rules,
    step: pd.Timedelta,
    neighbours: pd.Series | None = None,
) -> tuple[PriceSeries, list[Problem]]:
    """Every good slot of ``series`` in ``[start, end)`` and the problems found: duplicated,
    off-grid, NaN, implausible and zero-glitch slots are left out; missing ones are holes."""
    problems = find_problems(series, start, end, rules, step, neighbours)
    bad = pd.DatetimeIndex([p.slot for p in problems if p.kind in BAD_KINDS])
    frame = series.window(start, end).frame
    keep = ~frame.index.isin(bad) & ~frame.index.duplicated(keep=False)
    return series.with_frame(frame[keep]), problems


def without_suspect_zeros(
    series: PriceSeries, neighbours: pd.Series | None = None, rules: Rules | None = None
) -> tuple[PriceSeries, pd.DatetimeIndex]:
    """``series`` without its suspect zeros (judged with the stored ``neighbours`` too), and
    the slots left out: they are never stored, so nothing plans on them as free energy, and a
    later fetch fills them."""
    suspects = suspect_zeros(_with_neighbours(series, neighbours), rules)
    suspects = suspects[suspects.isin(series.frame.index)]
    if suspects.empty:
        return series, suspects
    return series.with_frame(series.frame[~series.frame.index.isin(suspects)]), suspects


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
