"""Resident memory of the service alone after simulated days: the simulator in another process.

The measured process is the service as ``xstorage-optimizer run`` runs it: it imports the console
script's module (``optimizer.cli``: typer, rich and every command registered), logs at INFO as
``run`` does (to ``service.log`` in the work folder) and runs ``optimizer.cli.service.serve``, the
body of ``run`` (store, device client, the views, APScheduler runner). It imports nothing of the
simulator or the demo: the child process does, and prints the settings (``demo_settings``: the
shipped prices from 2023-10-15 through the ``csv`` source, the temporary store, the simulator, the
status page on a free port). Both sides share one simulated clock:
``demo start + speed × (wall time − a common anchor)``. Prints RSS (MiB, /proc) after start-up,
after each simulated day, the peak, the growth per day, and the split into anonymous memory and
mapped files (the shared libraries' pages) at the end.

    .venv/bin/python benchmarks/service_memory.py [--days 1] [--speed 720]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import optimizer.cli  # noqa: F401  (the console script's module, as ``run`` has it loaded)
from optimizer.cli.service import configure_logging, serve, tools_kept_out
from optimizer.config import Settings

if TYPE_CHECKING:
    from optimizer.device.clock import SimClock


def clock(start: datetime, anchor: float, speed: float) -> SimClock:
    """The shared clock: ``start`` at wall time ``anchor``, running ``speed`` times real time."""
    from optimizer.device.clock import SimClock

    now = start + timedelta(seconds=(time.time() - anchor) * speed)
    return SimClock(now, speed=speed, real=time.time)


def status_kib() -> dict[str, int]:
    """The ``kB`` fields of /proc/self/status (VmRSS, VmHWM, RssAnon, RssFile, ...)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {k: int(v.split()[0]) for k, v in fields.items() if v.strip().endswith("kB")}


def rss_mib() -> tuple[float, float, float, float]:
    """Resident set size of this process, MiB: (current, peak, anonymous, mapped files)."""
    kib = status_kib()
    return kib["VmRSS"] / 1024, kib["VmHWM"] / 1024, kib["RssAnon"] / 1024, kib["RssFile"] / 1024


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for the status page)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def device(anchor: float, speed: float, password: str, url: str) -> None:
    """The child: the store made and filled with the forecasts' history (as an installation
    that has run before has it), then the simulator until its standard input closes. Prints
    the demo day's start and the service's settings as one JSON line."""
    from optimizer.device.simulator import SimConfig, Simulator
    from optimizer.service.demo import (
        DEMO_DAY,
        LOAD_CSV,
        TIMEZONE,
        data_file,
        demo_settings,
        house_profile,
        preload_load,
    )
    from optimizer.store import Store
    from optimizer.timeseries import local_day_bounds

    start = local_day_bounds(DEMO_DAY, TIMEZONE)[0]
    with Store(url) as store:
        preload_load(store, data_file(LOAD_CSV), start)
    config = SimConfig(password=password, soc_pct=20.0, timezone=TIMEZONE)
    with Simulator(config, clock=clock(start, anchor, speed), profile=house_profile()) as sim:
        settings = demo_settings(sim, url)
        web = settings.web.model_copy(update={"listen": f"127.0.0.1:{free_port()}"})
        settings = settings.model_copy(update={"web": web})
        line = {"start": start.isoformat(), "settings": settings.model_dump(mode="json")}
        print(json.dumps(line), flush=True)
        sys.stdin.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=1.0, help="simulated days")
    parser.add_argument("--speed", type=float, default=720.0, help="simulated s per real s")
    parser.add_argument("--device", nargs=4, metavar=("ANCHOR", "SPEED", "PASSWORD", "STORE"))
    args = parser.parse_args()
    if args.device:
        device(float(args.device[0]), float(args.device[1]), *args.device[2:])
        return
    anchor, password = time.time(), secrets.token_urlsafe(16)
    workdir = Path(tempfile.mkdtemp(prefix="xstorage-memory-"))
    url = f"sqlite:///{workdir / 'history.db'}"
    child = subprocess.Popen(
        [sys.executable, __file__, "--device", repr(anchor), str(args.speed), password, url],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stdin is not None
    line = json.loads(child.stdout.readline())
    start = datetime.fromisoformat(line["start"])
    settings = Settings.model_validate(line["settings"])
    log = (workdir / "service.log").open("w")
    with contextlib.redirect_stderr(log):
        configure_logging(logging.INFO)  # as ``run``: INFO lines on (here, redirected) stderr
    shared = clock(start, anchor, args.speed)
    # Start-up: 30 simulated minutes after the service starts (the child's start-up has
    # moved the shared clock on from ``start`` by then, the more so at a high ``--speed``).
    marks = [("after start-up (30 simulated min)", shared.now() + timedelta(minutes=30))]
    marks += [
        (f"after simulated day {d}", start + timedelta(days=d))
        for d in range(1, int(args.days) + 1)
    ]
    rows: list[tuple[str, float, float, float, float]] = []

    def sample() -> None:
        for label, moment in marks:
            while shared.now() < moment:
                time.sleep(0.05)
            rows.append((label, *rss_mib()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    serve(settings, shared, args.speed, password=lambda: password,
          until=marks[-1][1] + timedelta(minutes=1))  # fmt: skip
    sampler.join(10)
    child.stdin.close()
    child.wait(30)
    began = f"{start.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    print(f"service_memory: {args.days:g} simulated day(s) at {args.speed:g}x from {began}; "
          f"simulator in process {child.pid}; log {log.name}")  # fmt: skip
    for label, current, peak, anon, files in rows:
        print(f"  RSS {label}: {current:.1f} MiB (peak so far {peak:.1f} MiB; {anon:.1f} "
              f"anonymous, {files:.1f} mapped files)")  # fmt: skip
    growth = (rows[-1][1] - rows[0][1]) / max(args.days, 1e-9)
    print(f"  growth {growth:+.2f} MiB per simulated day; {len(sys.modules)} modules loaded")


if __name__ == "__main__":
    with tools_kept_out():  # as ``run`` does first (the device package imports httpx)
        main()
