"""Walk-forward errors of the load forecasters on the shipped households.

At every decision time (each hour) each method forecasts the next 36 hours from the history
before that time only (``SlotSeries.values`` refuses anything later). Printed per household and
period, per method:

- MAE (kWh per slot) by horizon band (0-6 h, 6-12 h, 12-24 h, 24-36 h) over all hourly decisions;
- the error of the energy of each day's dear evening hours (16:00-19:00 local, the Agile peak)
  as forecast at 23:00 the evening before (when the night charge is planned) and at 12:00 the
  same day: MAE and bias (kWh per evening) and the MAE as a share of the mean evening energy;
- seconds per forecast.

    .venv/bin/python benchmarks/forecast_eval.py [--periods tune,test,lcl] [--grid] [--pv]

``tune`` is fawkesley's history before the 13-month price pair (2021-09-01 → 2022-11-01): the
defaults were chosen there (``--grid`` prints the search). ``test`` is the pair's 13 months;
``lcl`` is the Low Carbon London household over 2012-01-07 → 2014-02-28.
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.csvdata import read_energy_csv
from optimizer.domain import LOAD_METHODS
from optimizer.forecast.grid import SlotSeries, series_from
from optimizer.forecast.load import LoadForecaster, LoadForecastParams

DATA = Path(__file__).resolve().parent.parent / "data"
FAWKESLEY = DATA / "household-consumption-uk-fawkesley-2020-08_2023-12.csv"
LCL = DATA / "household-consumption-london-LCL-MAC000060-2011-12_2014-02.csv"
TZ = "Europe/London"
SLOT = 30
HORIZON = 72  # slots: 36 h
BANDS = ((0, 12), (12, 24), (24, 48), (48, 72))
EVENING = (16, 19)  # local hours [16:00, 19:00)


@dataclass(frozen=True)
class Period:
    name: str
    path: Path
    start: datetime
    end: datetime


PERIODS = {
    "tune": Period(
        "fawkesley tune",
        FAWKESLEY,
        datetime(2021, 9, 1, tzinfo=UTC),
        datetime(2022, 11, 1, tzinfo=UTC),
    ),
    "test": Period(
        "fawkesley test",
        FAWKESLEY,
        datetime(2022, 11, 1, tzinfo=UTC),
        datetime(2023, 12, 19, tzinfo=UTC),
    ),
    "lcl": Period(
        "LCL MAC000060", LCL, datetime(2012, 1, 7, tzinfo=UTC), datetime(2014, 2, 28, tzinfo=UTC)
    ),
}


def load_series(path: Path) -> SlotSeries:
    history = read_energy_csv(path, "load")
    first = history.index[0].to_pydatetime()
    end = history.index[-1].to_pydatetime() + timedelta(minutes=SLOT)
    return series_from(history, first, end, SLOT, TZ)


@dataclass
class Scores:
    band_mae: list[float]
    evening_mae: dict[str, float]
    evening_bias: dict[str, float]
    evening_mean: float
    seconds_per_forecast: float


def evaluate(series: SlotSeries, period: Period, forecaster: Any) -> Scores:
    a, b = series.position(period.start), series.position(period.end)
    local = pd.date_range(series.start, periods=len(series), freq=f"{SLOT}min").tz_convert(TZ)
    hours, minutes = np.asarray(local.hour), np.asarray(local.minute)
    errors = [[0.0, 0] for _ in BANDS]
    evening: dict[str, list[tuple[float, float]]] = {"23:00 before": [], "12:00 same day": []}
    took, calls = 0.0, 0
    kwh = series.kwh
    for now in range(a, b - HORIZON):
        if minutes[now] != 0:
            continue
        targets = np.arange(now, now + HORIZON, dtype=np.int64)
        began = time.perf_counter()
        forecast = forecaster(series, now, targets)
        took += time.perf_counter() - began
        calls += 1
        actual = kwh[targets]
        for i, (lo, hi) in enumerate(BANDS):
            ok = np.isfinite(actual[lo:hi])
            errors[i][0] += float(np.abs(forecast[lo:hi][ok] - actual[lo:hi][ok]).sum())
            errors[i][1] += int(ok.sum())
        label = {23: "23:00 before", 12: "12:00 same day"}.get(int(hours[now]))
        if label is None:
            continue
        ahead = hours[targets]
        day = np.asarray(local[targets].date)
        target_day = local[now].date() + (
            timedelta(days=1) if label.startswith("23") else timedelta()
        )
        mask = (ahead >= EVENING[0]) & (ahead < EVENING[1]) & (day == target_day)
        if mask.sum() == 2 * (EVENING[1] - EVENING[0]) and np.isfinite(actual[mask]).all():
            evening[label].append((float(forecast[mask].sum()), float(actual[mask].sum())))
    mean_evening = float(np.mean([x[1] for x in evening["23:00 before"]]))
    return Scores(
        band_mae=[e / max(n, 1) for e, n in errors],
        evening_mae={k: float(np.mean([abs(f - x) for f, x in v])) for k, v in evening.items()},
        evening_bias={k: float(np.mean([f - x for f, x in v])) for k, v in evening.items()},
        evening_mean=mean_evening,
        seconds_per_forecast=took / max(calls, 1),
    )


def report(label: str, s: Scores) -> None:
    bands = " ".join(f"{m:.4f}" for m in s.band_mae)
    ev = " ".join(
        f"{s.evening_mae[k]:.3f} ({s.evening_bias[k]:+.3f})"
        for k in ("23:00 before", "12:00 same day")
    )
    share = s.evening_mae["23:00 before"] / s.evening_mean
    print(f"  {label:14s} {bands}   {ev}   {share:6.1%}   {s.seconds_per_forecast * 1e3:6.2f} ms")


def _criterion(s: Scores) -> float:
    """What the defaults minimise: the evening energy MAE, mean of the 23:00 and 12:00 runs."""
    return float(np.mean(list(s.evening_mae.values())))


def grid_search(series: SlotSeries, period: Period) -> None:
    """``blend``'s parameters, then ``blend-inday``'s on the best blend, on ``period``."""
    print(f"grid on {period.name}: evening MAE (kWh), mean of the 23:00 and 12:00 forecasts")
    best: tuple[float, LoadForecastParams] | None = None
    for days, decay, weight in itertools.product((3, 7, 14), (0.7, 0.85, 1.0), (0.3, 0.5, 0.7)):
        p = LoadForecastParams(recent_days=days, decay=decay, weekday_weight=weight)
        score = _criterion(evaluate(series, period, LoadForecaster("blend", p)))
        print(f"  blend days {days:2d} decay {decay:.2f} weekday {weight:.1f}: {score:.4f}")
        best = min(best or (score, p), (score, p), key=lambda b: b[0])
    assert best is not None
    for window, damping, fade in itertools.product(
        (2.0, 4.0, 8.0), (0.3, 0.5, 0.8), (3.0, 6.0, 12.0)
    ):
        p = replace(best[1], window_hours=window, damping=damping, fade_hours=fade)
        score = _criterion(evaluate(series, period, LoadForecaster("blend-inday", p)))
        print(f"  in-day window {window:g} h damping {damping:.1f} fade {fade:g} h: {score:.4f}")


PV = DATA / "pv-pvgis-modelled-glasgow-4kWp-2023-hourly.csv"


def pv_section() -> None:
    """PV (hourly, UTC days): the shipped lagged mean against the load methods' ideas."""
    history = read_energy_csv(PV, "pv")
    first = history.index[0].to_pydatetime()
    end = history.index[-1].to_pydatetime() + timedelta(hours=1)
    series = series_from(history, first, end, 60, None)
    lags = tuple(range(2, 9))
    candidates = {
        "lagged 2-8 d (shipped)": LoadForecaster("weekday", LoadForecastParams(weekday_lags=lags)),
        "recent 3 d": LoadForecaster("recent", LoadForecastParams(recent_days=3, decay=0.85)),
        "recent 7 d": LoadForecaster("recent", LoadForecastParams(recent_days=7, decay=1.0)),
        "recent 3 d + in-day": LoadForecaster(
            "blend-inday",
            LoadForecastParams(weekday_lags=lags, weekday_weight=0.0, recent_days=3, decay=0.85),
        ),
    }
    a, b = series.position(datetime(2023, 1, 15, tzinfo=UTC)), len(series) - 36
    print(f"PV (modelled, PVGIS 2023, Glasgow 4 kWp): hourly decisions {series.start:%Y}-01-15 on;"
          " MAE kWh/h by horizon 0-6 6-12 12-24 24-36 h; next day's energy at 23:00 UTC: MAE"
          " (bias) kWh")  # fmt: skip
    for name, forecaster in candidates.items():
        errors = np.zeros(4)
        counts = np.zeros(4)
        daily: list[float] = []
        for now in range(a, b):
            targets = np.arange(now, now + 36, dtype=np.int64)
            forecast = forecaster(series, now, targets)
            actual = series.kwh[targets]
            for i, (lo, hi) in enumerate(((0, 6), (6, 12), (12, 24), (24, 36))):
                errors[i] += np.abs(forecast[lo:hi] - actual[lo:hi]).sum()
                counts[i] += hi - lo
            if (now + 1) % 24 == 0:  # 23:00 UTC: tomorrow is slots 1..24
                daily.append(float(forecast[1:25].sum() - actual[1:25].sum()))
        bands = " ".join(f"{e / c:.4f}" for e, c in zip(errors, counts, strict=True))
        err = np.asarray(daily)
        print(f"  {name:24s} {bands}   {np.abs(err).mean():.3f} ({err.mean():+.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", default="tune,test,lcl")
    parser.add_argument("--grid", action="store_true", help="search blend's parameters on tune")
    parser.add_argument("--pv", action="store_true", help="the PV forecasts instead")
    args = parser.parse_args()
    if args.pv:
        pv_section()
        return
    cache: dict[Path, SlotSeries] = {}
    for key in args.periods.split(","):
        period = PERIODS[key]
        series = cache.setdefault(period.path, load_series(period.path))
        if args.grid:
            grid_search(series, period)
            continue
        print(f"{period.name}: {period.start.date()} → {period.end.date()}")
        print(
            "  method         MAE kWh/slot by horizon 0-6 6-12 12-24 24-36 h   "
            "evening 16-19 MAE (bias) kWh: at 23:00 before, at 12:00   share   per forecast"
        )
        for method in LOAD_METHODS:
            report(method, evaluate(series, period, LoadForecaster(method)))
        gbm = _gbm()
        if gbm is not None:
            scores = evaluate(series, period, gbm)
            report("gbm (sklearn)", scores)
            print(f"    gbm training: {gbm.train_seconds:.0f} s in all for the period")


def _gbm() -> Any:
    """The scikit-learn candidate when scikit-learn is installed (not a project dependency)."""
    try:
        from forecast_gbm import GbmForecaster
    except ImportError:
        print("  gbm (sklearn)  skipped: scikit-learn is not installed")
        return None
    return GbmForecaster()


if __name__ == "__main__":
    main()
