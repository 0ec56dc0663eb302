"""Resident memory and CPU of the service (``run``'s machinery) against the simulator.

Runs the real service (store, device client, APScheduler runner) on the demo's day for
``--minutes`` of wall time at ``--speed`` (1 = real time, as ``run`` does in production, polling
every ``--poll`` seconds), then prints peak and final RSS (MB, from /proc/self/status) and CPU %
of one core (user + system, from ``resource``) over the measured window. The simulator runs in
the same process, so the figures are an upper bound for the service alone.

    .venv/bin/python benchmarks/service_resources.py --minutes 10
"""

from __future__ import annotations

import argparse
import logging
import resource
import secrets
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from optimizer.config import ServiceSettings
from optimizer.device.simulator import SimClock, SimConfig, Simulator
from optimizer.service.core import Service
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
from optimizer.service.wiring import open_deps
from optimizer.store import Store
from optimizer.timeseries import local_day_bounds


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def cpu_s() -> float:
    """User + system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-clock minutes to run")
    parser.add_argument("--speed", type=float, default=1.0, help="timer speed-up (1 = real)")
    parser.add_argument("--poll", type=int, default=60, help="service.poll_seconds")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="xstorage-bench-"))
    url = f"sqlite:///{workdir / 'history.db'}"
    start = local_day_bounds(DEMO_DAY, TIMEZONE)[0] + timedelta(hours=15, minutes=50)
    with Store(url) as store:
        preload_load(store, data_file(LOAD_CSV), start)
    clock = SimClock(start, speed=args.speed)
    config = SimConfig(password=secrets.token_urlsafe(16), soc_pct=50.0, timezone=TIMEZONE)
    with Simulator(config, clock=clock, profile=house_profile()) as sim:
        settings = demo_settings(sim, url).model_copy(
            update={"service": ServiceSettings(poll_seconds=args.poll)}
        )
        with open_deps(settings, clock, password=lambda: config.password) as deps:
            runner = ScheduledRunner(Service(deps), clock, args.speed)
            thread = threading.Thread(target=runner.run, daemon=True)
            thread.start()
            time.sleep(min(30.0, args.minutes * 6))  # start-up: first fetch, plan, command
            cpu0, wall0 = cpu_s(), time.monotonic()
            rss_start, _ = rss_mb()
            deadline = wall0 + args.minutes * 60
            while time.monotonic() < deadline:
                time.sleep(5)
            cpu1, wall1 = cpu_s(), time.monotonic()
            rss_end, rss_peak = rss_mb()
            runner.stop()
            thread.join(60)
    runs = dict(runner.runs)
    print(f"service_resources: {args.minutes:g} min wall at speed {args.speed:g}, "
          f"poll {args.poll} s, jobs run {runs}")  # fmt: skip
    print(f"RSS after start-up {rss_start:.0f} MB, at end {rss_end:.0f} MB, peak {rss_peak:.0f} MB")
    print(f"CPU {100 * (cpu1 - cpu0) / (wall1 - wall0):.2f} % of one core over the window")
    print(f"commands sent {len(sim.command_log)}; store {workdir / 'history.db'}")


if __name__ == "__main__":
    main()
