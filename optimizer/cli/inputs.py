"""What ``backtest``, ``tune`` and ``sweep`` share: the input-file options, the period and the
progress bar (so no command module imports another)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from optimizer.cli.common import err_console
from optimizer.errors import InvalidInput
from optimizer.units import PRICE_UNITS

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


WorkersOpt = Annotated[
    int | None,
    typer.Option(min=1, help="Local worker processes (default: the cores); 1 runs in-process."),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(help="A running Dask scheduler's address (tcp://HOST:8786) instead."),
]
SchedulerFileOpt = Annotated[
    Path | None, typer.Option(help="A Dask scheduler file (dask scheduler --scheduler-file).")
]


@contextmanager
def runs_progress(total: int, done: int = 0, what: str = "runs") -> Iterator[Callable[[], None]]:
    """Runs done of ``total`` on stderr: a rich bar with the ETA on a terminal, else a line at
    each 10 % (logs stay readable). ``done`` runs are counted as finished from the start."""
    import time

    console = err_console()
    if console.is_terminal:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        columns = (TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(what, total=total, completed=done)
            yield lambda: bar.advance(task, 1)
        return
    started, count, shown = time.monotonic(), [done], [10 * done // max(total, 1)]

    def advance() -> None:
        count[0] += 1
        tenth = 10 * count[0] // max(total, 1)
        if tenth > shown[0]:
            shown[0] = tenth
            spent = time.monotonic() - started
            fresh = count[0] - done
            left = spent / fresh * (total - count[0]) if fresh else 0.0
            console.print(f"{what}: {count[0]}/{total} ({100 * count[0] // total} %), "
                          f"{spent:.0f} s, ETA {left:.0f} s", highlight=False)  # fmt: skip

    yield advance


PvForecastOpt = Annotated[
    Path | None,
    typer.Option(
        help="Archive of issued PV forecasts, a CSV with columns issued_utc, start_utc, "
        "end_utc, kwh (optional kwh_p10, kwh_p90): each decision reads the latest vintage "
        "issued by its time; needs --pv."
    ),
]
PvCalibrateOpt = Annotated[
    bool | None,
    typer.Option(
        "--pv-calibrate/--no-pv-calibrate",
        help="Calibrate the archive's forecasts on the measured PV, walk-forward, as the "
        "service does; default: the setting pv.calibrate (true).",
        show_default=False,
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
