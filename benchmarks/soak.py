"""Soak: N simulated days of the real service against the simulator, with random faults.

Usage: python benchmarks/soak.py [--days 7] [--start 2023-10-01] [--rate 0.25] [--seed 1]
                                [--trace-memory]

Everything is real but the clock: the simulator (HTTPS on 127.0.0.1, the shared battery model,
a real household's load), an Octopus-shaped tariff server on 127.0.0.1 serving the shipped Agile
prices, a SQLite store and the service's own jobs, stepped on a manual clock
(``runner.step``). Every simulated hour a fault starts with probability ``--rate`` (0.25: about
six a day), one of: sign-in errors (``err_internal``), a 5xx burst, dropped connections
(timeouts), a device reboot with downtime, status lag longer than the poll, a store that cannot
write (full disk), a tariff outage. Each lasts minutes to hours; its window runs until half an
hour after it ends.

Printed: crashes (job exceptions), commands sent/needed, slots executed as planned (outside
fault windows and in all), commands below the reserve, duplicate commands, lost readings, RSS
growth per day and store growth per day, and how many of each fault ran. The simulator and the
tariff server run in the same process as the service, so RSS growth includes theirs (the
simulator keeps a per-minute meter, 5-minute metrics and a log of every request);
``--trace-memory`` (slower) splits the Python heap's growth between the service and the rest.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optimizer import commands
from optimizer.config import DeviceSettings, Settings, StoreSettings
from optimizer.device.client import XStorageClient
from optimizer.device.simulator import CsvProfile, SimClock, SimConfig, Simulator
from optimizer.device.wire import build_http_client
from optimizer.errors import StoreError
from optimizer.service.core import Service
from optimizer.service.runner import step
from optimizer.service.wiring import Deps
from optimizer.store import Store
from tests.service.conftest import (
    EXPORT_PATH,
    FAST,
    IMPORT_PATH,
    price_rows,
    service_settings,
    tariff_settings,
)
from tests.tariffs.fakeapi import OctopusRates, Reply, serve

ROOT = Path(__file__).resolve().parents[1]
LOAD = ROOT / "data" / "household-consumption-uk-fawkesley-2020-08_2023-12.csv"
PASSWORD = "soak-password"
SLOT = timedelta(minutes=30)
KINDS = ("sign-in", "5xx", "timeouts", "reboot", "lag", "store", "tariff")


class FaultyStore(Store):
    """A store whose writes fail (as on a full disk) while ``full`` is set."""

    full = False

    @contextmanager
    def _write(self, what: str) -> Iterator[Any]:  # type: ignore[override]
        if self.full:
            raise StoreError(f"{what}: database error (database or disk is full)")
        with super()._write(what) as conn:
            yield conn


@dataclass
class Figures:
    """What the soak counts."""

    windows: list[tuple[datetime, datetime]] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    checked: int = 0
    planned: int = 0
    checked_clean: int = 0
    planned_clean: int = 0
    reads: list[datetime] = field(default_factory=list)
    reboots: list[datetime] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    store_mb: list[float] = field(default_factory=list)
    heaps: list[tracemalloc.Snapshot] = field(default_factory=list)


class Crashes(logging.Handler):
    """Counts job exceptions (tracebacks) and keeps the first few."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.count += 1
            if len(self.first) < 3:
                self.first.append(self.format(record))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * 4096 / 2**20


def store_mb(path: Path) -> float:
    files = [path, path.with_name(path.name + "-wal")]
    return sum(p.stat().st_size for p in files if p.exists()) / 2**20


class Soak:
    """One installation and its fault injector."""

    def __init__(self, start: datetime, days: int, rate: float, seed: int, workdir: Path) -> None:
        self.start, self.days, self.rate = start, days, rate
        self.rng = random.Random(seed)
        self.clock = SimClock(start, speed=0)
        config = SimConfig(password=PASSWORD, soc_pct=30.0)
        self.sim = Simulator(config, clock=self.clock, profile=CsvProfile(LOAD, None)).start()
        self._server = serve()
        self.api = self._server.__enter__()
        self.tariff_down = False
        rows = price_rows(start - timedelta(days=1), start + timedelta(days=days + 2))
        for path, prices in zip((IMPORT_PATH, EXPORT_PATH), rows, strict=True):
            rates = OctopusRates(self.api, path, prices, max_page_size=1000)
            self.api.routes[path] = self._route(rates)
        self.db = workdir / "history.db"
        self.settings = Settings(
            tariff=tariff_settings(self.api),
            store=StoreSettings(url=f"sqlite:///{self.db}"),
            device=DeviceSettings(**self.sim.client_settings().model_dump()),
            service=service_settings(poll_seconds=60, stale_after_s=300, metrics_minutes=15),
        )
        self.store = FaultyStore(self.settings.store.url)
        self.http = build_http_client(self.settings.device, FAST.timeout)
        self.tariff_http = httpx.Client(timeout=2.0)
        device = XStorageClient(self.settings.device, self.http, password=lambda: PASSWORD,
                                time=self.clock, options=FAST, wait=self.clock)  # fmt: skip
        deps = Deps(self.settings, self.store, device, self.tariff_http, self.clock)
        self.service = Service(deps)
        self.service.real = self.clock.monotonic
        self.figures = Figures()
        self._count_reads()
        self.ends: dict[str, datetime] = {}

    def _route(self, rates: OctopusRates) -> Any:
        def route(query: dict[str, str]) -> Reply:
            return Reply.json({"detail": "down"}, 503) if self.tariff_down else rates(query)

        return route

    def _count_reads(self) -> None:
        original = self.service.read

        def read() -> bool:
            fresh = original()
            if fresh and self.service.reading is not None:
                self.figures.reads.append(self.service.reading.time)
            return fresh

        self.service.read = read  # type: ignore[method-assign]

    # -- faults -----------------------------------------------------------------------------

    def maybe_fault(self, now: datetime) -> None:
        """Start one random fault with probability ``rate``; end the ones that are due."""
        for kind, end in list(self.ends.items()):
            if now >= end:
                self._end(kind)
                del self.ends[kind]
        if self.rng.random() >= self.rate:
            return
        kind = self.rng.choice([k for k in KINDS if k not in self.ends])
        minutes = self._start(kind, now)
        end = now + timedelta(minutes=minutes)
        self.figures.faults[kind] += 1
        self.figures.windows.append((now, end + SLOT))
        if kind in ("lag", "store", "tariff", "timeouts"):
            self.ends[kind] = end

    def _start(self, kind: str, now: datetime) -> float:
        r, sim = self.rng, self.sim
        if kind == "sign-in":
            sim.device.sign_in_errors.extend(
                [(r.choice((401, 500)), "err_internal")] * r.randint(1, 3)
            )
            sim.device.expire_tokens()
            return 10
        if kind == "5xx":
            sim.faults.fail = r.randint(3, 12)
            return 10
        if kind == "timeouts":
            sim.faults.drop = r.randint(2, 8)
            return 15
        if kind == "reboot":
            downtime = timedelta(minutes=r.randint(1, 8))
            sim.reboot(downtime)
            self.figures.reboots.append(now)
            return downtime.total_seconds() / 60
        if kind == "lag":
            sim.config.lag = timedelta(minutes=r.randint(2, 6))  # poll: 1 minute
            return r.randint(30, 120)
        if kind == "store":
            self.store.full = True
            return r.randint(10, 90)
        self.tariff_down = True
        return r.randint(60, 360)

    def _end(self, kind: str) -> None:
        if kind == "lag":
            self.sim.config.lag = timedelta(seconds=2.5)
        elif kind == "store":
            self.store.full = False
        elif kind == "tariff":
            self.tariff_down = False
        elif kind == "timeouts":
            self.sim.faults.drop = 0

    # -- running and checking ---------------------------------------------------------------

    def in_window(self, moment: datetime) -> bool:
        return any(lo <= moment < hi for lo, hi in self.figures.windows)

    def check_slot(self, slot: datetime) -> None:
        """Five minutes into ``slot``: does the device run the command the service chose?"""
        chosen = self.service.executed.get(slot)
        mode = self.sim.device.current_mode()
        ok = chosen is not None and not commands.differences(chosen.command, mode)
        f = self.figures
        f.checked += 1
        f.planned += ok
        if not self.in_window(slot) and not self.in_window(slot + timedelta(minutes=5)):
            f.checked_clean += 1
            f.planned_clean += ok

    def run(self) -> None:
        t = self.start
        end = self.start + timedelta(days=self.days)
        while t < end:
            hour_end = t + timedelta(hours=1)
            self.maybe_fault(t)
            for slot in (t, t + SLOT):
                step(self.service, self.clock, slot + timedelta(minutes=5))
                if slot > self.start:
                    self.check_slot(slot)
            step(self.service, self.clock, hour_end)
            t = hour_end
            if (t - self.start) % timedelta(days=1) == timedelta(0):
                self.figures.rss_mb.append(rss_mb())
                self.figures.store_mb.append(store_mb(self.db))
                if tracemalloc.is_tracing():
                    self.figures.heaps.append(tracemalloc.take_snapshot())
                print(f"soak: day {len(self.figures.rss_mb)} done", file=sys.stderr, flush=True)
        for kind in list(self.ends):
            self._end(kind)
        step(self.service, self.clock, end + timedelta(minutes=10))  # the store is back
        self.service.outbox.flush()

    def close(self) -> None:
        self.http.close()
        self.tariff_http.close()
        self.store.close()
        self.sim.stop()
        self._server.__exit__(None, None, None)


def duplicates(log: list[dict[str, Any]], reboots: list[datetime]) -> int:
    """Commands identical to the previous accepted one, in the same slot, with no reboot
    between them (the device still ran it or was about to show it)."""
    count, last = 0, None
    for entry in log:
        if entry["status"] != 200:
            continue
        at = datetime.fromisoformat(entry["at"])
        slot = pd.Timestamp(at).floor("30min")
        if last is not None:
            prev_at, prev_slot, prev_body = last
            rebooted = any(prev_at <= r <= at for r in reboots)
            if prev_body == entry["body"] and prev_slot == slot and not rebooted:
                count += 1
        last = (at, slot, entry["body"])
    return count


def below_reserve(log: list[dict[str, Any]], reserve_pct: float) -> int:
    """Discharge commands whose floor is under the planner's reserve."""
    low = 0
    for entry in log:
        params = (entry["body"] or {}).get("parameters") or {}
        if params.get("action") == "ACTION_DISCHARGE" and params.get("soc", 100) < reserve_pct:
            low += 1
    return low


def heap_growth(heaps: list[tracemalloc.Snapshot]) -> str:
    """Heap growth per day from day 1's end to the last day's: the service's modules (the
    package but the simulator) and everything else."""
    parts: Counter[str] = Counter()
    for stat in heaps[-1].compare_to(heaps[0], "filename"):
        name = stat.traceback[0].filename
        own = "/optimizer/" in name and "/simulator/" not in name
        parts["service" if own else "rest"] += stat.size_diff
    days = len(heaps) - 1
    return (f"service {parts['service'] / days / 1024:+.0f} KiB, simulator, tariff server and "
            f"the rest {parts['rest'] / days / 1024:+.0f} KiB")  # fmt: skip


def report(soak: Soak, crashes: Crashes, wall_s: float) -> None:
    f = soak.figures
    log = soak.sim.command_log
    accepted = [e for e in log if e["status"] == 200]
    needed = {(pd.Timestamp(e["at"]).floor("30min"), str(e["body"])) for e in accepted}
    stored = soak.store.readings(soak.start - timedelta(hours=1), soak.clock.now())
    lost = len(set(f.reads) - set(stored.index.to_pydatetime()))
    days = soak.days
    rss_growth = (f.rss_mb[-1] - f.rss_mb[0]) / max(1, len(f.rss_mb) - 1) if f.rss_mb else 0.0
    store_growth = f.store_mb[-1] / days if f.store_mb else 0.0
    clean = 100 * f.planned_clean / max(1, f.checked_clean)
    rows = [
        ("simulated days", f"{days} from {soak.start:%Y-%m-%d} (wall {wall_s:.0f} s)"),
        ("faults started", ", ".join(f"{k} {f.faults[k]}" for k in KINDS)),
        ("crashes (job exceptions)", f"{crashes.count}"),
        ("commands sent / needed", f"{len(log)} / {len(needed)} ({len(accepted)} accepted)"),
        ("slots as planned, outside fault windows",
         f"{f.planned_clean}/{f.checked_clean} = {clean:.2f} %"),
        ("slots as planned, all",
         f"{f.planned}/{f.checked} = {100 * f.planned / max(1, f.checked):.2f} %"),
        ("commands below the reserve", str(below_reserve(log, soak.settings.battery.min_soc_pct))),
        ("duplicate commands", str(duplicates(log, f.reboots))),
        ("lost readings", f"{lost} of {len(f.reads)}"),
        ("RSS growth per day", f"{rss_growth:+.2f} MB (day 1 {f.rss_mb[0]:.0f} MB)"),
        ("store growth per day", f"{store_growth:.2f} MB"),
    ]  # fmt: skip
    if len(f.heaps) >= 2:
        rows.append(("Python heap growth per day", heap_growth(f.heaps)))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for text in crashes.first:
        print("first crash:", text.splitlines()[-1], file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--start", default="2023-10-01")
    parser.add_argument("--rate", type=float, default=0.25, help="faults per simulated hour")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trace-memory", action="store_true", help="split the heap's growth")
    args = parser.parse_args()
    if args.trace_memory:
        tracemalloc.start()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("optimizer").setLevel(logging.ERROR)
    crashes = Crashes()
    logging.getLogger().addHandler(crashes)
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        soak = Soak(start, args.days, args.rate, args.seed, Path(tmp))
        began = time.monotonic()
        try:
            soak.run()
            report(soak, crashes, time.monotonic() - began)
        finally:
            soak.close()


if __name__ == "__main__":
    main()
