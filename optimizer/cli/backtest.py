"""``xstorage-optimizer backtest``: replay history with one or all strategies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from optimizer.backtest.engine import Progress as ProgressFn
from optimizer.backtest.report import write_outputs
from optimizer.backtest.suite import (
    DataFiles,
    config_from,
    inputs_from,
    read_series,
    run_strategies,
    strategy_names,
)
from optimizer.cli.common import err_console, errors_to_exit, settings_from
from optimizer.csvdata import PRICE_UNITS
from optimizer.errors import InvalidInput
from optimizer.timeseries import parse_utc

PricesOpt = Annotated[Path, typer.Option(help="Import prices CSV (start_utc,end_utc,price).")]
LoadOpt = Annotated[Path, typer.Option(help="Household load CSV (kWh per interval).")]
ConfigOpt = Annotated[Path | None, typer.Option(help="Settings file (config.toml).")]
ExportOpt = Annotated[Path | None, typer.Option(help="Export prices CSV.")]
PvOpt = Annotated[Path | None, typer.Option(help="PV generation CSV (kWh per interval).")]
UnitOpt = Annotated[str, typer.Option(help=f"Unit of the price files: {', '.join(PRICE_UNITS)}.")]
FromOpt = Annotated[str | None, typer.Option("--from", help="Start, ISO-8601 with offset.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="End (exclusive), ISO-8601.")]


@contextmanager
def progress_bar(total: int, quiet: bool = False) -> Iterator[ProgressFn]:
    """A rich progress bar on stderr (stdout stays clean for ``--json``)."""
    if quiet:
        yield lambda n: None
        return
    columns = (TextColumn("replaying"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("replay", total=total)
        yield lambda n: bar.advance(task, n)


def period_from(start: str | None, end: str | None) -> tuple[datetime, datetime] | None:
    """``--from``/``--to`` as UTC datetimes (both or neither)."""
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise InvalidInput("give both --from and --to, or neither")
    return parse_utc(start, "--from"), parse_utc(end, "--to")


def _table(summaries: list[dict[str, Any]], currency: str) -> Table:
    table = Table(title=f"Backtest ({currency})")
    for header in ("strategy", "cost", "no battery", "savings", "captured", "cycles", "slots"):
        table.add_column(header, justify="left" if header == "strategy" else "right")
    for s in summaries:
        share = s["captured_share"]
        table.add_row(
            s["strategy"], f"{s['cost']:.2f}", f"{s['no_battery_cost']:.2f}",
            f"{s['savings']:.2f}", "" if share is None else f"{share:.1%}",
            f"{s['cycles']:.1f}", str(s["slots"]),
        )  # fmt: skip
    gaps = summaries[0]["gaps"] if summaries else []
    if gaps:
        table.caption = "left out (missing inputs): " + "; ".join(
            f"{g['start']} → {g['end']} ({g['slots']} slots, {g['missing']})" for g in gaps
        )
    return table


def backtest_command(
    prices: PricesOpt,
    load: LoadOpt,
    config: ConfigOpt = None,
    export_prices: ExportOpt = None,
    pv: PvOpt = None,
    price_unit: UnitOpt = "p/kWh",
    start: FromOpt = None,
    end: ToOpt = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            help="lp, perfect, cheapest-slots, self-use, none, all, a "
            "comma list or package.module:Class."
        ),
    ] = None,
    replan: Annotated[str | None, typer.Option(help="Re-plan cadence: slot, hour or day.")] = None,
    soc: Annotated[
        float | None,
        typer.Option("--soc", help="Starting SOC, % (0..100; default: backtest.initial_soc_pct)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summaries as JSON.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write slot CSVs, summary.json, PNGs.")] = None,
) -> None:
    """Replay history: what each strategy would have cost, against no battery and perfect."""
    settings = settings_from(config)
    with errors_to_exit():
        if replan not in (None, "slot", "hour", "day"):
            raise InvalidInput(f"--replan {replan!r}: use slot, hour or day")
        if soc is not None and not 0.0 <= soc <= 100.0:
            raise InvalidInput(f"--soc {soc:g}: the starting SOC must be between 0 and 100 %")
        files = DataFiles(prices, load, export_prices, pv, price_unit)
        inputs = inputs_from(read_series(files, settings), settings, period_from(start, end))
        bt_config = config_from(settings, replan, soc)
        names = strategy_names(strategy or settings.backtest.strategy)
        with progress_bar(len(inputs.index) * len(names)) as advance:
            results, summaries = run_strategies(
                names, inputs, bt_config, settings.backtest.strategy_modules, advance
            )
        if out is not None:
            write_outputs(results, summaries, out, settings.planner.timezone)
    if as_json:
        typer.echo(json.dumps({s["strategy"]: s for s in summaries}, indent=2))
    else:
        Console().print(_table(summaries, settings.planner.currency))


def register(app: typer.Typer) -> None:
    """Add ``backtest`` and ``tune`` to the command line."""
    from optimizer.cli import tune

    app.command("backtest")(backtest_command)
    app.command("tune")(tune.tune_command)
