"""Build a PV forecast archive (vintages) and the matching actual PV from Elia's open data.

Elia (the Belgian TSO) publishes the national solar output and its day-ahead forecasts, 15 min,
in MW (see ``../shared/data/README.md``, Elia section). Scaled by the monitored capacity to a
roof of ``--kwp`` kWp (kWh = MW ÷ capacity MW × kWp × 0.25 h) they give:

- the vintage file ``issued_utc,start_utc,end_utc,kwh,kwh_p10,kwh_p90``: for each Brussels
  delivery day D, the ``dayahead11h`` run issued **11:00 Europe/Brussels on D-1** and the
  ``dayahead`` run issued **18:00 Europe/Brussels on D-1** with its P10/P90 (the 11:00 run has
  no quantiles: its P10 = P90 = its forecast; so do the 18:00 rows before 2021-09-29, whose
  quantiles were placeholders). Days a run is null are left out (the backtest falls back to the
  history forecast). ``mostrecent`` and ``weekahead`` are never used: the archive holds only
  their last value (it would leak) or an unknown issue time;
- the actual PV ``start_utc,end_utc,kwh`` from ``measured_mw`` (Elia's upscaled estimate). A null
  measured value is kept out, except the documented one at 23:45 Brussels (night: both
  forecasts 0), which is written as 0 so that the replay is not cut at every midnight.

    .venv/bin/python benchmarks/elia_archive.py --years 2022,2023 --kwp 4 \\
        --from 2022-11-01 --out-dir data/ --name pv-elia-belgium-4kWp-2022-11_2023-12
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ZONE = "Europe/Brussels"
RUNS = (("dayahead11h_mw", "11:00"), ("dayahead_mw", "18:00"))


def read_years(years: list[int], folder: Path) -> pd.DataFrame:
    """The Elia files of ``years`` (UTC-indexed by ``start_utc``)."""
    frames = [
        pd.read_csv(
            folder / f"pv-forecast-elia-belgium-{y}-15min.csv", parse_dates=["start_utc", "end_utc"]
        )
        for y in years
    ]
    return pd.concat(frames, ignore_index=True).sort_values("start_utc", ignore_index=True)


def _issued(start: pd.Series, clock: str) -> pd.Series:
    """``clock`` Brussels time on the day before each slot's Brussels delivery day, in UTC."""
    day = start.dt.tz_convert(ZONE).dt.normalize().dt.tz_localize(None) - pd.Timedelta(days=1)
    local = day + pd.Timedelta(clock + ":00")
    return local.dt.tz_localize(ZONE).dt.tz_convert("UTC")


def vintages(elia: pd.DataFrame, kwp: float) -> pd.DataFrame:
    """The archive rows of both day-ahead runs, kWh on a ``kwp`` roof."""
    scale = kwp * 0.25 / elia["monitored_capacity_mw"]
    parts = []
    for column, clock in RUNS:
        rows = elia[elia[column].notna()]
        kwh = rows[column] * scale[rows.index]
        p10, p90 = kwh.copy(), kwh.copy()
        if column == "dayahead_mw":
            has = rows["dayahead_p10_mw"].notna() & rows["dayahead_p90_mw"].notna()
            p10[has] = (rows["dayahead_p10_mw"] * scale[rows.index])[has]
            p90[has] = (rows["dayahead_p90_mw"] * scale[rows.index])[has]
        parts.append(
            pd.DataFrame(
                {
                    "issued_utc": _issued(rows["start_utc"], clock),
                    "start_utc": rows["start_utc"],
                    "end_utc": rows["end_utc"],
                    "kwh": kwh,
                    "kwh_p10": p10,
                    "kwh_p90": p90,
                }
            )
        )
    return pd.concat(parts).sort_values(["issued_utc", "start_utc"], ignore_index=True)


def actual(elia: pd.DataFrame, kwp: float) -> pd.DataFrame:
    """The measured PV, kWh on a ``kwp`` roof (documented night nulls as 0, others left out)."""
    kwh = elia["measured_mw"] * kwp * 0.25 / elia["monitored_capacity_mw"]
    local = elia["start_utc"].dt.tz_convert(ZONE)
    night = (
        (local.dt.hour == 23)
        & (local.dt.minute == 45)
        & (elia["dayahead_mw"] == 0)
        & (elia["dayahead11h_mw"].fillna(0) == 0)
    )
    kwh = kwh.where(kwh.notna() | ~night, 0.0)
    frame = pd.DataFrame({"start_utc": elia["start_utc"], "end_utc": elia["end_utc"], "kwh": kwh})
    return frame[frame["kwh"].notna()]


def _write(frame: pd.DataFrame, path: Path) -> None:
    out = frame.copy()
    for column in out.columns:
        if column.endswith("_utc"):
            out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%MZ")
        else:
            out[column] = np.round(out[column].to_numpy(), 5)
    out.to_csv(path, index=False, float_format="%.5g")
    print(f"{path}: {len(out)} rows, {path.stat().st_size / 1e6:.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default="2022,2023")
    parser.add_argument("--kwp", type=float, default=4.0)
    parser.add_argument("--from", dest="start", default=None, help="first delivery day kept")
    parser.add_argument("--to", dest="end", default=None, help="first delivery day left out")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--out-dir", type=Path, default=Path("."))
    parser.add_argument("--name", default=None, help="file stem (default from years and kWp)")
    args = parser.parse_args()
    years = [int(y) for y in args.years.split(",")]
    elia = read_years(years, args.shared)
    local_day = elia["start_utc"].dt.tz_convert(ZONE).dt.strftime("%Y-%m-%d")
    if args.start:
        elia = elia[local_day >= args.start]
    if args.end:
        elia = elia[local_day[elia.index] < args.end]
    stem = args.name or f"pv-elia-belgium-{args.kwp:g}kWp-{years[0]}_{years[-1]}"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    _write(vintages(elia, args.kwp), args.out_dir / f"{stem}-forecast-vintages.csv")
    _write(actual(elia, args.kwp), args.out_dir / f"{stem}-actual.csv")


if __name__ == "__main__":
    main()
