"""Compose a backtest from settings and files: inputs, config, strategies by name, summaries.

The CLI, ``tune`` and the notebooks all go through here. Strategies are resolved by name with
``optimizer.backtest.registry`` (importlib/entry points), never imported statically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.backtest.data import (
    BacktestInputs,
    PublicationRule,
    SeriesSet,
    check_horizon,
    prepare_inputs,
)
from optimizer.backtest.engine import BacktestConfig, BacktestResult, Progress, run_backtest
from optimizer.backtest.pvinputs import with_pv_archive
from optimizer.backtest.registry import resolve
from optimizer.backtest.report import end_energy_credit, end_value_per_kwh, summary
from optimizer.config import Settings
from optimizer.csvdata import read_energy_csv, read_prices_csv, read_vintages_csv
from optimizer.errors import InvalidInput
from optimizer.forecast.load import load_forecaster
from optimizer.forecast.pvcalibrate import InDay
from optimizer.planning import PlanOptions
from optimizer.planning.guard import guarded
from optimizer.timeseries import to_slots

ALL = ("perfect", "lp", "cheapest-slots", "self-use", "none")


@dataclass(frozen=True, slots=True)
class DataFiles:
    """CSV files in the ``data/`` shape; prices in ``price_unit``, energies kWh per interval."""

    prices: Path
    load: Path
    export_prices: Path | None = None
    pv: Path | None = None
    price_unit: str | None = None  # None: the files' unit column, else tariff.csv_unit
    #: an archive of issued PV forecasts (``issued_utc,start_utc,end_utc,kwh[,kwh_p10,kwh_p90]``)
    pv_forecast: Path | None = None
    #: calibrate the archive's forecasts on the measured PV, walk-forward (``--pv-calibrate``)
    pv_calibrate: bool = False
    #: plan over the archive's P10/forecast/P90 as PV scenarios (``--pv-hedge``)
    pv_hedge: bool = False
    #: scale the forecast ahead by the PV measured in the last hours (``--pv-inday``)
    pv_inday: bool = False


@dataclass(frozen=True, slots=True)
class PvArchive:
    """A read PV forecast archive and how the backtest uses it (``optimizer.backtest.pvinputs``)."""

    frame: pd.DataFrame
    calibrate: bool = False
    hedge: bool = False
    inday: bool = False


def pv_archive_of(files: DataFiles) -> PvArchive | None:
    """The archive named by ``files.pv_forecast`` read and checked (``None``: not given).

    Raises ``InvalidInput`` naming the option for a bad file, for ``--pv-forecast`` without
    ``--pv`` (the measured PV settles the bill) and for ``--pv-calibrate``/``--pv-hedge``/
    ``--pv-inday`` without ``--pv-forecast``.
    """
    if files.pv_forecast is None:
        flags = (("--pv-calibrate", files.pv_calibrate), ("--pv-hedge", files.pv_hedge),
                 ("--pv-inday", files.pv_inday))  # fmt: skip
        for flag, on in flags:
            if on:
                raise InvalidInput(f"{flag} needs --pv-forecast FILE (an archive of forecasts)")
        return None
    if files.pv is None:
        raise InvalidInput("--pv-forecast needs --pv FILE: the measured PV settles the bill")
    frame = read_vintages_csv(files.pv_forecast, "--pv-forecast")
    return PvArchive(frame, files.pv_calibrate, files.pv_hedge, files.pv_inday)


def _energy(path: Path, option: str, minutes: int) -> pd.Series:
    return to_slots(read_energy_csv(path, option), minutes, "energy", f"{option} {path}")


def _prices(
    path: Path, option: str, unit: str | None, default: str, minutes: int
) -> tuple[pd.Series, str]:
    series, used = read_prices_csv(path, option, unit, default, "--price-unit")
    return to_slots(series, minutes, "price", f"{option} {path}"), used


def read_series(files: DataFiles, settings: Settings) -> SeriesSet:
    """The four input series on the planner's slot length (prices per kWh): the value columns
    must be ``price``/``kwh``, the prices plausible in their unit."""
    minutes, default = settings.planner.slot_minutes, settings.tariff.csv_unit
    prices, unit = _prices(files.prices, "--prices", files.price_unit, default, minutes)
    exports = None
    if files.export_prices is not None:
        exports, export_unit = _prices(files.export_prices, "--export-prices", files.price_unit,
                                       unit, minutes)  # fmt: skip
        if export_unit != unit:
            raise InvalidInput(f"--export-prices {files.export_prices}: in {export_unit}, the "
                               f"import prices in {unit}")  # fmt: skip
    return SeriesSet(
        price_import=prices,
        load_kwh=_energy(files.load, "--load", minutes),
        price_export=exports,
        pv_kwh=_energy(files.pv, "--pv", minutes) if files.pv is not None else None,
        names=(str(files.prices), str(files.load), str(files.export_prices), str(files.pv)),
        price_unit=unit,
    )


def default_period(series: SeriesSet) -> tuple[datetime, datetime]:
    """The span covered by import prices and load (and export prices / PV when given)."""
    parts = [s for s in (series.price_import, series.load_kwh, series.price_export, series.pv_kwh)
             if s is not None]  # fmt: skip
    if any(s.empty for s in parts):
        raise InvalidInput("an input file has no rows")
    start = max(pd.Timestamp(s.index[0]) for s in parts)
    step = pd.Timedelta(series.price_import.index[1] - series.price_import.index[0])
    end = min(pd.Timestamp(s.index[-1]) for s in parts) + step
    if end <= start:
        raise InvalidInput("the input files do not overlap in time")
    return start.to_pydatetime(), end.to_pydatetime()


def inputs_from(
    series: SeriesSet,
    settings: Settings,
    period: tuple[datetime, datetime] | None = None,
    pv_archive: PvArchive | None = None,
) -> BacktestInputs:
    """Aligned inputs and forecasts for ``period`` (default: the files' common span); a period
    without a single slot that has every input is an error (never a table of zeros). With
    ``pv_archive`` each decision reads the PV forecast issued by its time."""
    start, end = period or default_period(series)
    bt, fc = settings.backtest, settings.forecast
    inputs = prepare_inputs(
        series, start, end, settings.planner.slot_minutes, settings.planner.timezone,
        (fc.load_lag_days, fc.pv_lag_days), bt.fallback_load_kwh,
        load_forecaster(fc, bt.fallback_load_kwh), fc.hedge_scenarios,
    )  # fmt: skip
    if not inputs.valid().any():
        missing = "; ".join(f"{g.missing}" for g in inputs.gaps()[:1])
        raise InvalidInput(
            f"{start:%Y-%m-%dT%H:%MZ} to {end:%Y-%m-%dT%H:%MZ}: no slot has all the inputs "
            f"(missing: {missing}); the files cover {_coverage(series)}"
        )
    if pv_archive is not None:
        inputs = with_pv_archive(
            inputs, pv_archive.frame, pv_archive.calibrate, pv_archive.hedge,
            settings.planner.timezone, inday=InDay() if pv_archive.inday else None,
        )  # fmt: skip
    return inputs


def _coverage(series: SeriesSet) -> str:
    parts = [("prices", series.price_import), ("load", series.load_kwh),
             ("export prices", series.price_export), ("PV", series.pv_kwh)]  # fmt: skip
    return ", ".join(
        f"{name} {s.index[0]:%Y-%m-%d} to {s.index[-1]:%Y-%m-%d}"
        for name, s in parts
        if s is not None and len(s)
    )


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def config_from(
    settings: Settings, replan: str | None = None, soc_pct: float | None = None
) -> BacktestConfig:
    """The replay configuration from validated settings (``replan`` and ``soc_pct``, the
    starting SOC in percent, override the settings)."""
    bt, planner = settings.backtest, settings.planner
    check_horizon(planner.horizon_hours, settings.forecast.pv_lag_days)
    options = PlanOptions(
        slot_minutes=planner.slot_minutes,
        solver=planner.solver,
        terminal_soc_value=planner.terminal_soc_value,
        discharge_command=settings.device.discharge_command,
    )
    rule = PublicationRule(
        _clock(bt.publish_time), _clock(bt.price_day_start), bt.price_timezone,
        all_known=bt.prices_known == "all",
    )  # fmt: skip
    return BacktestConfig(
        battery=guarded(settings.battery.spec(), settings.service.poll_seconds),
        grid=settings.grid.spec(),
        options=options,
        replan=replan or bt.replan,  # type: ignore[arg-type]
        horizon_hours=planner.horizon_hours,
        publication=rule,
        initial_soc_pct=bt.initial_soc_pct if soc_pct is None else soc_pct,
    )


def strategy_names(choice: str) -> list[str]:
    """``all`` or a comma-separated list; ``perfect`` always runs (it is the reference)."""
    names = list(ALL) if choice == "all" else [n.strip() for n in choice.split(",") if n.strip()]
    return ["perfect", *[n for n in names if n != "perfect"]]


def run_strategies(
    names: Sequence[str],
    inputs: BacktestInputs,
    config: BacktestConfig,
    extra_modules: Sequence[str] = (),
    progress: Progress | None = None,
) -> tuple[list[BacktestResult], list[dict[str, Any]]]:
    """Run each strategy (``perfect`` first); summaries carry the end SOC, the end-energy
    credit and the captured share (``optimizer.backtest.report``)."""
    results = [run_backtest(resolve(n, extra_modules), inputs, config, progress) for n in names]
    perfect = next((r for r in results if r.strategy == "perfect"), None)
    perfect_cost = float(perfect.frame["cost"].sum()) if perfect is not None else None
    value = (
        end_value_per_kwh(results[0].frame, config.battery, config.options.terminal_soc_value)
        if results
        else 0.0
    )
    credit = end_energy_credit(perfect.frame, value) if perfect is not None else 0.0
    summaries = [summary(r, config.battery, perfect_cost, value, credit) for r in results]
    return results, summaries


def with_overrides(
    settings: Settings, overrides: dict[str, Any], source: str = "--param"
) -> Settings:
    """Settings with ``section.key`` values replaced (validated again; errors name ``source``)."""
    from optimizer.config import parse_settings

    raw = settings.model_dump(mode="json")
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        if section not in raw or not key:
            raise InvalidInput(f"{source} {dotted}: must be section.key of the settings file")
        raw[section][key] = value
    return parse_settings(raw, source)
