"""Learn the roof: PV forecast error by hour of day, raw and calibrated walk-forward.

Two real forecasts against what was measured:

- the EMHASS roof (``../shared/data/household-emhass-rooftop-france-2024-02_2025-02-30min.csv``:
  a French(?) roof of about 5 kWp, its measured PV and the forecast EMHASS was given; location
  unknown, so no solar geometry; pairs where either value is empty are left out);
- Elia 2023 on a 4 kWp roof (``data/pv-elia-belgium-4kWp-2023-*.csv``): each slot's latest
  day-ahead run issued before it (the 18:00 D-1 run) against the measured (upscaled) output.

``optimizer.forecast.pvcalibrate.walk_forward`` refits every local day on the pairs that ended
before it (the default ``CalibrationParams``, chosen before looking at these figures). Prints
MAE and bias (kWh per slot) by UTC hour, then the totals; ``--variants`` adds the hour-only
correction (no sky bins) for comparison.

    .venv/bin/python benchmarks/pv_calibration.py [--markdown] [--variants]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from realdata import DATA

from optimizer.backtest.pvinputs import freshest
from optimizer.csvdata import read_energy_csv, read_vintages_csv
from optimizer.forecast.pvcalibrate import CalibrationParams, walk_forward
from optimizer.forecast.vintages import PvVintages

EMHASS = (
    Path(__file__).resolve().parents[2]
    / "shared/data/household-emhass-rooftop-france-2024-02_2025-02-30min.csv"
)


def emhass() -> tuple[pd.Series, pd.Series, str]:
    frame = pd.read_csv(EMHASS, parse_dates=["start_utc"], index_col="start_utc")
    return frame["pv_forecast_kwh"], frame["pv_kwh"], "Europe/Paris"


def elia() -> tuple[pd.Series, pd.Series, str]:
    measured = read_energy_csv(DATA / "pv-elia-belgium-4kWp-2023-actual.csv", "pv")
    index = pd.date_range("2023-01-01T00:00Z", "2023-12-31T23:45Z", freq="15min")
    archive = read_vintages_csv(DATA / "pv-elia-belgium-4kWp-2023-forecast-vintages.csv")
    forecast = pd.Series(freshest(PvVintages.from_frame(archive, index, 15)), index=index)
    return forecast, measured.reindex(index), "Europe/Brussels"


def by_hour(forecast: pd.Series, measured: pd.Series) -> pd.DataFrame:
    error = (forecast - measured).dropna()
    hours = pd.DatetimeIndex(error.index).hour
    table = pd.DataFrame({"mae": error.abs().groupby(hours).mean(),
                          "bias": error.groupby(hours).mean(),
                          "pairs": error.groupby(hours).size()})  # fmt: skip
    return table[measured.reindex(error.index).groupby(hours).mean() > 1e-3]


def report(
    name: str, data: tuple[pd.Series, pd.Series, str], markdown: bool, variants: bool
) -> None:
    forecast, measured, zone = data
    ok = forecast.notna() & measured.notna()
    cpu = time.process_time()
    calibrated = walk_forward(forecast, measured, timezone=zone)
    cpu = time.process_time() - cpu
    runs = {"raw": forecast, "calibrated": calibrated}
    if variants:
        hour_only = replace(CalibrationParams(), sky_edges=())
        runs["hour only"] = walk_forward(forecast, measured, hour_only, timezone=zone)
    tables = {k: by_hour(v[ok], measured[ok]) for k, v in runs.items()}
    print(f"\n{name}: {int(ok.sum())} pairs, measured {measured[ok].sum():.0f} kWh, "
          f"walk-forward fit CPU {cpu:.1f} s")  # fmt: skip
    head = "| UTC hour | pairs | " + " | ".join(f"{k} MAE | {k} bias" for k in tables) + " |"
    print(head if markdown else head.replace("|", " "))
    if markdown:
        print("|---" * (2 + 2 * len(tables)) + "|")
    raw = tables["raw"]
    for hour in raw.index:
        cells = " | ".join(f"{t.mae[hour]:.3f} | {t.bias[hour]:+.3f}" for t in tables.values())
        line = f"| {hour:02d} | {raw.pairs[hour]} | {cells} |"
        print(line if markdown else line.replace("|", " "))
    mean = measured[ok].mean()
    for key, values in runs.items():
        error = (values - measured)[ok]
        print(f"  {key:11s} MAE {error.abs().mean():.4f} kWh/slot ({error.abs().mean() / mean:.1%} "
              f"of mean PV), bias {error.mean():+.4f} ({error.sum() / measured[ok].sum():+.1%} "
              f"of PV energy), min {np.nanmin(values):.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--variants", action="store_true")
    args = parser.parse_args()
    report("EMHASS roof (30 min)", emhass(), args.markdown, args.variants)
    report("Elia 2023, 4 kWp (15 min)", elia(), args.markdown, args.variants)


if __name__ == "__main__":
    main()
