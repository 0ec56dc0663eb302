"""``xstorage-optimizer backtest``: replay history with one or all strategies."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from optimizer.cli.common import (
    errors_to_exit,
    interrupted_writes_nothing,
    settings_from,
    writable_folder,
)
from optimizer.cli.inputs import (
    ConfigOpt,
    ExportOpt,
    FromOpt,
    LoadOpt,
    PricesOpt,
    PvCalibrateOpt,
    PvForecastOpt,
    PvHedgeOpt,
    PvInDayOpt,
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
    """One row per strategy, fitting an 80-column terminal (two-line headers, no borders);
    the slot count, the same for every strategy, goes in the caption."""
    from rich import box
    from rich.table import Table

    table = Table(title=f"Backtest ({currency})", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False)  # fmt: skip
    headers = ("strategy", "cost", "no\nbattery", "savings", "end\nSOC %", "end\ncredit",
               "captured", "cycles")  # fmt: skip
    for header in headers:
        table.add_column(header, justify="left" if header == "strategy" else "right", no_wrap=True)
    for s in summaries:
        share = s["captured_share"]
        end_soc = s["soc_end_pct"]
        table.add_row(
            s["strategy"], f"{s['cost']:z.2f}", f"{s['no_battery_cost']:z.2f}",
            f"{s['savings']:z.2f}", "" if end_soc is None else f"{end_soc:.0f}",
            f"{s['end_energy_credit']:+z.2f}", "" if share is None else f"{share:.1%}",
            f"{s['cycles']:.1f}",
        )  # fmt: skip
    lines = []
    if summaries:
        first = summaries[0]
        lines.append(f"{first['slots']} slots replayed")
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
    pv_calibrate: PvCalibrateOpt = None,
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
    pv_forecast: tuple[Path | None, bool | None, bool, bool] = (None, None, False, False),
) -> tuple[Any, str]:
    """The backtest's inputs from the files (units checked, the currency the prices are in);
    a period with no data at all is an error naming the files. ``pv_forecast``: the
    archive, calibrate, hedge, in-day (``--pv-forecast``, ``--pv-calibrate``, ``--pv-hedge``,
    ``--pv-inday``)."""
    from optimizer.backtest.suite import DataFiles, inputs_from, pv_archive_of, read_series
    from optimizer.cli.common import currency_for

    path, calibrate, hedge, inday = pv_forecast
    files = DataFiles(prices, load, export_prices, pv, price_unit, path, calibrate is True,
                      hedge, inday)  # fmt: skip
    archive = pv_archive_of(files)
    if archive is not None:  # calibrated as the service does, unless told (pv.calibrate)
        chosen = settings.pv.calibrate if calibrate is None else calibrate
        archive = dataclasses.replace(archive, calibrate=chosen)
    series = read_series(files, settings)
    currency = currency_for(settings, series.price_unit)
    return inputs_from(series, settings, period, archive), currency


def register(app: typer.Typer) -> None:
    """Add ``backtest`` to the command line."""
    app.command("backtest")(backtest_command)
