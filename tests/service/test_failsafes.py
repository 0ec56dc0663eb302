"""Fail-safes end to end: SOC drift, the tariff server down, device faults, a restart mid-slot."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import httpx
import pytest

from optimizer.domain import DeviceCommand
from tests.service.conftest import (
    PASSWORD,
    Harness,
    MakeHarness,
    counted_reads,
    local,
    service_settings,
)


def sent_between(h: Harness, lo: datetime, hi: datetime) -> list[dict[str, object]]:
    return [c for c in h.commands() if lo <= c["at"] < hi]


def test_soc_drift_triggers_a_replan(make_harness: MakeHarness) -> None:
    """Mid-charge the battery loses 15 points, as if a load jump had been covered from it.

    (The simulator's forced charge/discharge modes run at a fixed power whatever the load, so a
    load jump alone cannot move SOC there; the test moves the SOC itself.)
    """
    h = make_harness(local("2023-10-15 00:00"))
    h.start_service()
    h.run_until(local("2023-10-15 01:10"))
    before = h.store.latest_plan()
    assert before is not None and before.inputs["why"] == "slot boundary"
    with h.sim.device.lock:
        h.sim.device.advance()
        h.sim.device.battery.soc_pct -= 15.0
    h.run_until(local("2023-10-15 01:14"))
    after = h.store.latest_plan()
    assert after is not None and after.id != before.id
    assert after.inputs["why"] == "SOC drift"
    measured = after.inputs["soc_pct"]
    first = h.store.plan_slots(after.id).iloc[0]
    assert first["soc_start_pct"] == measured  # the new plan starts from the measured SOC
    assert h.store.latest_plan(status="superseded") is not None
    h.run_until(local("2023-10-15 01:29"))
    again = h.store.latest_plan()
    assert again is not None and again.id == after.id  # back on plan: no further re-plans


def test_tariff_server_down_falls_back_then_recovers(make_harness: MakeHarness) -> None:
    start = local("2023-10-15 00:00")
    h = make_harness(start, sim_overrides={"default_command": "SET_BASIC_MODE"})
    h.tariff_switch.down = True
    service = h.start_service()
    h.run_until(start + timedelta(hours=1))
    assert h.store.latest_plan() is None
    first_hour = sent_between(h, start, start + timedelta(hours=1))
    assert first_hour, "the fallback mode was never sent"
    assert all(c["body"]["command"] == "SET_MAXIMIZE_AUTO_CONSUMPTION" for c in first_hour)
    assert service.tariffs.failures >= 3  # retried with backoff, not once per poll
    calls_while_down = h.api.count(
        next(p for p, _ in h.api.calls if p.endswith("standard-unit-rates/"))
    )
    assert calls_while_down <= 6

    h.tariff_switch.down = False
    h.run_until(start + timedelta(hours=2, minutes=30))
    plan = h.store.latest_plan()
    assert plan is not None
    assert service.tariffs.failures == 0
    later = sent_between(h, start + timedelta(hours=1), start + timedelta(hours=2, minutes=30))
    planned = {str(c["body"]["command"]) for c in later} | {
        str((c["body"]["parameters"] or {}).get("action")) for c in later
    }
    assert "ACTION_CHARGE" in planned or "SET_BASIC_MODE" in planned


def test_device_faults_do_not_crash_or_lose_readings(make_harness: MakeHarness) -> None:
    """Reboot mid-charge, token expiry, a 5xx burst and timeouts, one after another."""
    start = local("2023-10-15 00:50")
    h = make_harness(start, sim_overrides={"token_ttl": timedelta(minutes=25)})
    service = h.start_service()
    reads = counted_reads(service)
    h.run_until(local("2023-10-15 01:05"))
    charge_slot = [c for c in sent_between(h, local("2023-10-15 01:00"), local("2023-10-15 01:05"))]
    assert charge_slot and charge_slot[-1]["body"]["parameters"]["action"] == "ACTION_CHARGE"

    h.sim.reboot(downtime=timedelta(minutes=3))  # drops the running charge and every token
    h.run_until(local("2023-10-15 01:20"))
    resent = sent_between(h, local("2023-10-15 01:05"), local("2023-10-15 01:20"))
    assert len(resent) == 1  # re-issued once (the target may be re-planned: charging lagged)
    assert resent[0]["body"]["parameters"]["action"] == "ACTION_CHARGE"
    assert resent[0]["at"] >= local("2023-10-15 01:08")  # only once the device was back

    h.sim.faults.fail = 4  # a 5xx burst: one poll fails after the client's own retries
    h.run_until(local("2023-10-15 01:40"))
    h.sim.faults.latency_s = 1.3  # longer than the client's 1 s timeout
    h.run_until(local("2023-10-15 01:43"))
    h.sim.faults.clear()
    h.run_until(local("2023-10-15 03:00"))

    assert h.sim.device.stats.sign_in_attempts >= 3  # after the reboot and token expiry
    assert service.device_failures == 0
    stored = h.store.readings(start, local("2023-10-15 03:00"))
    assert set(stored.index.to_pydatetime()) == set(reads)  # every good read stored, no more
    assert len(reads) > 40
    for slot_start in (local("2023-10-15 02:00"), local("2023-10-15 02:30")):
        in_slot = sent_between(h, slot_start, slot_start + timedelta(minutes=30))
        assert in_slot and in_slot[0]["body"] == service.executed[slot_start].command.body()


def test_restart_mid_slot_resumes_without_resending(make_harness: MakeHarness) -> None:
    start = local("2023-10-15 00:50")
    h = make_harness(start, service=service_settings(poll_seconds=60))
    first = h.start_service()
    h.run_until(local("2023-10-15 01:10"))
    slot = local("2023-10-15 01:00")
    sent = sent_between(h, slot, slot + timedelta(minutes=30))
    assert len(sent) == 1
    readings_before = len(h.store.readings(start, slot + timedelta(minutes=10)))

    # The process dies mid-slot; a new one starts on the same store and device.
    second = h.start_service()
    assert second.plan_id == first.plan_id
    assert second.progress.last_sent is not None
    assert second.progress.last_sent.body() == sent[0]["body"]
    h.run_until(slot + timedelta(minutes=29))
    assert len(sent_between(h, slot, slot + timedelta(minutes=30))) == 1  # not sent again
    h.run_until(slot + timedelta(minutes=31))
    next_slot = sent_between(h, slot + timedelta(minutes=30), slot + timedelta(minutes=31))
    assert len(next_slot) == 1  # the plan goes on at the next boundary
    assert next_slot[0]["body"] == second.executed[slot + timedelta(minutes=30)].command.body()
    after = h.store.readings(start, slot + timedelta(minutes=31))
    assert len(after) > readings_before  # history kept and extended


def test_dry_run_plans_and_logs_but_sends_nothing(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="optimizer")
    start = local("2023-10-15 00:50")
    h = make_harness(start)
    h.start_service(dry_run=True)
    h.run_until(local("2023-10-15 02:00"))
    assert h.sim.command_log == []
    assert h.store.commands(start, local("2023-10-15 02:00")) == []
    assert h.store.latest_plan() is not None
    would = [r.getMessage() for r in caplog.records if "dry run: would send" in r.getMessage()]
    assert any("ACTION_CHARGE" in m for m in would)
    assert len(would) <= 12  # per slot and command (drift re-plans: SOC stays put), not per poll
    assert PASSWORD not in caplog.text


def test_lockout_waits_as_long_as_the_device_says(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """Someone else's failed sign-ins locked the account for 30 minutes: each sign-in the
    service tries is refused, and it waits as long as the client says (at least 10 minutes)
    before the next; once the lockout ends it signs in and works."""
    caplog.set_level(logging.DEBUG)
    start = local("2023-10-15 00:50")
    h = make_harness(
        start, sim_overrides={"lockout_after": 3, "lockout_for": timedelta(minutes=30)}
    )
    with httpx.Client(verify=False) as other:
        for _ in range(3):
            body = {"username": "user", "pwd": "wrong", "userType": "customer"}
            other.post(f"{h.sim.url}/api/auth/signin", json=body)
    locked_by_others = h.sim.device.stats.sign_in_attempts
    service = h.start_service()
    h.run_until(start + timedelta(minutes=25))
    tried = h.sim.device.stats.sign_in_attempts - locked_by_others
    assert 1 <= tried <= 3  # at most one attempt per 10 minutes
    assert h.sim.command_log == []  # nothing sent, nothing queued
    assert any("locked" in r.getMessage().lower() for r in caplog.records)
    h.run_until(start + timedelta(minutes=50))
    assert service.device_failures == 0
    assert service.reading is not None and service.reading.time >= start + timedelta(minutes=30)
    sent = h.commands()
    if not sent:  # the plan asked for the device's own default mode, which it runs already
        now_slot = max(t for t in service.executed if t <= start + timedelta(minutes=50))
        assert (
            service.executed[now_slot].command.command
            is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION
        )
        return
    assert sent[0]["at"] >= start + timedelta(minutes=30)
    slot = max(t for t in service.executed if t <= sent[0]["at"])
    assert sent[0]["body"] == service.executed[slot].command.body()
    assert PASSWORD not in caplog.text
