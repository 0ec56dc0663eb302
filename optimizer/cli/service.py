"""``run`` (the unattended service) and ``demo`` (the service against the simulator)."""

from __future__ import annotations

import logging
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from optimizer.cli.common import errors_to_exit, settings_from
from optimizer.device.clock import SystemTime, TimeSource
from optimizer.device.simulator import SimClock
from optimizer.service.core import Service
from optimizer.service.demo import run_demo
from optimizer.service.runner import ScheduledRunner
from optimizer.service.summary import RunSummary
from optimizer.service.wiring import open_deps

console = Console()

SpeedOption = Annotated[
    float, typer.Option(min=0.001, help="Run every timer this many times faster (simulator).")
]


def configure_logging(level: int) -> None:
    """Timestamped log lines on stderr; the scheduler's and httpx's chatter only when it matters."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run(
    config: Annotated[Path, typer.Option(help="Settings file (config.toml).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and log commands without sending them.")
    ] = False,
    speed: SpeedOption = 1.0,
) -> None:
    """Run the service: fetch prices, plan, poll the device and send each slot's command."""
    settings = settings_from(config)
    configure_logging(logging.INFO)
    clock: TimeSource = SystemTime() if speed == 1 else SimClock(datetime.now(UTC), speed=speed)
    with errors_to_exit():
        settings.device.password()  # fail now (exit 2) rather than at the first sign-in
        with open_deps(settings, clock, dry_run=dry_run) as deps:
            runner = ScheduledRunner(Service(deps), clock, speed)

            def _stop(signum: int, frame: FrameType | None) -> None:
                logging.getLogger(__name__).info("signal %d: finishing the job in flight", signum)
                runner.stop()

            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
            runner.run()


def summary_table(summary: RunSummary, currency: str, wall_s: float) -> Table:
    """The demo's closing table."""
    table = Table(title="xStorage service demo (simulated device, shipped Agile day)")
    table.add_column("what")
    table.add_column("value", justify="right")
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(summary.command_kinds.items()))
    rows = [
        ("simulated period (UTC)", f"{summary.start:%m-%d %H:%M} to {summary.end:%m-%d %H:%M}"),
        ("commands sent (ok)", f"{summary.commands_sent} ({summary.commands_ok})"),
        ("by kind", kinds or "-"),
        ("readings stored", str(summary.readings)),
        ("SOC start → end", f"{summary.soc_start_pct:.0f} % → {summary.soc_end_pct:.0f} %"),
        ("planned vs measured SOC at slot ends", f"max {summary.soc_gap_max_pct:.1f} points, "
                                                 f"mean {summary.soc_gap_mean_pct:.1f}"),
        ("cost, measured", f"{summary.cost:.2f} {currency}"),
        ("cost, doing nothing", f"{summary.no_battery_cost:.2f} {currency}"),
        ("saved", f"{summary.no_battery_cost - summary.cost:.2f} {currency}"),
        ("plot", str(summary.plot or "-")),
        ("wall time", f"{wall_s:.0f} s"),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, value)
    return table


def demo(
    hours: Annotated[float, typer.Option(min=1, max=72, help="Simulated hours to run.")] = 24.0,
    speed: SpeedOption = 720.0,
    soc: Annotated[float, typer.Option(min=0, max=100, help="Starting SOC, %.")] = 20.0,
    workdir: Annotated[
        Path | None, typer.Option(help="Where the store and the PNG go (default: a temp dir).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log every job.")] = False,
) -> None:
    """Run the real service against the built-in simulator on a shipped day, accelerated."""
    configure_logging(logging.INFO if verbose else logging.WARNING)
    console.print(
        f"demo: {hours:g} simulated hours at {speed:g}× (about {hours * 3600 / speed:.0f} s)…"
    )
    started = time.monotonic()
    with errors_to_exit():
        result = run_demo(hours=hours, speed=speed, soc_pct=soc, workdir=workdir)
    console.print(summary_table(result.summary, "GBP", time.monotonic() - started))
    console.print(f"store: {result.workdir / 'history.db'}")


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``demo`` to ``app``."""
    app.command("run")(run)
    app.command("demo")(demo)
