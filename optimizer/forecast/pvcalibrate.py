"""Learn the roof: calibrate a PV forecast against the PV the device measured, on the past only.

A weather forecast knows the sky, not the roof: a wrong tilt or azimuth shifts energy between
morning and afternoon, shading takes an hour out of some seasons, a wrong kWp scales all of it.
``Calibration`` learns a multiplicative correction from pairs of (forecast, measured) energy:

- **by time of day** (UTC hour of the slot's midpoint: a roof's geometry follows the sun, which
  keeps solar time, not the local clock's daylight saving), fitted on recent days weighted more
  (``half_life_days``), so it follows the season as it turns;
- **by sky condition** within each hour: the forecast as a share of the highest forecast seen at
  that hour over the window (``clear_quantile``, a clear-sky proxy needing no coordinates),
  in ``sky_bins`` bins: cloudy-day forecasts err differently from clear ones.

Each factor is the ratio of weighted sums Σmeasured / Σforecast, shrunk toward its parent
(sky bin → hour → whole roof → 1) by ``prior_slots`` pseudo-slots of the parent's ratio, so a
bin with few pairs keeps its parent's factor; bins with fewer than ``min_slots`` pairs take it
outright. Factors are clipped to ``[0, max_factor]`` and the forecast to ≥ 0 first, so a
calibrated forecast is never negative. Zero stays zero (a ratio cannot create sunshine).

``InDay`` is the other half, for the hours ahead of now: the PV measured over the last hours
against what the forecast said for them scales the rest of the day (a damped ratio that fades).

``walk_forward`` refits every day on the pairs that ended before it: the honest evaluation and
what the backtest (``--pv-calibrate``) uses. ``benchmarks/pv_calibration.py`` measures it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.errors import InvalidInput
from optimizer.timeseries import FloatArray

HOURS = 24


@dataclass(frozen=True, slots=True)
class CalibrationParams:
    """How the correction is learnt (defaults chosen a priori, not tuned on the test data)."""

    #: weight of a pair halves every this many days back (the season turns)
    half_life_days: float = 30.0
    #: only pairs within this many days back are read
    window_days: int = 120
    #: pseudo-slots of the parent's ratio added to each bin (shrinkage toward the parent)
    prior_slots: float = 20.0
    #: a bin with fewer pairs takes its parent's factor outright
    min_slots: int = 8
    #: sky-condition bins: forecast ÷ the hour's clear-sky proxy, edges between bins
    sky_edges: tuple[float, ...] = (0.35, 0.7)
    #: the hour's clear-sky proxy: this quantile of its forecasts over the window
    clear_quantile: float = 0.95
    #: factors are clipped to [0, max_factor]
    max_factor: float = 3.0
    #: pairs whose forecast and measured are both below this (kWh) are night: not read
    night_kwh: float = 1e-3


def _hour_of(index: pd.DatetimeIndex, slot_minutes: float) -> np.ndarray:
    """UTC hour (0..23) of each slot's midpoint."""
    utc = index.tz_convert("UTC")
    minutes = utc.hour * 60 + utc.minute + slot_minutes / 2
    return np.asarray((minutes // 60) % HOURS, dtype=np.int64)


def _slot_minutes(index: pd.DatetimeIndex) -> float:
    if len(index) < 2:
        return 0.0
    return float(np.median(np.diff(index.as_unit("ns").asi8)) / 60e9)


def _utc(series: pd.Series, name: str) -> pd.Series:
    index = series.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise InvalidInput(f"PV calibration: {name} must have a UTC-aware DatetimeIndex")
    return series.astype(np.float64)


def _shrink(
    m_in: npt.ArrayLike,
    f_in: npt.ArrayLike,
    n_in: npt.ArrayLike,
    parent: FloatArray,
    p: CalibrationParams,
) -> FloatArray:
    """Σm/Σf shrunk toward ``parent`` with ``prior_slots`` pseudo-slots of mean forecast."""
    m, f, n = (np.asarray(a, dtype=np.float64) for a in (m_in, f_in, n_in))
    mean_f = np.divide(f, n, out=np.zeros_like(f), where=n > 0)
    pseudo = p.prior_slots * mean_f
    ratio = np.divide(m + pseudo * parent, f + pseudo, out=parent.copy(), where=(f + pseudo) > 1e-9)
    return np.asarray(np.where(n >= p.min_slots, ratio, parent), dtype=np.float64)


@dataclass(frozen=True)
class Calibration:
    """Factors by UTC hour (``hour_factor[h]``) and by hour × sky bin (``sky_factor[h, b]``),
    with each hour's clear-sky proxy in kWh per slot (``clear_kwh[h]``, for the sky bins)."""

    hour_factor: FloatArray
    sky_factor: FloatArray
    clear_kwh: FloatArray
    slot_minutes: float
    params: CalibrationParams = field(default_factory=CalibrationParams)
    pairs: int = 0

    @classmethod
    def identity(
        cls, params: CalibrationParams | None = None, slot_minutes: float = 30.0
    ) -> Calibration:
        """No correction (factor 1 everywhere): what ``fit`` gives without data."""
        p = params or CalibrationParams()
        bins = len(p.sky_edges) + 1
        return cls(np.ones(HOURS), np.ones((HOURS, bins)), np.zeros(HOURS), slot_minutes, p)

    @classmethod
    def fit(
        cls,
        forecast: pd.Series,
        measured: pd.Series,
        params: CalibrationParams | None = None,
    ) -> Calibration:
        """Learn the factors from ``forecast`` and ``measured`` (kWh per slot, UTC index, one
        slot length; pairs where either is NaN are skipped; the newest pair is "now").

        Raises ``InvalidInput`` for an index without a zone.
        """
        p = params or CalibrationParams()
        f_all = _utc(forecast, "forecast")
        m_all = _utc(measured, "measured").reindex(f_all.index)
        keep = np.isfinite(f_all.to_numpy()) & np.isfinite(m_all.to_numpy())
        index = pd.DatetimeIndex(f_all.index[keep])
        minutes = _slot_minutes(pd.DatetimeIndex(f_all.index))
        if not len(index):
            return cls.identity(p, minutes or 30.0)
        return cls.from_arrays(
            index,
            np.maximum(f_all.to_numpy()[keep], 0.0),
            np.maximum(m_all.to_numpy()[keep], 0.0),
            minutes,
            p,
        )

    @classmethod
    def from_arrays(
        cls,
        index: pd.DatetimeIndex,
        f: FloatArray,
        m: FloatArray,
        slot_minutes: float,
        p: CalibrationParams,
    ) -> Calibration:
        """``fit`` on aligned arrays already free of NaN and ≥ 0 (``index`` UTC)."""
        if not len(index):
            return cls.identity(p, slot_minutes)
        ns = index.as_unit("ns").asi8
        age_days = (ns[-1] - ns) / 86400e9
        day = f > p.night_kwh  # a ratio cannot move a zero forecast: fit where it can
        use = day & (age_days <= p.window_days)
        f, m, age_days = f[use], m[use], age_days[use]
        hour = _hour_of(index[use], slot_minutes)
        weight = 0.5 ** (age_days / p.half_life_days)
        clear = np.zeros(HOURS)
        for h in np.unique(hour):
            clear[h] = float(np.quantile(f[hour == h], p.clear_quantile))
        sky = _sky_bin(f, clear[hour], p)
        bins = len(p.sky_edges) + 1
        wm, wf = weight * m, weight * f
        total = _shrink(
            np.array([wm.sum()]), np.array([wf.sum()]), np.array([float(len(f))]), np.ones(1), p
        )
        h_m = np.bincount(hour, wm, HOURS)
        h_f = np.bincount(hour, wf, HOURS)
        h_n = np.bincount(hour, minlength=HOURS).astype(np.float64)
        hour_factor = _shrink(h_m, h_f, h_n, np.full(HOURS, total[0]), p)
        cell = hour * bins + sky
        s_m = np.bincount(cell, wm, HOURS * bins).reshape(HOURS, bins)
        s_f = np.bincount(cell, wf, HOURS * bins).reshape(HOURS, bins)
        s_n = np.bincount(cell, minlength=HOURS * bins).reshape(HOURS, bins).astype(np.float64)
        parent = np.repeat(hour_factor[:, None], bins, axis=1)
        sky_factor = _shrink(s_m, s_f, s_n, parent, p)
        clip = (0.0, p.max_factor)
        return cls(
            np.clip(hour_factor, *clip),
            np.clip(sky_factor, *clip),
            clear,
            slot_minutes,
            p,
            len(f),
        )

    def factors(self, index: pd.DatetimeIndex, forecast: FloatArray) -> FloatArray:
        """The factor for each slot of ``index`` (UTC) given its forecast kWh."""
        hour = _hour_of(index, self.slot_minutes or _slot_minutes(index) or 30.0)
        sky = _sky_bin(forecast, self.clear_kwh[hour], self.params)
        return np.asarray(self.sky_factor[hour, sky], dtype=np.float64)

    def apply_array(self, index: pd.DatetimeIndex, forecast: FloatArray) -> FloatArray:
        """The calibrated kWh of ``forecast`` on the slots ``index`` (NaN stays NaN; ≥ 0)."""
        clean = np.maximum(np.nan_to_num(forecast, nan=0.0), 0.0)
        out = clean * self.factors(index, clean)
        return np.where(np.isnan(forecast), np.nan, out)

    def apply(self, forecast: pd.Series) -> pd.Series:
        """The calibrated forecast (kWh per slot, same UTC index; never negative)."""
        series = _utc(forecast, "forecast")
        values = self.apply_array(pd.DatetimeIndex(series.index), series.to_numpy())
        return pd.Series(values, index=series.index, name=forecast.name)


def _sky_bin(f: FloatArray, clear: FloatArray, p: CalibrationParams) -> np.ndarray:
    """Bin of ``f`` ÷ ``clear`` on ``p.sky_edges`` (bin 0 where the proxy is 0)."""
    share = np.divide(f, clear, out=np.zeros_like(f), where=clear > 0)
    return np.asarray(np.searchsorted(np.asarray(p.sky_edges), share, side="right"))


def walk_forward(
    forecast: pd.Series,
    measured: pd.Series,
    params: CalibrationParams | None = None,
    timezone: str = "UTC",
) -> pd.Series:
    """Each day's forecast calibrated by the fit on the pairs that ended before that day began
    (days in ``timezone``): what a device learning its roof would have had. Same index as
    ``forecast``; slots before any pair is known keep the forecast (clipped at 0)."""
    p = params or CalibrationParams()
    f_all = _utc(forecast, "forecast")
    m_all = _utc(measured, "measured").reindex(f_all.index)
    index = pd.DatetimeIndex(f_all.index).as_unit("ns")
    minutes = _slot_minutes(index) or 30.0
    fv, mv = f_all.to_numpy(), m_all.to_numpy()
    ok = np.isfinite(fv) & np.isfinite(mv)
    ends = index + pd.Timedelta(minutes=minutes)
    days = index.tz_convert(timezone).normalize()
    out = np.full(len(index), np.nan)
    for day in days.unique():
        rows = np.flatnonzero(days == day)
        start = day.tz_convert("UTC")
        past = ok & (ends <= start)
        lo = np.searchsorted(index.asi8, (start - pd.Timedelta(days=p.window_days + 1)).value)
        past[:lo] = False
        cal = Calibration.from_arrays(
            index[past], np.maximum(fv[past], 0.0), np.maximum(mv[past], 0.0), minutes, p
        )
        out[rows] = cal.apply_array(index[rows], fv[rows])
    return pd.Series(out, index=f_all.index, name=forecast.name)


@dataclass(frozen=True, slots=True)
class InDay:
    """The in-day correction: the PV measured over the last ``window_hours`` against what the
    forecast said for them scales the forecast ahead, by ``damping`` of the ratio (clipped to
    ``[1/limit, limit]``), fading with ``fade_hours`` (e-folding) over the horizon. Read only
    where the forecast said at least ``min_kwh`` over the window (daylight)."""

    window_hours: float = 2.0
    damping: float = 0.7
    fade_hours: float = 3.0
    limit: float = 2.0
    min_kwh: float = 0.05

    def factors(
        self, measured: FloatArray, forecast: FloatArray, t: int, stop: int, slot_minutes: int
    ) -> FloatArray:
        """Factors for slots ``[t, stop)`` from the pairs of the window before ``t``."""
        window = max(1, round(self.window_hours * 60 / slot_minutes))
        m, f = measured[max(0, t - window) : t], forecast[max(0, t - window) : t]
        ok = np.isfinite(m) & np.isfinite(f)
        if ok.sum() < window / 2 or f[ok].sum() < self.min_kwh:
            return np.ones(stop - t)
        ratio = float(np.clip(m[ok].sum() / f[ok].sum(), 1 / self.limit, self.limit))
        ahead_h = np.arange(stop - t) * slot_minutes / 60.0
        fade = np.exp(-ahead_h / self.fade_hours)
        return np.asarray(1.0 + self.damping * (ratio - 1.0) * fade, dtype=np.float64)
