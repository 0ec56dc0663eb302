"""``run`` (the unattended service) and ``demo`` (the service against the simulator)."""

from __future__ import annotations

import json
import logging
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from optimizer.cli.common import err_console, errors_to_exit, out_console, settings_from, store_note
from optimizer.errors import InvalidInput
from optimizer.units import PRICE_UNITS

if TYPE_CHECKING:
    from rich.table import Table

    from optimizer.config import Settings
    from optimizer.device.clock import TimeSource
    from optimizer.service.demo import DemoInputs, DemoResult
    from optimizer.service.summary import RunSummary


SpeedOption = Annotated[
    float, typer.Option(min=0.001, help="Run every timer this many times faster (simulator).")
]


def configure_logging(level: int) -> None:
    """Timestamped log lines on stderr; the scheduler's, httpx's and the migrations' chatter
    only when it matters."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler", "httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run(
    config: Annotated[Path, typer.Option(help="Settings file (config.toml).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and log commands without sending them.")
    ] = False,
    speed: SpeedOption = 1.0,
) -> None:
    """Run the service: fetch prices, plan, poll the device and send each slot's command."""
    with tools_kept_out():  # before the device package imports httpx
        from optimizer.device.clock import SimClock, SystemTime

        settings = settings_from(config)
        configure_logging(logging.INFO)
        store_note(settings.store.url)
        clock: TimeSource = SystemTime() if speed == 1 else SimClock(datetime.now(UTC), speed=speed)
        with errors_to_exit():
            settings.device.password()  # fail now (exit 2) rather than at the first sign-in
            serve(settings, clock, speed, dry_run=dry_run)


#: Installed for ``sweep`` (Dask distributed depends on them), never used by the service; httpx
#: imports its own command line (``httpx._main``: click, rich, pygments) and tenacity its
#: tornado integration whenever these are importable: +5.4 MiB RSS in ``run`` (docs/sweep.md).
NOT_FOR_RUN = ("click", "tornado")


@contextmanager
def tools_kept_out() -> Iterator[None]:
    """While inside, ``NOT_FOR_RUN`` count as absent (``sys.modules[name] = None``: importing
    them raises ``ImportError``, which httpx and tenacity expect when they are not installed),
    unless already imported; on leaving, they are importable again (a ``run`` invoked inside a
    test leaves no trace for the tests after it)."""
    import sys

    blocked = [name for name in NOT_FOR_RUN if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def serve(
    settings: Settings,
    clock: TimeSource,
    speed: float = 1.0,
    *,
    dry_run: bool = False,
    password: Callable[[], str] | None = None,
    until: datetime | None = None,
) -> None:
    """``run``'s service: the store, the device client and the views opened, the jobs run on
    ``clock`` (``speed`` times real time) until SIGTERM/SIGINT (or until ``clock`` reaches
    ``until``); raises ``CredentialsRejected`` after a definite wrong password (exit 3).
    ``password`` replaces ``[device]``'s (``benchmarks/service_memory.py`` passes the
    simulator's)."""
    from optimizer import shutdown
    from optimizer.service.runner import ScheduledRunner
    from optimizer.service.views import observed
    from optimizer.service.wiring import open_deps

    shutdown.reset()
    with (
        open_deps(settings, clock, dry_run=dry_run, password=password) as deps,
        observed(deps) as service,
    ):
        runner = ScheduledRunner(service, clock, speed)

        def _stop(signum: int, frame: FrameType | None) -> None:
            logging.getLogger(__name__).info("signal %d: finishing the job in flight", signum)
            shutdown.request()  # backoff waits (tariff retries) end at once
            runner.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        runner.run(until=until)
        if service.fatal is not None:  # a definite wrong password: exit 3, no restart
            raise service.fatal


def summary_table(summary: RunSummary, title: str, wall_s: float) -> Table:
    """The demo's closing table: measured figures, then what the plans expected."""
    from rich.table import Table

    from optimizer.service.summary import PLANNED_LABEL

    cur = summary.currency
    table = Table(title=title)
    table.add_column("what")
    table.add_column("value", justify="right")
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(summary.command_kinds.items()))
    planned = "-" if summary.planned_cost is None else f"{summary.planned_cost:z.2f} {cur}"
    rows = [
        ("simulated period (UTC)", f"{summary.start:%Y-%m-%d %H:%M} to {summary.end:%m-%d %H:%M}"),
        ("commands sent (ok)", f"{summary.commands_sent} ({summary.commands_ok})"),
        ("by kind", kinds or "-"),
        ("readings stored", str(summary.readings)),
        ("SOC start → end, measured",
         f"{summary.soc_start_pct:.0f} % → {summary.soc_end_pct:.0f} %"),
        (f"SOC at slot ends, measured vs {PLANNED_LABEL}",
         f"max {summary.soc_gap_max_pct:.1f} points, mean {summary.soc_gap_mean_pct:.1f}"),
        ("cost, measured", f"{summary.cost:z.2f} {cur}"),
        ("cost without the battery, measured", f"{summary.no_battery_cost:z.2f} {cur}"),
        ("saved, measured", f"{summary.savings:z.2f} {cur}"),
        (f"cost {PLANNED_LABEL}", planned),
        ("plot", str(summary.plot or "-")),
        ("wall time", f"{wall_s:.0f} s"),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, value)
    return table


def _title(inputs: DemoInputs) -> str:
    files = [p.name for p in (inputs.prices, inputs.export_prices, inputs.load, inputs.pv) if p]
    what = ", ".join(files) if files else "shipped Agile day"
    return f"xStorage service demo (simulated device, {what})"


def _demo_json(result: DemoResult, kept: bool = True) -> dict[str, Any]:
    """The ``--json`` document; ``store``, ``plot`` and ``workdir`` are ``null`` when the
    temporary folder was removed."""
    from optimizer.service.summary import summary_json

    document = summary_json(result.summary if kept else replace(result.summary, plot=None))
    data = result.data
    if data is not None:
        document["inputs"] = {
            "prices": str(data.import_csv),
            "export_prices": str(data.export_csv) if data.export_csv else None,
            "load": str(data.load_csv),
            "pv": str(data.pv_csv) if data.pv_csv else None,
            "price_unit": data.unit,
        }
    document["notes"] = list(result.notes)
    document["store"] = str(result.workdir / "history.db") if kept else None
    document["workdir"] = str(result.workdir) if kept else None
    return document


def demo(
    prices: Annotated[
        Path | None, typer.Option(help="Import prices CSV (start_utc,end_utc,price).")
    ] = None,
    export_prices: Annotated[
        Path | None, typer.Option(help="Export prices CSV (needs --prices).")
    ] = None,
    load: Annotated[
        Path | None, typer.Option(help="House load CSV (start_utc,end_utc,kwh).")
    ] = None,
    pv: Annotated[
        Path | None, typer.Option(help="PV production CSV (start_utc,end_utc,kwh).")
    ] = None,
    price_unit: Annotated[
        str | None,
        typer.Option(
            help=f"Unit of the price files: {', '.join(PRICE_UNITS)} (default: the files' "
            "unit column, else p/kWh)."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="Start, ISO-8601 with offset (default: the first price of --prices, else "
            "2023-10-15 00:00 Europe/London, the shipped Agile day)."
        ),
    ] = None,
    hours: Annotated[
        float, typer.Option(help="Simulated hours, 1..72 (stops where the prices end).")
    ] = 24.0,
    speed: SpeedOption = 720.0,
    soc: Annotated[float, typer.Option(help="Starting SOC of the simulated battery, %.")] = 20.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout (the rest on stderr).")
    ] = False,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Where the store and the PNG go (kept). Default: a temporary folder, removed "
            "at the end unless --keep."
        ),
    ] = None,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="Keep the temporary folder (store, PNG) and say where it is."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log every job.")] = False,
    listen: Annotated[
        str, typer.Option(help='Serve the status page here while the demo runs ("": no page).')
    ] = "127.0.0.1:8765",
) -> None:
    """Run the real service against the simulator, accelerated, on given or shipped data."""
    from optimizer.service.demo import DemoInputs, resolve, run_demo
    from optimizer.timeseries import parse_utc

    configure_logging(logging.INFO if verbose else logging.WARNING)
    with errors_to_exit():
        begin = parse_utc(start, "--start") if start is not None else None
        inputs = DemoInputs(prices, export_prices, load, pv, price_unit, begin)
        if not 0 <= soc <= 100:
            raise InvalidInput(f"--soc {soc:g}: must be from 0 to 100")
        data = resolve(inputs, hours)  # bad input fails here, before anything starts
        for note in data.notes:
            err_console().print(f"note: {note}", highlight=False, soft_wrap=True)
        span_h = (data.end - data.start).total_seconds() / 3600
        err_console().print(
            f"demo: {span_h:g} simulated hours from {data.start:%Y-%m-%d %H:%M} UTC at {speed:g}× "
            f"(about {span_h * 3600 / speed:.0f} s)…",
            highlight=False,
        )
        started = time.monotonic()
        with demo_progress(data.start, data.end) as progress:
            result = run_demo(hours=hours, speed=speed, soc_pct=soc, workdir=workdir, data=data,
                              progress=progress, listen=listen,
                              on_page=_page_note(listen))  # fmt: skip
    kept = workdir is not None or keep
    if not kept:
        shutil.rmtree(result.workdir, ignore_errors=True)
    if as_json:
        typer.echo(json.dumps(_demo_json(result, kept)))
        return
    summary = result.summary if kept else replace(result.summary, plot=None)
    out_console().print(summary_table(summary, _title(inputs), time.monotonic() - started))
    if kept:
        out_console().print(f"store: {result.workdir / 'history.db'} (kept in {result.workdir})")
    else:
        out_console().print("store and plot removed with their temporary folder (--keep keeps)")


def _page_note(listen: str) -> Callable[[str | None], None]:
    """Say where the status page is once it serves, or that it is not there."""

    def note(url: str | None) -> None:
        if url is not None:
            err_console().print(f"status page: {url}/ while the demo runs", highlight=False)
        else:
            err_console().print(
                f"status page: not started on {listen} (see the error above); the demo runs "
                'without it (--listen HOST:PORT picks another, --listen "" none)',
                highlight=False,
                soft_wrap=True,
            )

    return note


@contextmanager
def demo_progress(start: datetime, end: datetime) -> Iterator[Callable[[datetime], None]]:
    """Progress of simulated time on stderr: a transient bar on a terminal, else one line at
    every quarter of the run (stdout stays clean for ``--json``)."""
    from rich.progress import BarColumn, Progress, TextColumn

    total = (end - start).total_seconds()
    if not err_console().is_terminal:
        said = [0]

        def line(now: datetime) -> None:
            quarter = int(4 * (now - start).total_seconds() / total)
            if quarter > said[0]:
                said[0] = quarter
                err_console().print(f"demo: {25 * quarter} % (simulated {now:%Y-%m-%d %H:%M} UTC)",
                                  highlight=False)  # fmt: skip

        yield line
        return
    columns = (TextColumn("simulated {task.fields[now]}"), BarColumn(),
               TextColumn("{task.percentage:>3.0f} %"))  # fmt: skip
    with Progress(*columns, console=err_console(), transient=True) as bar:
        task = bar.add_task("demo", total=total, now=f"{start:%H:%M} UTC")

        def advance(now: datetime) -> None:
            bar.update(task, completed=(now - start).total_seconds(), now=f"{now:%H:%M} UTC")

        yield advance


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``demo`` to ``app``."""
    app.command("run")(run)
    app.command("demo")(demo)
