"""A gradient-boosted load forecaster (scikit-learn), to see whether a library model earns its
weight on a 2-core home server. Not a project dependency: ``forecast_eval.py`` and
``forecast_capture.py`` try it only when scikit-learn is importable
(``pip install scikit-learn``: about 170 MB with SciPy).

The model (``HistGradientBoostingRegressor``, squared error) predicts each target slot's kWh from
what the shipped methods see at the decision time: the same-weekday mean, the recency-weighted
recent days, the in-day ratio of the last four hours, the last 24 hours' and last 7 days' mean,
the local slot of the day, the weekday and the hours ahead. It is trained walk-forward: every
``retrain_days`` on up to a year of decisions before ``now`` (every 3 hours, 72 slots ahead).
"""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from optimizer.forecast.grid import IntArray, SlotSeries
from optimizer.forecast.load import LoadForecaster, LoadForecastParams, recent, weekday
from optimizer.timeseries import FloatArray

HORIZON = 72


class GbmForecaster:
    """Callable as ``(series, now, targets) -> kWh``, retrained on the past as ``now`` moves."""

    method = "gbm"

    def __init__(self, retrain_days: int = 14, history_days: int = 365) -> None:
        self.retrain_days, self.history_days = retrain_days, history_days
        self.params = LoadForecastParams()
        self.fallback = LoadForecaster("blend")
        self.model: HistGradientBoostingRegressor | None = None
        self.trained_at: int | None = None
        self.train_seconds = 0.0

    def features(self, series: SlotSeries, now: int, targets: IntArray) -> FloatArray:
        p = self.params
        week = weekday(series, now, targets, p.weekday_lags)
        near = recent(series, now, targets, p.recent_days, p.decay)
        day = series.per_day
        last = series.values(np.arange(now - 8, now, dtype=np.int64), now)
        last_day = series.values(np.arange(now - day, now, dtype=np.int64), now)
        last_week = series.values(np.arange(now - 7 * day, now, dtype=np.int64), now)
        expected = weekday(series, now - 8, np.arange(now - 8, now, dtype=np.int64), p.weekday_lags)
        ratio = np.nansum(last) / max(float(np.nansum(expected)), 1e-6)
        slot_of_day = series.local_slot_of_day(targets)
        weekday_of = self._weekday(series, targets)
        n = len(targets)
        return np.column_stack([
            week, near, np.full(n, ratio), np.full(n, np.nanmean(last_day)),
            np.full(n, np.nanmean(last_week)), slot_of_day, weekday_of, targets - now,
        ])  # fmt: skip

    @staticmethod
    def _weekday(series: SlotSeries, targets: IntArray) -> IntArray:
        """Local weekday (Monday 0) of each target slot."""
        zero = np.zeros(1, dtype=np.int64)
        first_local = int(series.local_slot_of_day(zero)[0])
        offsets = series.offset_slots[np.clip(targets, 0, len(series) - 1)]
        local = targets + offsets - int(series.offset_slots[0]) + first_local
        days = local // series.per_day
        start = series.start.astimezone(ZoneInfo(series.timezone or "UTC")).weekday()
        return np.asarray((start + days) % 7, dtype=np.int64)

    def train(self, series: SlotSeries, now: int) -> None:
        began = time.perf_counter()
        day = series.per_day
        first = max(28 * day, now - self.history_days * day)
        rows, ys = [], []
        for at in range(first, now - HORIZON, 6):
            targets = np.arange(at, at + HORIZON, dtype=np.int64)
            y = series.values(targets, now)
            ok = np.isfinite(y)
            if ok.sum() < HORIZON // 2:
                continue
            rows.append(self.features(series, at, targets)[ok])
            ys.append(y[ok])
        if rows:
            model = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05,
                                                  max_leaf_nodes=31, random_state=0)  # fmt: skip
            model.fit(np.concatenate(rows), np.concatenate(ys))
            self.model = model
        self.trained_at = now
        self.train_seconds += time.perf_counter() - began

    def __call__(self, series: SlotSeries, now: int, targets: IntArray) -> FloatArray:
        if self.trained_at is None or now - self.trained_at >= self.retrain_days * series.per_day:
            self.train(series, now)
        if self.model is None:
            return self.fallback(series, now, targets)
        predicted = self.model.predict(self.features(series, now, targets))
        return np.maximum(np.asarray(predicted, dtype=np.float64), 0.0)
