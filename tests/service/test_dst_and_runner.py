"""A DST-change day end to end, the APScheduler runner (via ``demo``) and ``run`` under SIGTERM."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from optimizer.device.simulator import ConstantProfile, SimClock, SimConfig, Simulator
from optimizer.domain import DeviceCommand
from optimizer.service.demo import run_demo
from optimizer.service.summary import soc_gaps
from optimizer.store import Store
from tests.service.conftest import MakeHarness, local


def test_spring_forward_day_end_to_end(make_harness: MakeHarness) -> None:
    """Europe/London 2023-03-26 has 23 hours (46 slots); prices for the next day arrive at
    16:00 BST and reach 23:00 BST on the 27th."""
    start, end = local("2023-03-26 00:00"), local("2023-03-27 00:00")
    assert end - start == timedelta(hours=23)
    h = make_harness(start, soc_pct=50.0)
    service = h.start_service()
    h.run_until(end)

    slots = [service.executed[t] for t in sorted(service.executed) if start <= t < end]
    assert len(slots) == 46
    assert all(b.start - a.start == timedelta(minutes=30) for a, b in itertools.pairwise(slots))
    sent = h.commands()
    for slot in slots:
        in_slot = [c for c in sent if slot.start <= c["at"] < slot.end]
        if not in_slot:  # only the device's own default mode needs no command
            assert slot.command.command is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION
            continue
        assert in_slot[0]["body"] == slot.command.body()
    assert h.store.price_coverage(h.settings.tariff.import_code()) == local("2023-03-27 23:00")
    fetched_after_publication = [
        p
        for p, q in h.api.calls
        if "standard-unit-rates" in p and q.get("period_to", "") > "2023-03-26T23"
    ]
    assert fetched_after_publication  # the 16:00 BST publication was fetched
    gaps = soc_gaps(slots, h.store.readings(start, end + timedelta(minutes=5)))
    assert len(gaps) >= 45 and max(gaps) <= h.settings.service.soc_tolerance_pct


def test_demo_runs_the_scheduled_service(tmp_path: Path) -> None:
    """``demo`` machinery: APScheduler in accelerated real time against the simulator."""
    result = run_demo(hours=1.0, speed=600, workdir=tmp_path)
    s = result.summary
    assert result.runs["slot"] >= 2 and result.runs["poll"] >= 40
    assert s.commands_sent >= 2 and s.commands_ok == s.commands_sent  # one per slot
    assert s.readings >= 30
    assert s.soc_gap_max_pct <= 5.0
    assert s.plot is not None and s.plot.stat().st_size > 10_000


def test_run_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """``run`` against a simulator in another process; SIGTERM → exit 0, nothing leaks."""
    password = "Sigterm-test-pa55word"
    clock = SimClock(datetime.now(UTC), speed=1.0)
    config = SimConfig(password=password)
    with Simulator(config, clock=clock, profile=ConstantProfile(load=400.0)) as sim:
        cfg = tmp_path / "config.toml"
        cfg.write_text(
            f'[device]\nurl = "{sim.url}"\ntls_fingerprint_sha256 = "{sim.fingerprint}"\n'
            f'[tariff]\nsource = "static"\n'
            f'[store]\nurl = "sqlite:///{tmp_path / "history.db"}"\n'
            "[service]\npoll_seconds = 5\n"
        )
        env = {**os.environ, "XSTORAGE_PASSWORD": password}
        proc = subprocess.Popen(
            [sys.executable, "-m", "optimizer", "run", "--config", str(cfg)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        store = Store(f"sqlite:///{tmp_path / 'history.db'}")
        try:
            while time.monotonic() < deadline and not sim.command_log:
                time.sleep(0.2)
            time.sleep(1.0)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert "service stopped cleanly" in err
        assert password not in out + err
        assert sim.command_log, err
        assert store.latest_reading() is not None
        assert store.latest_plan() is not None
        store.close()


@pytest.mark.parametrize("speed", [0.0])
def test_scheduled_runner_refuses_a_stopped_clock(speed: float) -> None:
    from optimizer.service.runner import ScheduledRunner

    with pytest.raises(ValueError, match="speed"):
        ScheduledRunner(None, SimClock(speed=0), speed)  # type: ignore[arg-type]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_tariff_backoffs_stops_at_once(tmp_path: Path, signum: int) -> None:
    """The tariff server always answers 503 and the retries back off 10, 20, 40 s (real
    seconds): a stop signal during a wait ends ``run`` at once, not after the backoffs."""
    from tests.tariffs.fakeapi import Reply, serve

    password = "Backoff-test-pa55word"
    clock = SimClock(datetime.now(UTC), speed=1.0)
    with (
        Simulator(SimConfig(password=password), clock=clock, profile=ConstantProfile()) as sim,
        serve() as api,
    ):
        api.routes["/products/AGILE-X/electricity-tariffs/E-1R-AGILE-X-C/standard-unit-rates/"] = (
            lambda query: Reply.json({"detail": "down"}, 503)
        )
        cfg = tmp_path / "config.toml"
        cfg.write_text(
            f'[device]\nurl = "{sim.url}"\ntls_fingerprint_sha256 = "{sim.fingerprint}"\n'
            f'[tariff]\nsource = "octopus"\napi_url = "{api.base_url}"\n'
            'import_product = "AGILE-X"\nregion = "C"\nretries = 4\nretry_backoff_s = 10\n'
            f'[store]\nurl = "sqlite:///{tmp_path / "history.db"}"\n'
            "[service]\npoll_seconds = 60\n"
        )
        env = {**os.environ, "XSTORAGE_PASSWORD": password}
        proc = subprocess.Popen(
            [sys.executable, "-m", "optimizer", "run", "--config", str(cfg)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(
                "standard-unit-rates" in p for p, _ in api.calls
            ):
                time.sleep(0.1)
            assert api.calls, "the service never asked for prices"
            time.sleep(0.5)  # the first 503 is in; the fetch now waits out its 10-s backoff
            began = time.monotonic()
            proc.send_signal(signum)
            _out, err = proc.communicate(timeout=30)
            took = time.monotonic() - began
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert "tariff fetch attempt 1 failed" in err
        assert "not retried, the service is stopping" in err
        assert took < 3.0, f"stopping took {took:.1f} s\n{err}"
        assert "service stopped cleanly" in err
