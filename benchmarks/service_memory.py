"""Resident memory of the service alone after simulated days: the simulator in another process.

The service runs as ``run`` runs it (store, device client, the views, APScheduler runner) on the
shipped demo prices from 2023-10-15; the device simulator (a real HTTPS server, the shipped
household as its house) runs in a child process, so the figures are the service's own. Both sides
share one simulated clock: ``demo start + speed × (wall time − a common anchor)``. Prints RSS
(MiB, /proc) after start-up, after each simulated day, the peak, and the growth per day.

    .venv/bin/python benchmarks/service_memory.py [--days 1] [--speed 720]
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from optimizer.config import DeviceSettings
from optimizer.device.simulator import SimClock, SimConfig, Simulator
from optimizer.service.demo import (
    DEMO_DAY,
    LOAD_CSV,
    TIMEZONE,
    data_file,
    demo_settings,
    house_profile,
    preload_load,
)
from optimizer.service.runner import ScheduledRunner
from optimizer.service.views import observed
from optimizer.service.wiring import open_deps
from optimizer.store import Store
from optimizer.timeseries import local_day_bounds


def clock(start: datetime, anchor: float, speed: float) -> SimClock:
    """The shared clock: ``start`` at wall time ``anchor``, running ``speed`` times real time."""
    now = start + timedelta(seconds=(time.time() - anchor) * speed)
    return SimClock(now, speed=speed, real=time.time)


def rss_mib() -> tuple[float, float]:
    """(current, peak) resident set size of this process, MiB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def device(start: datetime, anchor: float, speed: float, password: str, url: str) -> None:
    """The child: the store made and filled with the forecasts' history (as an installation
    that has run before has it), then the simulator until its standard input closes."""
    with Store(url) as store:
        preload_load(store, data_file(LOAD_CSV), start)
    config = SimConfig(password=password, soc_pct=20.0, timezone=TIMEZONE)
    with Simulator(config, clock=clock(start, anchor, speed), profile=house_profile()) as sim:
        settings = sim.client_settings()
        print(json.dumps(settings.model_dump(mode="json")), flush=True)
        sys.stdin.read()


class _Device:
    """What ``demo_settings`` needs of a simulator: its client settings."""

    def __init__(self, settings: DeviceSettings) -> None:
        self.settings = settings

    def client_settings(self) -> DeviceSettings:
        return self.settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=1.0, help="simulated days")
    parser.add_argument("--speed", type=float, default=720.0, help="simulated s per real s")
    parser.add_argument("--device", nargs=4, metavar=("ANCHOR", "SPEED", "PASSWORD", "STORE"))
    args = parser.parse_args()
    start = local_day_bounds(DEMO_DAY, TIMEZONE)[0]
    if args.device:
        device(start, float(args.device[0]), float(args.device[1]), *args.device[2:])
        return
    logging.basicConfig(level=logging.WARNING)
    anchor, password = time.time(), secrets.token_urlsafe(16)
    workdir = Path(tempfile.mkdtemp(prefix="xstorage-memory-"))
    url = f"sqlite:///{workdir / 'history.db'}"
    child = subprocess.Popen(
        [sys.executable, __file__, "--device", repr(anchor), str(args.speed), password, url],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stdin is not None
    settings_json = json.loads(child.stdout.readline())
    device_settings = DeviceSettings(**settings_json)
    settings = demo_settings(_Device(device_settings), url)  # type: ignore[arg-type]
    shared = clock(start, anchor, args.speed)
    marks = [("after start-up (30 simulated min)", start + timedelta(minutes=30))]
    marks += [
        (f"after simulated day {d}", start + timedelta(days=d))
        for d in range(1, int(args.days) + 1)
    ]
    rows: list[tuple[str, float, float]] = []

    def sample() -> None:
        for label, moment in marks:
            while shared.now() < moment:
                time.sleep(0.05)
            rows.append((label, *rss_mib()))

    sampler = threading.Thread(target=sample, daemon=True)
    with open_deps(settings, shared, password=lambda: password) as deps, observed(deps) as service:
        sampler.start()
        ScheduledRunner(service, shared, args.speed).run(until=marks[-1][1] + timedelta(minutes=1))
    sampler.join(10)
    child.stdin.close()
    child.wait(30)
    began = f"{start.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    print(f"service_memory: {args.days:g} simulated day(s) at {args.speed:g}x from {began}; "
          f"simulator in process {child.pid}")  # fmt: skip
    for label, current, peak in rows:
        print(f"  RSS {label}: {current:.1f} MiB (peak so far {peak:.1f} MiB)")
    growth = (rows[-1][1] - rows[0][1]) / max(args.days, 1e-9)
    print(f"  growth {growth:+.2f} MiB per simulated day")


if __name__ == "__main__":
    main()
