"""``xstorage-optimizer tune``: backtest a grid of settings in parallel processes and rank them."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from optimizer.cli.backtest import (
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
    load_inputs,
    period_from,
    progress_bar,
)
from optimizer.cli.common import (
    err_console,
    errors_to_exit,
    interrupted_writes_nothing,
    settings_from,
    writable_file,
)
from optimizer.errors import InvalidInput

if TYPE_CHECKING:
    from optimizer.backtest.suite import DataFiles
    from optimizer.config import Settings


def _value(text: str) -> Any:
    """A grid value: an integer or a number when it parses as one, else the string (``auto``,
    ``none``)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def parse_params(params: list[str]) -> list[dict[str, Any]]:
    """``section.key=a,b,c`` options → every combination as a dict of overrides."""
    axes: list[list[tuple[str, Any]]] = []
    for param in params:
        key, sep, values = param.partition("=")
        if not sep or "." not in key or not values:
            raise InvalidInput(f"--param {param!r}: use section.key=value1,value2")
        axes.append([(key.strip(), _value(v.strip())) for v in values.split(",")])
    return [dict(combo) for combo in itertools.product(*axes)]


def _evaluate(
    settings: Settings,
    files: DataFiles,
    period: tuple[Any, Any] | None,
    overrides: dict[str, Any],
    strategy: str,
) -> dict[str, Any]:
    """One grid point (runs in a worker process): the summary of ``strategy``."""
    from optimizer.backtest.suite import (
        config_from,
        inputs_from,
        pv_archive_of,
        read_series,
        run_strategies,
        with_overrides,
    )

    tuned = with_overrides(settings, overrides)
    inputs = inputs_from(read_series(files, tuned), tuned, period, pv_archive_of(files))
    _, summaries = run_strategies([strategy], inputs, config_from(tuned))
    return {"overrides": overrides, **summaries[0]}


def _worker_start() -> None:
    """In each worker: Ctrl-C (sent to the whole process group) ends it quietly; the parent
    reports the interruption once."""
    import os
    import signal

    signal.signal(signal.SIGINT, lambda *_: os._exit(130))


def _stop_workers(pool: Any) -> None:
    """Cancel what has not started and end the workers now (not after their backtests)."""
    import multiprocessing

    pool.shutdown(wait=False, cancel_futures=True)
    for child in multiprocessing.active_children():
        child.terminate()


def _toml(overrides: dict[str, Any]) -> str:
    sections: dict[str, list[str]] = {}
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        text = f'"{value}"' if isinstance(value, str) else f"{value:g}"
        sections.setdefault(section, []).append(f"{key} = {text}")
    return "\n".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items())


def tune_command(
    prices: PricesOpt,
    load: LoadOpt,
    param: Annotated[list[str], typer.Option(help="section.key=v1,v2,... (repeatable).")],
    config: ConfigOpt = None,
    export_prices: ExportOpt = None,
    pv: PvOpt = None,
    price_unit: UnitOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    strategy: Annotated[str, typer.Option(help="Strategy to tune.")] = "lp",
    workers: Annotated[int, typer.Option(min=1, help="Parallel processes.")] = 2,
    best_out: Annotated[Path, typer.Option(help="Where to write the best settings (TOML).")] = Path(
        "tuned.toml"
    ),
    pv_forecast: PvForecastOpt = None,
    pv_calibrate: PvCalibrateOpt = False,
    pv_hedge: PvHedgeOpt = False,
    pv_inday: PvInDayOpt = False,
) -> None:
    """Backtest every combination of --param values; rank by the bill; write the best."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from rich.console import Console
    from rich.table import Table

    from optimizer.backtest.suite import DataFiles, with_overrides

    settings = settings_from(config)
    with errors_to_exit():
        writable_file(best_out, "--best-out")
        grid = parse_params(param)
        for overrides in grid:
            with_overrides(settings, overrides)  # fail fast on a bad key or value
        period = period_from(start, end)
        pv_options = (pv_forecast, pv_calibrate, pv_hedge, pv_inday)
        _, currency = load_inputs(
            settings, prices, load, export_prices, pv, price_unit, period, pv_options
        )
        files = DataFiles(prices, load, export_prices, pv, price_unit, *pv_options)
        err_console().print(f"tune: {len(grid)} backtests of {strategy} on {workers} processes",
                          highlight=False)  # fmt: skip
        with (
            interrupted_writes_nothing("tune"),
            ProcessPoolExecutor(max_workers=workers, initializer=_worker_start) as pool,
            progress_bar(len(grid), what="backtests") as advance,
        ):
            futures = [pool.submit(_evaluate, settings, files, period, o, strategy) for o in grid]
            rows = []
            try:
                for future in as_completed(futures):
                    rows.append(future.result())
                    advance(1)
            except KeyboardInterrupt:
                _stop_workers(pool)
                raise
        rows.sort(key=lambda r: r["cost"])
    table = Table(title=f"tune {strategy}: ranked by cost ({currency})")
    for header in ("rank", "settings", f"cost ({currency})", f"savings ({currency})", "cycles"):
        table.add_column(header)
    for rank, row in enumerate(rows, 1):
        label = ", ".join(f"{k}={v}" for k, v in row["overrides"].items())
        table.add_row(str(rank), label, f"{row['cost']:.2f}", f"{row['savings']:.2f}",
                      f"{row['cycles']:.1f}")  # fmt: skip
    Console().print(table)
    best_out.write_text(f"# best of {len(rows)} by backtest cost\n" + _toml(rows[0]["overrides"]))
    err_console().print(f"best settings written to {best_out}", highlight=False)
