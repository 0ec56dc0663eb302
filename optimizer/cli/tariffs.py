"""``fetch``, ``prices`` and ``import-csv``: tariff prices into the history store and back out.

``fetch`` stores what the source said (a new vintage only where prices are new or changed) and
reports, without changing anything, what validation would flag and whether prices are late.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import httpx
import pandas as pd
import typer

from optimizer.cli.common import err_console, errors_to_exit, settings_from
from optimizer.config import Settings
from optimizer.csvdata import PRICE_UNITS, price_factor, read_series_csv
from optimizer.errors import InvalidInput
from optimizer.store import SaveResult, Store
from optimizer.tariffs import PriceSeries, fetch_prices, find_problems, publication_status
from optimizer.tariffs.model import slot_length
from optimizer.tariffs.sources import rules
from optimizer.tariffs.validate import summary
from optimizer.timeseries import interval_length, local_day_bounds, parse_utc

ENERGY_UNITS = {"kWh": 1.0, "Wh": 0.001}
ConfigOption = Annotated[Path | None, typer.Option(help="Settings file (config.toml).")]


class Kind(StrEnum):
    """What an imported CSV holds."""

    PRICE = "price"
    LOAD = "load"
    PV = "pv"


def _window(settings: Settings, start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """``--from``/``--to`` as UTC; default: today and tomorrow in the tariff's local time."""
    today = datetime.now(ZoneInfo(settings.tariff.timezone)).date()
    lo = (
        parse_utc(start, "--from")
        if start
        else local_day_bounds(today, settings.tariff.timezone)[0]
    )
    tomorrow = today + timedelta(days=1)
    hi = parse_utc(end, "--to") if end else local_day_bounds(tomorrow, settings.tariff.timezone)[1]
    if hi <= lo:
        raise InvalidInput(f"--to {hi.isoformat()} must be after --from {lo.isoformat()}")
    return lo, hi


def _report(
    series: PriceSeries, result: SaveResult, settings: Settings, lo: datetime, hi: datetime
) -> None:
    """One line per stored series, plus what validation would flag in ``[lo, hi)`` — the part
    of the window whose prices should be published by now (nothing is changed)."""
    err_console.print(
        f"{series.tariff}: {len(series.frame)} slot(s) fetched; stored {result.inserted} new "
        f"vintage row(s), {result.unchanged} unchanged, {result.revised} revised",
        highlight=False,
        soft_wrap=True,
    )
    if series.empty or hi <= lo:
        return
    step = slot_length(series.frame)
    problems = find_problems(series, lo, hi, rules(settings.tariff), step)
    if problems:
        err_console.print(
            f"[yellow]warning:[/] {summary(series.tariff, problems)}",
            highlight=False,
            soft_wrap=True,
        )


def fetch(
    config: ConfigOption = None,
    start: Annotated[str | None, typer.Option("--from", help="Window start, ISO-8601 UTC.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Window end, ISO-8601 UTC.")] = None,
) -> None:
    """Fetch import and export prices from the configured source and store them."""
    settings = settings_from(config)
    with errors_to_exit():
        lo, hi = _window(settings, start, end)
        now = datetime.now(UTC)
        with httpx.Client(headers={"User-Agent": "xstorage-optimizer"}) as client:
            fetched = fetch_prices(settings.tariff, client, lo, hi, now)
        with Store.from_settings(settings.store) as store:
            results = list(
                zip(fetched.both(), store.save_price_batches(fetched.both()), strict=True)
            )
            status = publication_status(
                now, store.price_coverage(fetched.import_prices.tariff), settings.tariff.timezone,
                settings.tariff.publish_time, settings.tariff.day_start,
                settings.tariff.late_after_minutes,
            )  # fmt: skip
        for series, result in results:
            _report(series, result, settings, lo, min(hi, status.expected_until))
        if fetched.standing_charge_per_day is not None:
            err_console.print(
                f"standing charge: {fetched.standing_charge_per_day:.4f} per day", soft_wrap=True
            )
        if status.late:
            err_console.print(
                f"[yellow]warning:[/] prices up to {status.expected_until:%Y-%m-%dT%H:%MZ} "
                f"were due at {status.due_at:%Y-%m-%dT%H:%MZ} and are late",
                highlight=False,
                soft_wrap=True,
            )


def prices(
    start: Annotated[str, typer.Option("--from", help="Window start, ISO-8601 UTC.")],
    end: Annotated[str, typer.Option("--to", help="Window end, ISO-8601 UTC.")],
    config: ConfigOption = None,
    export: Annotated[bool, typer.Option("--export", help="The export tariff.")] = False,
    tariff: Annotated[str | None, typer.Option(help="Tariff name as stored.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Prices as known at this UTC time.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print CSV (start_utc,end_utc,price).")
    ] = False,
) -> None:
    """Print stored prices (latest vintage per slot) in currency units per kWh (8 decimals)."""
    settings = settings_from(config)
    with errors_to_exit():
        lo, hi = _window(settings, start, end)
        known = parse_utc(as_of, "--as-of") if as_of else None
        name = tariff or (
            settings.tariff.export_code() if export else settings.tariff.import_code()
        )
        if not name:
            raise InvalidInput("no export tariff configured (tariff.export_product is empty)")
        with Store.from_settings(settings.store) as store:
            frame = store.price_frame(name, lo, hi, known)
        _print(frame, name, as_json, as_csv)


def _stamp(moment: pd.Timestamp) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _print(frame: pd.DataFrame, name: str, as_json: bool, as_csv: bool) -> None:
    rows = [
        (_stamp(s), _stamp(e), round(float(p), 8))
        for s, e, p in zip(frame.index, frame["end"], frame["price_per_kwh"], strict=True)
    ]
    if as_json:
        typer.echo(json.dumps([{"start": s, "end": e, "price": p} for s, e, p in rows], indent=1))
        return
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["start_utc", "end_utc", "price"])
        writer.writerows(rows)
        return
    if not rows:
        err_console.print(
            f"{name}: no stored prices in this window", highlight=False, soft_wrap=True
        )
    for s, e, p in rows:
        typer.echo(f"{s}  {e}  {p:10.5f}")


def import_csv(
    kind: Annotated[Kind, typer.Option(help="What the file holds.")],
    file: Annotated[Path, typer.Option(help="CSV in the data/ shape: start_utc,end_utc,<value>.")],
    config: ConfigOption = None,
    unit: Annotated[
        str | None, typer.Option(help=f"Price: {', '.join(PRICE_UNITS)}; load/pv: kWh, Wh.")
    ] = None,
    tariff: Annotated[str | None, typer.Option(help="Store prices under this tariff name.")] = None,
    replace: Annotated[
        bool, typer.Option(help="Load/PV: overwrite slots stored differently.")
    ] = False,
    fetched_at: Annotated[
        str | None, typer.Option(help="Price: when these prices became known (UTC); default now.")
    ] = None,
) -> None:
    """Import a price, load or PV CSV into the history store."""
    settings = settings_from(config)
    with errors_to_exit():
        series = read_series_csv(file)
        ends = pd.DatetimeIndex(series.index) + interval_length(series, str(file))
        with Store.from_settings(settings.store) as store:
            if kind is Kind.PRICE:
                factor = price_factor(unit or settings.tariff.csv_unit)
                frame = _frame(series, ends, "price_per_kwh", factor)
                name = tariff or settings.tariff.import_code()
                known = parse_utc(fetched_at, "--fetched-at") if fetched_at else datetime.now(UTC)
                result = store.save_prices(frame, "csv", name, known)
            else:
                frame = _frame(series, ends, "kwh", _energy_factor(unit or "kWh"))
                result = store.save_series(str(kind), frame, file.name, replace)
        err_console.print(
            f"{file}: {len(series)} row(s); stored {result.inserted}, "
            f"unchanged {result.unchanged}, revised {result.revised}",
            highlight=False,
            soft_wrap=True,
        )


def _frame(series: pd.Series, ends: pd.DatetimeIndex, column: str, factor: float) -> pd.DataFrame:
    """The store's batch shape: index UTC start, ``end`` and ``column`` (value × ``factor``)."""
    return pd.DataFrame({"end": ends, column: series.to_numpy() * factor}, index=series.index)


def _energy_factor(unit: str) -> float:
    try:
        return ENERGY_UNITS[unit]
    except KeyError:
        raise InvalidInput(f"energy unit {unit!r} is not known; use kWh or Wh") from None


def register(app: typer.Typer) -> None:
    """Add ``fetch``, ``prices`` and ``import-csv`` to ``app``."""
    app.command("fetch")(fetch)
    app.command("prices")(prices)
    app.command("import-csv")(import_csv)
