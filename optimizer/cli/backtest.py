"""``xstorage-optimizer backtest``: replay history with one or all strategies."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from optimizer.cli.common import errors_to_exit, settings_from, writable_folder
from optimizer.cli.inputs import (
    ConfigOpt,
    ExportOpt,
    FromOpt,
    LoadOpt,
    PricesOpt,
    PvOpt,
    ToOpt,
    UnitOpt,
    period_from,
    progress_bar,
)
from optimizer.errors import InvalidInput

if TYPE_CHECKING:
    from rich.table import Table


def _table(summaries: list[dict[str, Any]], currency: str) -> Table:
    from rich.table import Table

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
    price_unit: UnitOpt = None,
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
    from rich.console import Console

    from optimizer.backtest.report import write_outputs
    from optimizer.backtest.suite import config_from, run_strategies, strategy_names

    settings = settings_from(config)
    with errors_to_exit():
        if out is not None:
            writable_folder(out, "--out")
        if replan not in (None, "slot", "hour", "day"):
            raise InvalidInput(f"--replan {replan!r}: use slot, hour or day")
        if soc is not None and not 0.0 <= soc <= 100.0:
            raise InvalidInput(f"--soc {soc:g}: the starting SOC must be between 0 and 100 %")
        inputs, currency = load_inputs(
            settings, prices, load, export_prices, pv, price_unit, period_from(start, end)
        )
        bt_config = config_from(settings, replan, soc)
        names = strategy_names(strategy or settings.backtest.strategy)
        with progress_bar(len(inputs.index) * len(names)) as advance:
            results, summaries = run_strategies(
                names, inputs, bt_config, settings.backtest.strategy_modules, advance
            )
        if out is not None:
            try:
                write_outputs(results, summaries, out, settings.planner.timezone, currency)
            except OSError as exc:
                raise InvalidInput(f"--out {out}: cannot be written ({exc.strerror})") from None
    if as_json:
        typer.echo(json.dumps({s["strategy"]: s for s in summaries}, indent=2))
    else:
        Console().print(_table(summaries, currency))


def load_inputs(
    settings: Any,
    prices: Path,
    load: Path,
    export_prices: Path | None,
    pv: Path | None,
    price_unit: str | None,
    period: tuple[datetime, datetime] | None,
) -> tuple[Any, str]:
    """The backtest's inputs from the files (units checked, the currency the prices are in);
    a period with no data at all is an error naming the files."""
    from optimizer.backtest.suite import DataFiles, inputs_from, read_series
    from optimizer.cli.common import currency_for

    files = DataFiles(prices, load, export_prices, pv, price_unit)
    series = read_series(files, settings)
    currency = currency_for(settings, series.price_unit)
    return inputs_from(series, settings, period), currency


def register(app: typer.Typer) -> None:
    """Add ``backtest`` to the command line."""
    app.command("backtest")(backtest_command)
