"""Household load forecasts made at a decision time from the history before it.

Each method maps ``(series, now, targets)`` to kWh per target slot, reading only
``series.kwh[:now]`` (``SlotSeries.values`` enforces it). The methods, chosen by
``forecast.load_method`` in the config and compared walk-forward in ``docs/forecast.md``
(``benchmarks/forecast_eval.py``):

- ``weekday``: the mean of the same local time on the same weekday over the last four weeks
  (lags 7, 14, 21, 28 days), the classic lagged profile used by most home-battery tools.
- ``recent``: the same local time on the most recent days already measured at ``now``,
  weighted by recency (``decay`` per day back).
- ``blend``: ``weekday_weight`` × ``weekday`` + the rest × ``recent``.
- ``blend-inday``: ``blend`` scaled by how the load measured over the last ``window_hours``
  compares with what ``blend`` expected for them, damped and fading over the horizon.

Slots a method cannot fill (short or gappy history) take the mean by local time of day over the
last 28 days, then a constant (``fallback_kwh``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from optimizer.config import ForecastSettings
from optimizer.domain import LOAD_METHODS, LoadMethodName
from optimizer.errors import InvalidInput
from optimizer.forecast.grid import IntArray, SlotSeries
from optimizer.timeseries import FloatArray

WEEKDAY_LAGS_DAYS: tuple[int, ...] = (7, 14, 21, 28)
PROFILE_DAYS = 28


@dataclass(frozen=True, slots=True)
class LoadForecastParams:
    """Tuning of the load methods (defaults chosen walk-forward before the test year)."""

    #: ``weekday``: days back (the same weekday).
    weekday_lags: tuple[int, ...] = WEEKDAY_LAGS_DAYS

    #: Most recent days used by ``recent`` and ``blend``.
    recent_days: int = 3
    #: Weight of each further day back in ``recent`` (1 = plain mean).
    decay: float = 0.85
    #: Share of ``weekday`` in ``blend``.
    weekday_weight: float = 0.3
    #: ``blend-inday``: hours of measured load compared with the forecast.
    window_hours: float = 2.0
    #: ``blend-inday``: share of the measured ratio applied (0 = none, 1 = all).
    damping: float = 0.8
    #: ``blend-inday``: hours over which the correction fades to nothing (e-folding).
    fade_hours: float = 6.0
    #: ``blend-inday``: the ratio is clipped to [1/limit, limit].
    ratio_limit: float = 2.0


def _nanmean_weighted(values: FloatArray, weights: FloatArray) -> FloatArray:
    """Row-wise weighted mean over axis 0 ignoring NaN; NaN where a column has nothing."""
    present = np.isfinite(values)
    w = np.where(present, weights[:, None], 0.0)
    total = w.sum(axis=0)
    sums = np.where(present, values, 0.0) * w
    out = np.full(values.shape[1], np.nan)
    return np.asarray(np.divide(sums.sum(axis=0), total, out=out, where=total > 0))


def weekday_rows(
    series: SlotSeries, now: int, targets: IntArray, lags: tuple[int, ...]
) -> FloatArray:
    """The same local time ``lags`` days before each target (lags × targets; NaN: unmeasured)."""
    days = np.asarray(lags, dtype=np.int64)[:, None]  # one broadcast call for every lag
    return series.values(series.days_back(targets[None, :], days), now)


def recent_rows(series: SlotSeries, now: int, targets: IntArray, days: int) -> FloatArray:
    """The same local time on the last ``days`` days measured by ``now`` (days × targets,
    newest first). For a target ``h`` slots ahead the first day is the nearest whole local day
    back that is already in the past at ``now``."""
    first = (targets - now) // series.per_day + 1
    back = first[None, :] + np.arange(days, dtype=np.int64)[:, None]  # days × targets
    return series.values(series.days_back(targets[None, :], back), now)


def weekday(series: SlotSeries, now: int, targets: IntArray, lags: tuple[int, ...]) -> FloatArray:
    """Mean of the same local time ``lags`` days before each target (measured before ``now``)."""
    return _nanmean_weighted(weekday_rows(series, now, targets, lags), np.ones(len(lags)))


def recent(series: SlotSeries, now: int, targets: IntArray, days: int, decay: float) -> FloatArray:
    """Recency-weighted mean of ``recent_rows`` (each further day back weighted ``decay``)."""
    rows = recent_rows(series, now, targets, days)
    return _nanmean_weighted(rows, decay ** np.arange(days, dtype=np.float64))


def profile(series: SlotSeries, now: int, targets: IntArray) -> FloatArray:
    """Mean by local time of day over the ``PROFILE_DAYS`` days before ``now``."""
    lo = max(0, now - PROFILE_DAYS * series.per_day)
    past = np.arange(lo, min(now, len(series)), dtype=np.int64)
    values = series.values(past, now)
    keep = np.isfinite(values)
    slot_of_day = series.local_slot_of_day(past[keep])
    sums = np.bincount(slot_of_day, weights=values[keep], minlength=series.per_day)
    counts = np.bincount(slot_of_day, minlength=series.per_day)
    means = np.divide(sums, counts, out=np.full(series.per_day, np.nan), where=counts > 0)
    return np.asarray(means[series.local_slot_of_day(targets)], dtype=np.float64)


def blend(
    series: SlotSeries, now: int, targets: IntArray, params: LoadForecastParams
) -> FloatArray:
    """``weekday_weight`` × ``weekday`` + the rest × ``recent`` (where one of them has no data,
    the other), NaN where neither has data.

    The two methods' rows are read in one go and weighted in one go (a forecast at every
    decision of a backtest: each NumPy call on these short arrays costs more than its
    arithmetic); every value is the same IEEE operation on the same numbers as in ``weekday``
    and ``recent``, so the bits are theirs.
    """
    first = (targets - now) // series.per_day + 1
    return _blend_read(series, targets, first, now, params)[0]


def _blend_read(
    series: SlotSeries, targets: IntArray, first: IntArray, before: int, p: LoadForecastParams
) -> tuple[FloatArray, IntArray]:
    """``blend`` of ``targets`` whose recent days start ``first`` days back, reading only
    slots before ``before``; and the newest slot each target's rows name (-1: none)."""
    lags, days = np.asarray(p.weekday_lags, dtype=np.int64), p.recent_days
    back = np.concatenate(
        [
            np.broadcast_to(lags[:, None], (len(lags), len(targets))),
            first[None, :] + np.arange(days, dtype=np.int64)[:, None],
        ]
    )  # weekday rows, then recent rows (newest first): (lags + days) × targets
    slots = series.days_back(targets[None, :], back)
    rows = series.values(slots, before)
    weights = np.concatenate([np.ones(len(lags)), p.decay ** np.arange(days, dtype=np.float64)])
    present = np.isfinite(rows)
    w = np.where(present, weights[:, None], 0.0)
    sums = np.where(present, rows, 0.0) * w
    cut = len(lags)
    week = _ratio(sums[:cut].sum(axis=0), w[:cut].sum(axis=0))
    near = _ratio(sums[cut:].sum(axis=0), w[cut:].sum(axis=0))
    mixed = p.weekday_weight * week + (1 - p.weekday_weight) * near
    found = np.where(np.isfinite(mixed), mixed, np.where(np.isfinite(week), week, near))
    return found, slots.max(axis=0, initial=-1)


def _ratio(sums: FloatArray, total: FloatArray) -> FloatArray:
    """``sums / total`` where ``total > 0``, else NaN (``_nanmean_weighted``'s last step)."""
    out = np.full(len(total), np.nan)
    return np.asarray(np.divide(sums, total, out=out, where=total > 0))


@dataclass(frozen=True, slots=True)
class LoadForecaster:
    """One load method with its parameters; call it as ``forecaster(series, now, targets)``."""

    method: LoadMethodName = "blend"
    params: LoadForecastParams = LoadForecastParams()
    fallback_kwh: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in LOAD_METHODS:
            raise InvalidInput(
                f"forecast.load_method {self.method!r}: must be one of {', '.join(LOAD_METHODS)}"
            )

    def raw(self, series: SlotSeries, now: int, targets: IntArray) -> FloatArray:
        """The method's forecast, NaN where it has no data."""
        p = self.params
        if self.method == "weekday":
            return weekday(series, now, targets, p.weekday_lags)
        if self.method == "recent":
            return recent(series, now, targets, p.recent_days, p.decay)

        def base(slots: IntArray, at: int) -> FloatArray:
            return blend(series, at, slots, p)

        forecast = base(targets, now)
        if self.method == "blend":
            return forecast
        return forecast * self._inday_factor(series, now, targets, base)

    def _inday_factor(
        self,
        series: SlotSeries,
        now: int,
        targets: IntArray,
        base: Callable[[IntArray, int], FloatArray],
    ) -> FloatArray:
        """1 + damped (measured/expected − 1) over the last window, fading with the horizon."""
        p = self.params
        window = max(1, round(p.window_hours * 60 / series.slot_minutes))
        past = np.arange(now - window, now, dtype=np.int64)
        measured = series.values(past, now)
        expected = base(past, now - window)
        ok = np.isfinite(measured) & np.isfinite(expected)
        if ok.sum() < window / 2 or expected[ok].sum() <= 0:
            return np.ones(len(targets))
        ratio = float(
            np.clip(measured[ok].sum() / expected[ok].sum(), 1 / p.ratio_limit, p.ratio_limit)
        )
        ahead_h = (targets - now) * series.slot_minutes / 60.0
        fade = np.exp(-ahead_h / p.fade_hours) if p.fade_hours > 0 else np.zeros(len(targets))
        return np.asarray(1.0 + p.damping * (ratio - 1.0) * fade, dtype=np.float64)

    def scenarios(
        self, series: SlotSeries, now: int, targets: IntArray, groups: int
    ) -> tuple[FloatArray, FloatArray]:
        """``groups`` load paths (``groups`` × targets, kWh) around the forecast, and their
        probabilities (summing to 1).

        The lagged days the methods read (the same-weekday days and the recent days), each
        scaled slot by slot so that their mean is this forecaster's forecast, ordered by their
        energy over the targets and averaged in ``groups`` groups as equal as can be (low …
        high), each weighted by its share of the days: the weighted mean is the forecast.
        """
        if groups < 1:
            raise InvalidInput(f"forecast.hedge_scenarios = {groups}: must be 1 or more")
        point = self(series, now, targets)
        p = self.params
        rows = np.concatenate(
            [
                weekday_rows(series, now, targets, p.weekday_lags),
                recent_rows(series, now, targets, p.recent_days),
            ]
        )
        rows = np.where(np.isfinite(rows), rows, point)
        mean = rows.mean(axis=0)
        scale = np.divide(point, mean, out=np.ones_like(point), where=mean > 0)
        rows = np.where(mean > 0, rows * scale, point)
        order = np.argsort(rows.sum(axis=1), kind="stable")
        parts = np.array_split(order, min(groups, len(order)))
        weights = np.asarray([len(part) / len(order) for part in parts], dtype=np.float64)
        return np.stack([rows[part].mean(axis=0) for part in parts]), weights

    def __call__(self, series: SlotSeries, now: int, targets: IntArray) -> FloatArray:
        """kWh per target slot (never NaN): the method, then the profile, then the constant."""
        return self.filled(series, now, targets, self.raw(series, now, targets))

    def filled(
        self, series: SlotSeries, now: int, targets: IntArray, forecast: FloatArray
    ) -> FloatArray:
        """``forecast`` (``raw``'s, changed in place) with the profile, then the constant,
        where it is NaN; never below zero."""
        missing = ~np.isfinite(forecast)
        if missing.any():
            filler = profile(series, now, targets[missing])
            forecast[missing] = np.where(np.isfinite(filler), filler, self.fallback_kwh)
        return np.maximum(forecast, 0.0)


class LoadForecastTable:
    """``forecaster(series, now, targets)`` at many decision times ``now`` on one ``series`` (a
    backtest's), bit for bit, from a table of what does not depend on ``now``.

    A ``blend`` forecast depends on ``now`` only through ``first``, how many whole days back
    from a target its recent days start, and through the cut of the slots at or after ``now``.
    The table holds, for every slot of the series as a target and ``first`` = 1, 2, … (built
    as far as a call asks), the blend read without that cut and the newest slot it read. A
    call takes its targets' values from it when each one's newest slot is before ``now`` (the
    cut then changes nothing; it does near a clock change) and the targets lie in the series;
    otherwise, and for the other methods, the forecast is made afresh. ``ahead(now, stop)``, the
    backtest's call, reads the slots from ``now`` as one slice a day ahead. Memory: five numbers
    a slot per ``first`` (80 bytes a slot for a 36-hour horizon).
    """

    __slots__ = ("clamped", "forecaster", "gaps", "newest", "reach", "series", "values")

    def __init__(self, forecaster: LoadForecaster, series: SlotSeries) -> None:
        self.forecaster, self.series = forecaster, series
        n = len(series)
        #: row ``first - 1``: each slot's blend as a target, and the newest slot it read
        self.values, self.newest = np.empty((0, n)), np.empty((0, n), dtype=np.int64)
        #: the blend held at zero or more (the forecast where the blend has data), the newest
        #: slot read by this slot or any before it, and how many slots before each lack data
        self.clamped, self.reach = np.empty((0, n)), np.empty((0, n), dtype=np.int64)
        self.gaps = np.empty((0, n + 1), dtype=np.int64)

    def ahead(self, now: int, stop: int) -> FloatArray:
        """kWh per slot ``now .. stop - 1``: ``forecaster(series, now, np.arange(now, stop))``.

        Day ``k`` ahead (targets ``now + k × per_day …``) is row ``k`` of the table: one slice
        when no slot of it lacks data and none read at or after ``now``.
        """
        per_day = self.series.per_day
        if self.forecaster.method != "blend" or not 0 <= now < stop <= len(self.series):
            return self(now, np.arange(now, stop, dtype=np.int64))
        rows = (stop - 1 - now) // per_day + 1
        self._grow(rows)
        parts = []
        for k in range(rows):
            a, b = now + k * per_day, min(stop, now + (k + 1) * per_day)
            if self.reach[k, b - 1] >= now or self.gaps[k, b] != self.gaps[k, a]:
                return self(now, np.arange(now, stop, dtype=np.int64))
            parts.append(self.clamped[k, a:b])
        return parts[0].copy() if rows == 1 else np.concatenate(parts)

    def __call__(self, now: int, targets: IntArray) -> FloatArray:
        """kWh per target slot: ``forecaster(series, now, targets)``."""
        raw = self._raw(now, targets)
        if raw is None:
            return self.forecaster(self.series, now, targets)
        return self.forecaster.filled(self.series, now, targets, raw)

    def _raw(self, now: int, targets: IntArray) -> FloatArray | None:
        """``forecaster.raw`` from the table (``None``: not from it)."""
        if self.forecaster.method != "blend" or not len(targets):
            return None
        row = (targets - now) // self.series.per_day
        if row.min() < 0 or targets.min() < 0 or targets.max() >= len(self.series):
            return None
        self._grow(int(row.max()) + 1)
        if (self.newest[row, targets] >= now).any():
            return None
        return np.asarray(self.values[row, targets])

    def _grow(self, rows: int) -> None:
        """Build the table's rows up to ``first`` = ``rows``."""
        if rows <= len(self.values):
            return
        everything = np.arange(len(self.series), dtype=np.int64)
        for first in range(len(self.values) + 1, rows + 1):
            ahead = np.full(len(everything), first, dtype=np.int64)
            found, newest = _blend_read(
                self.series, everything, ahead, len(self.series), self.forecaster.params
            )
            self.values = np.vstack([self.values, found])
            self.newest = np.vstack([self.newest, newest])
            self.clamped = np.vstack([self.clamped, np.maximum(found, 0.0)])
            self.reach = np.vstack([self.reach, np.maximum.accumulate(newest)])
            lacking = np.concatenate([[0], np.cumsum(~np.isfinite(found))])
            self.gaps = np.vstack([self.gaps, lacking])


def load_forecaster(settings: ForecastSettings, fallback_kwh: float) -> LoadForecaster:
    """The configured load forecaster (``[forecast]``); ``fallback_kwh`` per slot without data."""
    params = LoadForecastParams(
        weekday_lags=settings.load_lag_days,
        recent_days=settings.recent_days,
        decay=settings.recent_decay,
        weekday_weight=settings.weekday_weight,
        window_hours=settings.inday_window_hours,
        damping=settings.inday_damping,
        fade_hours=settings.inday_fade_hours,
    )
    return LoadForecaster(settings.load_method, params, fallback_kwh)
