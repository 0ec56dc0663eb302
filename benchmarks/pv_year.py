"""A PV household's year: how much of the exact saving ``lp`` captures with each PV forecast.

The shipped Agile import/export pair (2023-01-01 → 2023-12-21, the pair's 2023), the Low Carbon
London household MAC000060 moved 522 weeks onto the pair's dates (weekdays kept, as in
``forecast_capture.py``), Elia's 2023 national solar output scaled to a 4 kWp roof as the PV
(``data/pv-elia-belgium-4kWp-2023-*.csv``, built by ``elia_archive.py``), the default 4.2 kWh
battery, hourly re-plan, prices as published. Shares are of the ``perfect`` saving (the exact
optimum with the actual prices, load and PV), as ``backtest`` prints them.

    .venv/bin/python benchmarks/pv_year.py [--variants history,elia,actual,...] [--days N]
        [--start YYYY-MM-DD] [--household lcl|fawkesley]

``--household fawkesley`` uses the pair's own household instead (its load is net import with
unmetered PV behind the meter: a harder, different case).

Variants: ``history`` (the lagged PV forecast, today's default), ``elia`` (the Elia vintages
through ``--pv-forecast``: the latest run issued by each decision), ``elia-11h`` (only the 11:00
run), ``calibrated`` (``elia`` + ``--pv-calibrate``), ``hedged`` (``elia`` + ``--pv-hedge``),
``actual`` (the actual PV as the forecast), ``actual+load`` (the actual PV and load).
Prints each share and the CPU time of each ``lp`` year (the machine may be shared: CPU time,
not wall time, is the figure).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from forecast_capture import lcl_series
from realdata import DATA, FILES

from optimizer.backtest.data import BacktestInputs
from optimizer.backtest.engine import run_backtest
from optimizer.backtest.pvinputs import with_pv_archive
from optimizer.backtest.registry import resolve
from optimizer.backtest.suite import (
    PvArchive,
    config_from,
    inputs_from,
    read_series,
    run_strategies,
)
from optimizer.config import Settings
from optimizer.csvdata import read_vintages_csv
from optimizer.forecast.pvcalibrate import InDay

PV = DATA / "pv-elia-belgium-4kWp-2023-actual.csv"
VINTAGES = DATA / "pv-elia-belgium-4kWp-2023-forecast-vintages.csv"
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2023, 12, 21, tzinfo=UTC)
ALL = "history,elia,elia-11h,calibrated,inday,calibrated+inday,hedged,actual,actual+load"
ZONE = Settings().planner.timezone


def variant_inputs(
    name: str, settings: Settings, period: tuple[datetime, datetime], household: str = "lcl"
) -> BacktestInputs:
    """The inputs of one variant (``household``: ``lcl`` or the pair's own ``fawkesley``)."""
    series = lcl_series(settings) if household == "lcl" else read_series(FILES, settings)
    series = replace(series, pv_kwh=read_series(replace(FILES, pv=PV), settings).pv_kwh)
    base = inputs_from(series, settings, period)
    archive = read_vintages_csv(VINTAGES)
    if name == "history":
        return base
    if name == "elia":
        return inputs_from(series, settings, period, PvArchive(archive))
    if name == "elia-11h":
        early = archive[archive["issued_utc"].dt.tz_convert("Europe/Brussels").dt.hour == 11]
        return inputs_from(series, settings, period, PvArchive(early.reset_index(drop=True)))
    if name == "calibrated":
        return inputs_from(series, settings, period, PvArchive(archive, calibrate=True))
    if name in ("inday", "calibrated+inday"):
        return with_pv_archive(base, archive, name != "inday", inday=InDay(), timezone=ZONE)
    if name == "hedged":
        return inputs_from(series, settings, period, PvArchive(archive, hedge=True))
    if name == "actual":
        return replace(base, pv_forecast_kwh=base.pv_kwh)
    if name == "actual+load":
        return replace(base, pv_forecast_kwh=base.pv_kwh, load_forecast_kwh=base.load_kwh,
                       load_forecast_at=None, load_scenarios_at=None)  # fmt: skip
    raise SystemExit(f"--variants: unknown variant {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=ALL)
    parser.add_argument("--days", type=int, default=None, help="a shorter slice")
    parser.add_argument("--start", default="2023-01-01", help="the slice's first day (UTC)")
    parser.add_argument("--household", choices=("lcl", "fawkesley"), default="lcl")
    args = parser.parse_args()
    settings = Settings()
    first = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    period = (first, first + timedelta(days=args.days) if args.days else END)
    config = config_from(settings)
    reference = variant_inputs("history", settings, period, args.household)
    results, _ = run_strategies(["perfect", "none"], reference, config)
    perfect, none = (float(r.frame["cost"].sum()) for r in results)
    saving = none - perfect
    print(f"{period[0]:%Y-%m-%d} → {period[1]:%Y-%m-%d}: no battery {none:.2f} GBP, perfect "
          f"{perfect:.2f} GBP, exact saving {saving:.2f} GBP")  # fmt: skip
    for name in args.variants.split(","):
        inputs = variant_inputs(name, settings, period, args.household)
        cpu, wall = time.process_time(), time.perf_counter()
        result = run_backtest(resolve("lp"), inputs, config)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        cost = float(result.frame["cost"].sum())
        print(f"  {name:12s} cost {cost:8.2f}  saving {none - cost:7.2f}  share "
              f"{(none - cost) / saving:6.2%}  ({result.decisions} plans, CPU {cpu:5.1f} s, "
              f"wall {wall:5.1f} s)", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
