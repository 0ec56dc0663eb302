"""A sweep's runs and the data they need, read and checked once by the driver.

``build_plan`` reads every file, validates every setting combination and strategy name, and
checks each home × tariff has data in the period, before a single run starts: a bad input is an
``InvalidInput``/``ConfigError`` (exit 2) naming the key or file. The data travels to the
workers inside the plan (pandas series), so workers need the same installed version and no
shared file system.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.backtest.data import SeriesSet
from optimizer.backtest.registry import resolve
from optimizer.backtest.suite import config_from, default_period, with_overrides
from optimizer.config import Settings
from optimizer.csvdata import read_energy_csv, read_prices_csv, read_vintages_csv
from optimizer.errors import InvalidInput
from optimizer.sweep.spec import HomeSpec, TariffSpec
from optimizer.timeseries import to_slots
from optimizer.units import price_currency

#: Strategies every sweep runs besides the chosen ones: the bound and the baseline.
REFERENCES = ("perfect", "none")
#: Setting keys a run may not override (the driver reads prices once, in one unit).
FIXED_KEYS = {"tariff.csv_unit": "set price_unit on the [[tariffs]] entry instead"}

#: Names an input for messages: (kind "homes"/"tariffs", index, field) → "homes[0].load".
Label = Callable[[str, int, str], str]


def spec_label(kind: str, index: int, name: str) -> str:
    """How the SPEC file's keys are named in messages: ``homes[1].load``."""
    return f"{kind}[{index}].{name}"


@dataclass(frozen=True, slots=True)
class HomeData:
    """A home's energies as read (kWh per the file's interval, UTC index) and their sources."""

    name: str
    load_kwh: pd.Series
    pv_kwh: pd.Series | None
    sources: tuple[str, str]
    digest: str
    #: the home's archive of issued PV forecasts (``issued_utc,start_utc,end_utc,kwh[,…]``)
    pv_forecast: pd.DataFrame | None = None


@dataclass(frozen=True, slots=True)
class TariffData:
    """A tariff's prices (currency units per kWh, the file's interval) and their unit."""

    name: str
    price_import: pd.Series
    price_export: pd.Series | None
    price_unit: str
    sources: tuple[str, str]
    digest: str


@dataclass(frozen=True, slots=True)
class Run:
    """One home × tariff × grid point: ``point`` holds the grid values, ``overrides`` those plus
    the home's own settings; ``period`` is UTC ``[start, end)``."""

    run_id: str
    home: str
    tariff: str
    point: dict[str, Any]
    overrides: dict[str, Any]
    period: tuple[datetime, datetime]
    strategies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SweepPlan:
    """Everything a sweep runs: the base settings, the data by name and the runs in order."""

    base: Settings
    homes: dict[str, HomeData]
    tariffs: dict[str, TariffData]
    runs: list[Run]
    grid_keys: list[str]
    strategies: tuple[str, ...]
    currency: str
    home_settings: dict[str, dict[str, Any]] = field(default_factory=dict)


def _digest(*paths: Path | None) -> str:
    hashed = hashlib.sha256()
    for path in paths:
        if path is not None:
            hashed.update(path.read_bytes())
    return hashed.hexdigest()[:16]


def read_home(spec: HomeSpec, index: int, label: Label = spec_label) -> HomeData:
    """The home's load (and PV) as read; errors name the key and file."""
    load = read_energy_csv(spec.load, label("homes", index, "load"))
    pv = None if spec.pv is None else read_energy_csv(spec.pv, label("homes", index, "pv"))
    archive = None
    if spec.pv_forecast is not None:
        key = label("homes", index, "pv_forecast")
        if pv is None:
            raise InvalidInput(f"{key} needs the home's pv (the measured PV settles the bill)")
        archive = read_vintages_csv(spec.pv_forecast, key)
    return HomeData(spec.name, load, pv, (str(spec.load), str(spec.pv)),
                    _digest(spec.load, spec.pv, spec.pv_forecast), archive)  # fmt: skip


def read_tariff(
    spec: TariffSpec, index: int, default_unit: str, label: Label = spec_label
) -> TariffData:
    """The tariff's prices per kWh and their unit; an export file in another unit is refused."""
    unit_key = label("tariffs", index, "price_unit")
    prices, unit = read_prices_csv(
        spec.prices, label("tariffs", index, "prices"), spec.price_unit, default_unit, unit_key
    )
    exports = None
    if spec.export_prices is not None:
        key = label("tariffs", index, "export_prices")
        exports, export_unit = read_prices_csv(spec.export_prices, key, spec.price_unit, unit,
                                               unit_key)  # fmt: skip
        if export_unit != unit:
            raise InvalidInput(f"{key} {spec.export_prices}: in {export_unit}, the import "
                               f"prices in {unit}")  # fmt: skip
    return TariffData(spec.name, prices, exports, unit,
                      (str(spec.prices), str(spec.export_prices)),
                      _digest(spec.prices, spec.export_prices))  # fmt: skip


def series_for(home: HomeData, tariff: TariffData, slot_minutes: int) -> SeriesSet:
    """The backtest's input series for ``home`` on ``tariff`` on ``slot_minutes`` slots."""
    load_name, pv_name = home.sources
    imp_name, exp_name = tariff.sources
    return SeriesSet(
        price_import=to_slots(tariff.price_import, slot_minutes, "price", imp_name),
        load_kwh=to_slots(home.load_kwh, slot_minutes, "energy", load_name),
        price_export=None
        if tariff.price_export is None
        else to_slots(tariff.price_export, slot_minutes, "price", exp_name),
        pv_kwh=None
        if home.pv_kwh is None
        else to_slots(home.pv_kwh, slot_minutes, "energy", pv_name),
        names=(imp_name, load_name, exp_name, pv_name),
        price_unit=tariff.price_unit,
    )


def _covered(series: SeriesSet, period: tuple[datetime, datetime], what: str) -> None:
    """At least one slot of ``period`` has every input, else ``InvalidInput`` naming them."""
    start, end = (pd.Timestamp(t) for t in period)
    common: pd.DatetimeIndex | None = None
    for part in (series.price_import, series.load_kwh, series.price_export, series.pv_kwh):
        if part is None:
            continue
        inside = pd.DatetimeIndex(part[(part.index >= start) & (part.index < end)].dropna().index)
        common = inside if common is None else common.intersection(inside)
    if common is None or common.empty:
        raise InvalidInput(
            f"{what}: no slot of {start:%Y-%m-%dT%H:%MZ} → {end:%Y-%m-%dT%H:%MZ} has all of "
            f"{', '.join(n for n in series.names if n != 'None')}"
        )


def _currency(base: Settings, tariffs: Sequence[TariffData]) -> str:
    currencies = {t.name: price_currency(t.price_unit) for t in tariffs}
    first = next(iter(currencies.values()))
    for name, currency in currencies.items():
        if currency != first:
            raise InvalidInput(f"tariff {name!r} is in {currency}, {tariffs[0].name!r} in {first}: "
                               "a sweep compares tariffs in one currency")  # fmt: skip
    chosen = base.planner.currency
    if "currency" in base.planner.model_fields_set and chosen != first:
        raise InvalidInput(f"the tariffs are in {first} but planner.currency = {chosen}")
    return first


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values (one empty point for an empty grid)."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def _checked(base: Settings, overrides: dict[str, Any], source: str) -> Settings:
    for key in overrides:
        if key in FIXED_KEYS:
            raise InvalidInput(f"{source} {key}: cannot vary in a sweep ({FIXED_KEYS[key]})")
    settings = with_overrides(base, overrides, source)
    config_from(settings)  # the replay's own checks (horizon vs PV lags)
    return settings


def _run_id(run: tuple[HomeData, TariffData, dict[str, Any]], period: tuple[datetime, datetime],
            strategies: Sequence[str], base: str) -> str:  # fmt: skip
    """A run's identity: its inputs' contents, settings, period and strategies (what
    ``--resume`` matches on: a changed file or setting makes it a new run)."""
    home, tariff, overrides = run
    text = json.dumps(
        [home.name, home.digest, tariff.name, tariff.digest, sorted(overrides.items()),
         [t.isoformat() for t in period], list(strategies), base],
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class PlanParts:
    """What ``build_plan`` needs besides the data: the base settings, the period (``None``: each
    home × tariff's common span), the strategies as given and the grid."""

    base: Settings
    period: tuple[datetime, datetime] | None
    strategies: Sequence[str]
    grid: dict[str, list[Any]]
    with_references: bool = True
    label: Label = spec_label
    grid_source: str = "grid"
    #: What messages about the whole sweep start with (the SPEC path and ": ").
    source: str = ""


def _strategies(parts: PlanParts) -> tuple[str, ...]:
    chosen = [s for s in parts.strategies if s not in REFERENCES]
    names = (*REFERENCES, *chosen) if parts.with_references else tuple(parts.strategies)
    names = tuple(dict.fromkeys(names))
    for name in names:
        try:
            resolve(name, parts.base.backtest.strategy_modules)
        except InvalidInput as exc:
            raise InvalidInput(f"{parts.source}strategies: {exc}") from None
    if not names:
        raise InvalidInput(f"{parts.source}strategies: name at least one strategy")
    return names


def build_plan(
    parts: PlanParts, homes: Sequence[HomeSpec], tariffs: Sequence[TariffSpec]
) -> SweepPlan:
    """Read every file and check every run's settings; the runs home by home (so a worker
    keeps one home's data for its tariffs × grid points)."""
    base, label = parts.base, parts.label
    strategies = _strategies(parts)
    points = grid_points(parts.grid)
    for point in points:
        _checked(base, point, f"{parts.grid_source} {_point_text(point)}")
    home_data = [read_home(h, i, label) for i, h in enumerate(homes)]
    tariff_data = [read_tariff(t, i, base.tariff.csv_unit, label) for i, t in enumerate(tariffs)]
    try:
        currency = _currency(base, tariff_data)
    except InvalidInput as exc:
        raise InvalidInput(f"{parts.source}{exc}") from None
    base_id = hashlib.sha256(base.model_dump_json(exclude={"store"}).encode()).hexdigest()[:16]
    periods: dict[tuple[str, str, int], tuple[datetime, datetime]] = {}

    def period_of(home: HomeData, tariff: TariffData, minutes: int) -> tuple[datetime, datetime]:
        key = (home.name, tariff.name, minutes)
        if key not in periods:
            series = series_for(home, tariff, minutes)
            periods[key] = parts.period or default_period(series)
            _covered(series, periods[key], f"home {home.name!r} on tariff {tariff.name!r}")
        return periods[key]

    runs: list[Run] = []
    for index, (spec, home) in enumerate(zip(homes, home_data, strict=True)):
        where = label("homes", index, "settings")
        _checked(base, dict(spec.settings), where)
        for point in points:
            overrides = _merged(spec.settings, point, where)
            minutes = _checked(base, overrides, f"{where} with {_point_text(point)}").planner
            for tariff in tariff_data:
                period = period_of(home, tariff, minutes.slot_minutes)
                run_id = _run_id((home, tariff, overrides), period, strategies, base_id)
                runs.append(Run(run_id, home.name, tariff.name, point, overrides, period,
                                strategies))  # fmt: skip
    return SweepPlan(
        base=base,
        homes={h.name: h for h in home_data},
        tariffs={t.name: t for t in tariff_data},
        runs=runs,
        grid_keys=list(parts.grid),
        strategies=strategies,
        currency=currency,
        home_settings={h.name: dict(h.settings) for h in homes},
    )


def _merged(own: dict[str, Any], point: dict[str, Any], where: str) -> dict[str, Any]:
    both = sorted(set(own) & set(point))
    if both:
        raise InvalidInput(f"{where} {both[0]}: also a grid key; keep it in one place")
    return {**own, **point}


def _point_text(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items()) or "(no grid)"
