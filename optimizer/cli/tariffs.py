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
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from optimizer.cli.common import err_console, errors_to_exit, settings_from, store_note
from optimizer.errors import InvalidInput
from optimizer.units import PRICE_UNITS

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.config import Settings
    from optimizer.store import SaveResult, Store
    from optimizer.tariffs import PriceSeries

ConfigOption = Annotated[Path | None, typer.Option(help="Settings file (config.toml).")]


class Kind(StrEnum):
    """What an imported CSV holds."""

    PRICE = "price"
    LOAD = "load"
    PV = "pv"


def _window(settings: Settings, start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """``--from``/``--to`` as UTC; default: today and tomorrow in the tariff's local time."""
    from optimizer.timeseries import local_day_bounds, parse_utc

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
    from optimizer.tariffs import find_problems
    from optimizer.tariffs.model import slot_length
    from optimizer.tariffs.sources import rules
    from optimizer.tariffs.validate import summary

    err_console().print(
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
        err_console().print(
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
    import httpx

    from optimizer.store import Store
    from optimizer.tariffs import fetch_prices, publication_status

    settings = settings_from(config)
    with errors_to_exit():
        lo, hi = _window(settings, start, end)
        now = datetime.now(UTC)
        with httpx.Client(headers={"User-Agent": "xstorage-optimizer"}) as client:
            fetched = fetch_prices(settings.tariff, client, lo, hi, now)
        store_note(settings.store.url)
        with Store.from_settings(settings.store) as store:
            batches = [_without_suspect_zeros(store, series) for series in fetched.both()]
            results = list(zip(fetched.both(), store.save_price_batches(batches), strict=True))
            status = publication_status(
                now, store.price_coverage(fetched.import_prices.tariff), settings.tariff.timezone,
                settings.tariff.publish_time, settings.tariff.day_start,
                settings.tariff.late_after_minutes,
            )  # fmt: skip
        for series, result in results:
            _report(series, result, settings, lo, min(hi, status.expected_until))
        if fetched.standing_charge_per_day is not None:
            err_console().print(
                f"standing charge: {fetched.standing_charge_per_day:.4f} per day", soft_wrap=True
            )
        if status.late:
            err_console().print(
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
    from optimizer.store import Store
    from optimizer.timeseries import parse_utc

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
        _print(frame, name, as_json, as_csv, f"{settings.planner.currency}/kWh")


def _stamp(moment: pd.Timestamp) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _print(frame: pd.DataFrame, name: str, as_json: bool, as_csv: bool, unit: str) -> None:
    """The same fields in every form: ``start_utc``, ``end_utc``, ``price`` (8 decimals) and
    ``unit``, so a ``--csv`` file imports back as it was (``import-csv`` reads the unit)."""
    rows = [
        (_stamp(s), _stamp(e), round(float(p), 8))
        for s, e, p in zip(frame.index, frame["end"], frame["price_per_kwh"], strict=True)
    ]
    if as_json:
        document = [{"start_utc": s, "end_utc": e, "price": p, "unit": unit} for s, e, p in rows]
        typer.echo(json.dumps(document, indent=1))
        return
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["start_utc", "end_utc", "price", "unit"])
        writer.writerows((s, e, f"{p:.8f}", unit) for s, e, p in rows)
        return
    if not rows:
        err_console().print(
            f"{name}: no stored prices in this window", highlight=False, soft_wrap=True
        )
        return
    typer.echo(f"{'start_utc':20}  {'end_utc':20}  {'price (' + unit + ')':>16}")
    for s, e, p in rows:
        typer.echo(f"{s:20}  {e:20}  {p:16.8f}")


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
    """Import a price, load or PV CSV into the history store.

    The unit is the file's unit column (as prices --csv writes it), else --unit, else
    tariff.csv_unit for prices and kWh for energy; the file and --unit disagreeing is an error.
    """
    from optimizer.cli.common import currency_for
    from optimizer.csvdata import read_prices_csv
    from optimizer.store import Store
    from optimizer.timeseries import interval_length, parse_utc

    settings = settings_from(config)
    with errors_to_exit():
        if kind is Kind.PRICE:
            series, used = read_prices_csv(file, "--file", unit, settings.tariff.csv_unit, "--unit")
            currency_for(settings, used)
            column = "price_per_kwh"
        else:
            series = _energy(file, unit)
            column = "kwh"
        ends = pd_index(series) + interval_length(series, f"--file {file}")
        frame = _frame(series, ends, column)
        known = parse_utc(fetched_at, "--fetched-at") if fetched_at else datetime.now(UTC)
        store_note(settings.store.url)
        with Store.from_settings(settings.store) as store:
            if kind is Kind.PRICE:
                name = tariff or settings.tariff.import_code()
                frame = _drop_suspect_zeros(store, frame, name, file)
                result = store.save_prices(frame, "csv", name, known)
            else:
                result = store.save_series(str(kind), frame, file.name, replace)
        err_console().print(
            f"{file}: {len(series)} row(s); stored {result.inserted}, "
            f"unchanged {result.unchanged}, revised {result.revised}",
            highlight=False,
            soft_wrap=True,
        )


def _suspect_warning(what: str, suspects: pd.DatetimeIndex) -> None:
    err_console().print(
        f"[yellow]warning:[/] {what}: {len(suspects)} suspect 0.00 price slot(s) from "
        f"{suspects[0]:%Y-%m-%dT%H:%MZ} (zeros unlike their neighbours: a publishing glitch?); "
        "not stored",
        highlight=False,
        soft_wrap=True,
    )


def _neighbours(store: Store, tariff: str, frame: pd.DataFrame) -> pd.Series | None:
    """Stored prices of ``tariff`` within 12 hours of ``frame``'s slots."""
    from datetime import timedelta

    if frame.empty:
        return None
    margin = timedelta(hours=12)
    index = pd_index(frame)
    lo, hi = index.min().to_pydatetime(), index.max().to_pydatetime()
    return store.prices(tariff, lo - margin, hi + margin)


def _without_suspect_zeros(
    store: Store, series: PriceSeries, what: str | None = None
) -> PriceSeries:
    """``series`` without the zeros that stand out from their (stored) neighbours, warned about."""
    from optimizer.tariffs.validate import without_suspect_zeros

    around = _neighbours(store, series.tariff, series.frame)
    kept, suspects = without_suspect_zeros(series, around)
    if len(suspects):
        _suspect_warning(what or series.tariff, suspects)
    return kept


def _drop_suspect_zeros(store: Store, frame: pd.DataFrame, tariff: str, file: Path) -> pd.DataFrame:
    """``import-csv``: the rows of ``frame`` except suspect zeros (warned about, not stored)."""
    from optimizer.tariffs import PriceSeries

    series = PriceSeries("csv", tariff, frame, datetime.now(UTC))
    return _without_suspect_zeros(store, series, f"--file {file}").frame


def pd_index(series: pd.Series | pd.DataFrame) -> pd.DatetimeIndex:
    """The series' index as a ``DatetimeIndex``."""
    import pandas as pd

    return pd.DatetimeIndex(series.index)


def _energy(file: Path, unit: str | None) -> pd.Series:
    """kWh per interval from a ``kwh`` file in its ``unit`` column's unit, else ``unit``."""
    from optimizer.csvdata import read_energy_csv
    from optimizer.units import energy_factor

    series = read_energy_csv(file, "--file")
    own = series.attrs.get("unit")
    if own is not None and unit is not None and own != unit:
        raise InvalidInput(f"--file {file}: its unit column says {own}, --unit says {unit}")
    return series * energy_factor(own or unit or "kWh")


def _frame(series: pd.Series, ends: pd.DatetimeIndex, column: str) -> pd.DataFrame:
    """The store's batch shape: index UTC start, ``end`` and ``column``."""
    import pandas as pd

    return pd.DataFrame({"end": ends, column: series.to_numpy()}, index=series.index)


def register(app: typer.Typer) -> None:
    """Add ``fetch``, ``prices`` and ``import-csv`` to ``app``."""
    app.command("fetch")(fetch)
    app.command("prices")(prices)
    app.command("import-csv")(import_csv)
