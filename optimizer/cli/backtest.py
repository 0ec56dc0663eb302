"""``xstorage-optimizer backtest``: replay history with one or all strategies."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from optimizer.cli.common import (
    err_console,
    errors_to_exit,
    interrupted_writes_nothing,
    settings_from,
    writable_folder,
)
from optimizer.errors import InvalidInput
from optimizer.units import PRICE_UNITS

if TYPE_CHECKING:
    from rich.table import Table

PricesOpt = Annotated[Path, typer.Option(help="Import prices CSV (start_utc,end_utc,price).")]
LoadOpt = Annotated[Path, typer.Option(help="Household load CSV (kWh per interval).")]
ConfigOpt = Annotated[Path | None, typer.Option(help="Settings file (config.toml).")]
ExportOpt = Annotated[Path | None, typer.Option(help="Export prices CSV.")]
PvOpt = Annotated[Path | None, typer.Option(help="PV generation CSV (kWh per interval).")]
UnitOpt = Annotated[
    str | None,
    typer.Option(
        help=f"Unit of the price files: {', '.join(PRICE_UNITS)}; default: the files' unit "
        "column, else tariff.csv_unit (p/kWh). The currency follows it."
    ),
]
PvForecastOpt = Annotated[
    Path | None,
    typer.Option(
        help="Archive of issued PV forecasts (issued_utc,start_utc,end_utc,kwh[,kwh_p10,"
        "kwh_p90]): each decision reads the latest vintage issued by its time; needs --pv."
    ),
]
PvCalibrateOpt = Annotated[
    bool,
    typer.Option(
        "--pv-calibrate",
        help="Calibrate the archive's forecasts on the measured PV, walk-forward (also what "
        "pv.calibrate = true, the default, does; set it false to replay the raw forecasts).",
    ),
]
PvHedgeOpt = Annotated[
    bool,
    typer.Option("--pv-hedge", help="Plan over the archive's P10/forecast/P90 as PV scenarios."),
]
PvInDayOpt = Annotated[
    bool,
    typer.Option(
        "--pv-inday", help="Scale the PV forecast ahead by the PV measured in the last 2 hours."
    ),
]
FromOpt = Annotated[str | None, typer.Option("--from", help="Start, ISO-8601 with offset.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="End (exclusive), ISO-8601.")]


@contextmanager
def progress_bar(
    total: int, quiet: bool = False, what: str = "replaying"
) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (stdout stays clean for ``--json``)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    if quiet:
        yield lambda n: None
        return
    columns = (TextColumn(what), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=err_console(), transient=True) as bar:
        task = bar.add_task("replay", total=total)
        yield lambda n: bar.advance(task, n)


def period_from(start: str | None, end: str | None) -> tuple[datetime, datetime] | None:
    """``--from``/``--to`` as UTC datetimes (both or neither)."""
    from optimizer.timeseries import parse_utc

    if start is None and end is None:
        return None
    if start is None or end is None:
        raise InvalidInput("give both --from and --to, or neither")
    return parse_utc(start, "--from"), parse_utc(end, "--to")


def _table(summaries: list[dict[str, Any]], currency: str) -> Table:
    from rich.table import Table

    table = Table(title=f"Backtest ({currency})")
    headers = ("strategy", "cost", "no battery", "savings", "end SOC %", "end credit",
               "captured", "cycles", "slots")  # fmt: skip
    for header in headers:
        table.add_column(header, justify="left" if header == "strategy" else "right")
    for s in summaries:
        share = s["captured_share"]
        end_soc = s["soc_end_pct"]
        table.add_row(
            s["strategy"], f"{s['cost']:.2f}", f"{s['no_battery_cost']:.2f}",
            f"{s['savings']:.2f}", "" if end_soc is None else f"{end_soc:.0f}",
            f"{s['end_energy_credit']:+.2f}", "" if share is None else f"{share:.1%}",
            f"{s['cycles']:.1f}", str(s["slots"]),
        )  # fmt: skip
    lines = []
    if summaries:
        first = summaries[0]
        lines.append(
            f"end credit: stored energy at the end less at the start ({first['soc_start_pct']:.0f}"
            f" % SOC) × {first['end_value_per_kwh']:.4f} {currency}/kWh (the planner's end "
            "value); captured: savings + end credit, as a share of perfect's"
        )
    gaps = summaries[0]["gaps"] if summaries else []
    if gaps:
        lines.append("left out (missing inputs): " + "; ".join(
            f"{g['start']} → {g['end']} ({g['slots']} slots, {g['missing']})" for g in gaps
        ))  # fmt: skip
    table.caption = "\n".join(lines) or None
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
    pv_forecast: PvForecastOpt = None,
    pv_calibrate: PvCalibrateOpt = False,
    pv_hedge: PvHedgeOpt = False,
    pv_inday: PvInDayOpt = False,
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
        with interrupted_writes_nothing("backtest"):
            inputs, currency = load_inputs(
                settings, prices, load, export_prices, pv, price_unit, period_from(start, end),
                (pv_forecast, pv_calibrate, pv_hedge, pv_inday),
            )  # fmt: skip
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
    pv_forecast: tuple[Path | None, bool, bool, bool] = (None, False, False, False),
) -> tuple[Any, str]:
    """The backtest's inputs from the files (units checked, the currency the prices are in);
    a period with no data at all is an error naming the files. ``pv_forecast``: the
    archive, calibrate, hedge, in-day (``--pv-forecast``, ``--pv-calibrate``, ``--pv-hedge``,
    ``--pv-inday``)."""
    from optimizer.backtest.suite import DataFiles, inputs_from, pv_archive_of, read_series
    from optimizer.cli.common import currency_for

    files = DataFiles(prices, load, export_prices, pv, price_unit, *pv_forecast)
    archive = pv_archive_of(files)
    if archive is not None and settings.pv.calibrate:  # as the service does (pv.calibrate)
        archive = dataclasses.replace(archive, calibrate=True)
    series = read_series(files, settings)
    currency = currency_for(settings, series.price_unit)
    return inputs_from(series, settings, period, archive), currency


def register(app: typer.Typer) -> None:
    """Add ``backtest`` and ``tune`` to the command line."""
    from optimizer.cli import tune

    app.command("backtest")(backtest_command)
    app.command("tune")(tune.tune_command)
