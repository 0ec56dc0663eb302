"""Issue 10: each kind of fault the service must keep control through, over real sockets (the
simulator's HTTPS, the local tariff server, a SQLite file), on a manual clock unless a test is
about real time under ``--speed``."""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from optimizer.csvdata import read_series_csv
from optimizer.domain import Command, DeviceCommand
from optimizer.errors import CredentialsRejected, StoreError
from optimizer.service.core import Service
from optimizer.service.runner import ScheduledRunner
from optimizer.store import Store
from tests.service.conftest import (
    EXPORT_PATH,
    IMPORT_CSV,
    IMPORT_PATH,
    Harness,
    MakeHarness,
    counted_reads,
    local,
)
from tests.tariffs.fakeapi import OctopusRates, Reply

START = local("2023-10-15 00:50")


def per_slot(h: Harness) -> Counter[tuple[datetime, str]]:
    """How often each command body went out in each 30-minute slot."""
    counts: Counter[tuple[datetime, str]] = Counter()
    for c in h.commands():
        at = pd.Timestamp(c["at"]).floor("30min").to_pydatetime()
        counts[(at, str(c["body"]))] += 1
    return counts


def messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


# -- 1. sign-in -------------------------------------------------------------------------------


def test_a_sign_in_error_that_is_not_a_wrong_password_is_retried(
    make_harness: MakeHarness,
) -> None:
    # The factory backup level (0 %): the device's own self-consumption, which runs while the
    # service cannot sign in, is then not what the plan asks for near the reserve.
    h = make_harness(START, sim_overrides={"backup_pct": 0.0})
    h.sim.device.sign_in_errors.extend([(401, "err_internal"), (500, "err_internal"),
                                        (401, "err_new_code")])  # fmt: skip
    service = h.start_service()
    h.run_until(START + timedelta(hours=1))
    assert service.fatal is None
    attempts = h.sim.device.stats.sign_in_attempts
    assert 4 <= attempts <= 6  # retried with backoff, not once per request
    assert service.reading is not None and service.reading.time > START + timedelta(minutes=30)
    assert h.commands(), "never got back in control"


def test_a_wrong_password_is_final_and_stops_the_service(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    h = make_harness(START)
    service = h.start_service(password="not-the-password")
    h.run_until(START + timedelta(hours=1))
    assert isinstance(service.fatal, CredentialsRejected)
    assert h.sim.device.stats.sign_in_attempts == 1  # never asked again (lockout risk)
    assert h.clock.now() < START + timedelta(minutes=5)  # the runner stopped
    assert len(messages(caplog, "stopping (exit 3)")) == 1
    assert "not-the-password" not in caplog.text


def test_run_exits_3_on_a_wrong_password(
    make_harness: MakeHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from optimizer.cli import app

    h = make_harness(START)
    d = h.settings.device
    config = tmp_path / "config.toml"
    config.write_text(
        f'[device]\nurl = "{d.url}"\nusername = "{d.username}"\npassword_env = "XS_TEST_PW"\n'
        f'tls_fingerprint_sha256 = "{d.tls_fingerprint_sha256}"\n'
        f'[tariff]\nsource = "static"\n[store]\nurl = "sqlite:///{tmp_path / "h.db"}"\n'
        '[web]\nlisten = ""\n'
    )
    monkeypatch.setenv("XS_TEST_PW", "wrong-password")
    done = CliRunner().invoke(app, ["run", "--config", str(config)])
    assert done.exit_code == 3, done.output
    assert "wrong user name or password" in done.stderr
    assert h.sim.device.stats.sign_in_attempts == 1


# -- 2. store failures ------------------------------------------------------------------------


class FullDisk(Store):
    """A store whose writes fail as on a full disk while ``full`` is set."""

    full = False

    @contextmanager
    def _write(self, what: str) -> Iterator[object]:  # type: ignore[override]
        if self.full:
            raise StoreError(f"{what}: database error (database or disk is full)")
        with super()._write(what) as conn:
            yield conn


def assert_in_control(h: Harness, service: Service, lo: datetime, hi: datetime) -> None:
    """Every slot boundary in ``[lo, hi)`` got its command within a poll, as chosen."""
    slot = pd.Timestamp(lo).ceil("30min").to_pydatetime()
    while slot < hi:
        sent = [c for c in h.commands() if slot <= c["at"] < slot + timedelta(minutes=30)]
        runs = h.sim.device.current_mode()
        chosen = service.executed[slot].command
        if sent:
            assert sent[0]["at"] < slot + timedelta(minutes=3)
            assert sent[0]["body"] == chosen.body()
        else:  # nothing to send: the device already ran it
            assert runs.get("command") == str(chosen.command) or chosen.action is None
        slot += timedelta(minutes=30)


def test_a_full_disk_costs_no_command_and_no_reading(
    make_harness: MakeHarness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    h = make_harness(START)
    h.store.close()
    h.store = FullDisk(h.settings.store.url)
    service = h.start_service()
    reads = counted_reads(service)
    h.run_until(local("2023-10-15 01:10"))
    h.store.full = True  # type: ignore[attr-defined]
    h.run_until(local("2023-10-15 02:40"))
    assert_in_control(h, service, local("2023-10-15 01:10"), local("2023-10-15 02:40"))
    assert len(service.outbox) > 30  # the readings wait in memory
    h.store.full = False  # type: ignore[attr-defined]
    h.run_until(local("2023-10-15 03:00"))
    stored = h.store.readings(START, local("2023-10-15 03:00"))
    assert set(stored.index.to_pydatetime()) == set(reads)  # none lost
    assert len(messages(caplog, "store: cannot write")) == 1  # a warning once, not per poll
    assert len(messages(caplog, "writable again")) == 1
    assert not [r for r in caplog.records if r.exc_info]  # no tracebacks


def test_a_locked_database_costs_no_command_and_no_reading(make_harness: MakeHarness) -> None:
    h = make_harness(START)
    h.store.close()
    h.store = Store(h.settings.store.url, busy_timeout_s=0.1)
    service = h.start_service()
    reads = counted_reads(service)
    h.run_until(local("2023-10-15 01:10"))
    path = h.settings.store.url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        h.run_until(local("2023-10-15 02:10"))
        assert_in_control(h, service, local("2023-10-15 01:10"), local("2023-10-15 02:10"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    h.run_until(local("2023-10-15 02:20"))
    stored = h.store.readings(START, local("2023-10-15 02:20"))
    assert set(stored.index.to_pydatetime()) == set(reads)


# -- 3 and 4. prices with a hole, zero glitches ---------------------------------------------


def serve_import(h: Harness, prices: pd.Series) -> None:
    """Serve ``prices`` (p/kWh, by UTC start) as the import tariff."""
    from tests.tariffs.fakeapi import agile_rows

    h.api.routes[IMPORT_PATH] = OctopusRates(h.api, IMPORT_PATH, agile_rows(prices))


def test_a_hole_in_the_prices_only_shortens_the_horizon(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    start = local("2023-10-15 12:00")
    h = make_harness(start)
    prices = read_series_csv(IMPORT_CSV)
    published = local("2023-10-15 23:00")  # Agile days run 23:00 to 23:00
    day = prices[(prices.index >= start - timedelta(days=1)) & (prices.index < published)]
    hole = (day.index >= start + timedelta(hours=4)) & (day.index < start + timedelta(hours=7))
    serve_import(h, day[~hole])
    service = h.start_service()
    h.run_until(start + timedelta(hours=2))
    stored = h.store.prices(h.settings.tariff.import_code(), start, published)
    assert len(stored) == 22 - 6  # every price but the hole's
    assert stored.index.max() == published - timedelta(minutes=30)
    plan = h.store.latest_plan()
    assert plan is not None
    slots = h.store.plan_slots(plan.id)
    assert slots["slot_end"].max() == start + timedelta(hours=4)  # up to the hole
    assert not messages(caplog, "fail-safe")  # never in fallback
    assert service.tariffs.failures > 0  # still trying to fill the hole
    assert len(messages(caplog, "kept the")) == 1  # said once


def test_zeros_at_the_end_of_a_published_day_are_never_planned_on(
    make_harness: MakeHarness,
) -> None:
    start = local("2023-11-07 12:00")
    h = make_harness(start)
    prices = read_series_csv(IMPORT_CSV)
    published = local("2023-11-07 23:00")
    day = prices[(prices.index >= start - timedelta(days=1)) & (prices.index < published)].copy()
    day.iloc[-2:] = 0.0  # 22:00 and 22:30: zeros at the tail of the published day
    serve_import(h, day)
    h.start_service()
    h.run_until(start + timedelta(hours=1))
    stored = h.store.prices(h.settings.tariff.import_code(), start, published)
    assert stored.min() > 0 and len(stored) == 20  # the zeros were never stored
    plan = h.store.latest_plan()
    assert plan is not None
    assert h.store.plan_slots(plan.id)["slot_end"].max() == local("2023-11-07 22:00")


# -- 5. status lag longer than the poll, a status that never confirms -------------------------


def test_status_lag_longer_than_the_poll_sends_each_command_once(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    h = make_harness(START, sim_overrides={"lag": timedelta(minutes=5)})  # poll: 2 minutes
    service = h.start_service()
    h.run_until(local("2023-10-15 03:00"))
    assert h.commands()
    assert max(per_slot(h).values()) == 1  # no duplicates
    assert not messages(caplog, "READ-BACK MISMATCH")
    assert service.progress.confirmed or service.progress.accepted is None


def test_a_re_plan_while_the_status_lags_sends_nothing_again(make_harness: MakeHarness) -> None:
    h = make_harness(START, sim_overrides={"lag": timedelta(minutes=5)})
    service = h.start_service()
    h.run_until(local("2023-10-15 01:01"))
    sent = h.commands()[-1]["body"]
    service.replan("new prices")
    assert service.executed[local("2023-10-15 01:00")].command.body() == sent  # same command
    service.act()
    h.run_until(local("2023-10-15 01:29"))
    assert max(per_slot(h).values()) == 1


def test_a_status_that_never_confirms_is_not_resent_and_the_fallback_settles(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    h = make_harness(START)
    h.sim.device.status_never_confirms = True
    service = h.start_service()
    service.real = h.clock.monotonic  # the manual clock stands in for real seconds
    h.run_until(local("2023-10-15 04:00"))
    counts = per_slot(h)
    assert max(counts.values()) == 1  # never the same command twice in a slot
    slots = {slot for slot, _ in counts}
    assert all(sum(n for (s, _), n in counts.items() if s == slot) <= 2 for slot in slots)
    mismatches = messages(caplog, "READ-BACK MISMATCH")
    assert 3 <= len(mismatches) <= len(slots) + 1  # once per slot at most
    # Three mismatches in a row: the fallback (the device's own mode, which its status shows,
    # so nothing needs sending) until the status confirms something again.
    assert service.decision().fallback
    late = [c for c in h.commands() if c["at"] >= local("2023-10-15 03:00")]
    assert all(c["body"]["command"] == "SET_MAXIMIZE_AUTO_CONSUMPTION" for c in late)


# -- 6. timing under --speed --------------------------------------------------------------------


def test_read_back_waits_real_seconds_under_speed() -> None:
    """The client's read-back window is real time: a device lagging 1.5 real seconds confirms
    though the service clock runs 120 times faster (10 s would be 83 ms)."""
    from optimizer.device.client import open_client
    from optimizer.device.simulator import ConstantProfile, SimClock, SimConfig, Simulator

    clock = SimClock(datetime(2024, 6, 1, 10, tzinfo=UTC), speed=120)
    config = SimConfig(password="pw", lag=timedelta(0), lag_real_s=1.5)
    with Simulator(config, clock=clock, profile=ConstantProfile(400, 0)) as sim:
        settings = sim.client_settings()
        with open_client(settings, time=clock) as client:
            client._password = lambda: "pw"
            result = client.basic(1)
    assert result.confirmed is not None and result.confirmed.command == "SET_BASIC_MODE"


def test_the_service_under_speed_keeps_its_plan_against_a_lagging_device(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    start = local("2023-10-15 00:55")
    h = make_harness(start, speed=600, sim_overrides={"lag": timedelta(0), "lag_real_s": 1.5})
    service = h.start_service()
    ScheduledRunner(service, h.clock, 600).run(until=local("2023-10-15 01:40"), poll_real_s=0.05)
    assert not messages(caplog, "READ-BACK MISMATCH")
    assert not messages(caplog, "fail-safe")
    assert max(per_slot(h).values()) == 1
    assert messages(caplog, "device confirms")


# -- 7. fallback at a negative price ----------------------------------------------------------


def test_the_fallback_holds_at_a_negative_import_price(make_harness: MakeHarness) -> None:
    start = pd.Timestamp("2022-12-29 02:10", tz="UTC").to_pydatetime()  # import at -4 p/kWh
    h = make_harness(start)
    h.sim.faults.path = "/api/device/status"
    h.sim.faults.fail = 10**6  # no reading ever: no plan, fallback
    h.start_service()
    h.run_until(start + timedelta(hours=1))
    sent = h.commands()
    assert sent and all(c["body"]["command"] == "SET_BASIC_MODE" for c in sent)


# -- 8. smaller ----------------------------------------------------------------------------------


def test_a_hanging_tariff_server_never_delays_a_command(make_harness: MakeHarness) -> None:
    start = local("2023-10-15 18:20")  # tomorrow's prices are due (16:00) and late
    h = make_harness(start, speed=600)
    today = read_series_csv(IMPORT_CSV)
    window = (
        today[
            (today.index >= local("2023-10-15 00:00")) & (today.index < local("2023-10-16 00:00"))
        ]
        / 100
    )
    frame = pd.DataFrame(
        {"end": window.index + pd.Timedelta(minutes=30), "price_per_kwh": window.to_numpy()},
        index=window.index,
    )
    h.store.save_prices(
        frame, "octopus", h.settings.tariff.import_code(), start - timedelta(days=1)
    )
    hang = Reply.json({"detail": "slow"}, 503)
    hang.delay_s = 3.0  # longer than the client's 2 s timeout: 20 simulated minutes each time
    h.api.routes[IMPORT_PATH] = lambda query: hang
    h.api.routes[EXPORT_PATH] = lambda query: hang
    service = h.start_service()
    reads = counted_reads(service)
    ScheduledRunner(service, h.clock, 600).run(until=local("2023-10-15 18:45"), poll_real_s=0.05)
    slot = local("2023-10-15 18:30")
    assert service.tariffs.failures >= 1  # the fetch did hang (20 simulated minutes a time)
    # The slot job read the device and acted at its boundary, not when the fetch gave up.
    assert any(slot <= t < slot + timedelta(minutes=4) for t in reads), reads
    sent = [c for c in h.commands() if c["at"] >= slot]
    assert all(c["at"] < slot + timedelta(minutes=4) for c in sent)


def test_nothing_is_logged_as_sent_when_nothing_was(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    h = make_harness(START)
    h.sim.faults.path = "/api/device/command"
    h.sim.faults.fail = 10**6
    h.start_service()
    h.run_until(local("2023-10-15 01:40"))
    assert h.sim.command_log == []
    assert not messages(caplog, "sent ") and not messages(caplog, "sending")
    assert not messages(caplog, "accepted")


def test_fallback_command_is_basic_only_below_zero() -> None:
    from optimizer.service.decision import Limits, fallback_command

    limits = Limits()
    assert fallback_command(limits, -0.01) == Command(DeviceCommand.SET_BASIC_MODE, 1, None)
    assert fallback_command(limits, 0.0).command is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION
    assert fallback_command(limits, None).command is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION
