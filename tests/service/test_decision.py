"""The pure decision function: plain values in, one decision out; no clock, no device."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from optimizer.commands import basic, charge, discharge
from optimizer.domain import Command
from optimizer.service.decision import (
    Limits,
    Observation,
    PlannedSlot,
    Progress,
    Verb,
    current_slot,
    decide,
    drift_pct,
)

T0 = datetime(2023, 10, 15, 1, 0, tzinfo=UTC)
SLOT = timedelta(minutes=30)
CHARGE = charge(100, 60, 1)
DISCHARGE = discharge(50, 20, 1)
IDLE = basic(1)
LIMITS = Limits(
    soc_tolerance_pct=5, stale_after_s=300, fallback_mode="SET_MAXIMIZE_AUTO_CONSUMPTION"
)
FOREVER = datetime.max.replace(tzinfo=UTC)


def plan(*commands: Command, soc: float = 20.0, step_pct: float = 20.0) -> list[PlannedSlot]:
    slots = []
    for i, command in enumerate(commands):
        delta = step_pct if command.action == "ACTION_CHARGE" else 0.0
        delta = -step_pct if command.action == "ACTION_DISCHARGE" else delta
        slots.append(PlannedSlot(T0 + i * SLOT, T0 + (i + 1) * SLOT, command, soc, soc + delta))
        soc += delta
    return slots


def mode_of(command: Command, type_: str = "MANUAL") -> dict[str, object]:
    body = command.body()
    return {"command": body["command"], "duration": body["duration"],
            "parameters": body["parameters"], "type": type_}  # fmt: skip


def reading(
    at: datetime, soc: float, mode: dict[str, object] | None, ends: datetime | None
) -> Observation:
    return Observation(at, soc, mode, ends)


DEFAULT_MODE = {"command": "SET_MAXIMIZE_AUTO_CONSUMPTION", "duration": None, "type": "DEFAULT"}


def test_sends_the_slot_command_at_the_boundary() -> None:
    now = T0 + timedelta(seconds=1)
    d = decide(plan(CHARGE), reading(now, 20, DEFAULT_MODE, FOREVER), now, LIMITS, Progress())
    assert (d.verb, d.command, d.fallback) == (Verb.SEND, CHARGE, False)


def test_resends_each_slot_even_when_the_device_runs_the_same_command() -> None:
    """A 1-hour command sent at the previous boundary ends at this slot's end: re-send."""
    now = T0 + SLOT + timedelta(seconds=1)
    ends = T0 + timedelta(hours=1)
    slots = plan(IDLE, IDLE)
    d = decide(slots, reading(now, 20, mode_of(IDLE), ends), now, LIMITS, Progress())
    assert d.verb is Verb.SEND and d.command == IDLE


def test_keeps_a_running_command_that_covers_the_slot_after_a_restart() -> None:
    """Restarted mid-slot: the device runs exactly this command for 50 more minutes."""
    now = T0 + timedelta(minutes=10)
    obs = reading(now, 30, mode_of(CHARGE), T0 + timedelta(hours=1))
    d = decide(plan(CHARGE), obs, now, LIMITS, Progress())
    assert d.verb is Verb.KEEP


def test_waits_for_status_to_catch_up_after_sending() -> None:
    now = T0 + timedelta(seconds=5)
    progress = Progress(last_sent=CHARGE, last_sent_at=T0 + timedelta(seconds=1))
    d = decide(plan(CHARGE), reading(now, 20, DEFAULT_MODE, FOREVER), now, LIMITS, progress)
    assert d.verb is Verb.WAIT
    later = T0 + timedelta(seconds=60)  # still not shown after the grace: send again
    d = decide(plan(CHARGE), reading(later, 20, DEFAULT_MODE, FOREVER), later, LIMITS, progress)
    assert d.verb is Verb.SEND


def test_no_plan_means_fallback_unless_the_device_already_runs_it() -> None:
    now = T0 + timedelta(hours=5)  # after the plan's last slot
    d = decide(plan(CHARGE), reading(now, 20, mode_of(IDLE), now + SLOT), now, LIMITS, Progress())
    assert d.verb is Verb.SEND and d.fallback
    assert d.command is not None and d.command.body() == {
        "command": "SET_MAXIMIZE_AUTO_CONSUMPTION", "duration": 1, "parameters": None,
    }  # fmt: skip
    d = decide([], reading(now, 20, DEFAULT_MODE, FOREVER), now, LIMITS, Progress())
    assert d.verb is Verb.KEEP and d.fallback


@pytest.mark.parametrize(("command", "forced"), [(CHARGE, True), (DISCHARGE, True), (IDLE, False)])
def test_stale_readings_stop_forcing(command: Command, forced: bool) -> None:
    now = T0 + timedelta(minutes=20)
    old = reading(now - timedelta(seconds=301), 20, DEFAULT_MODE, FOREVER)
    d = decide(plan(command), old, now, LIMITS, Progress())
    assert d.fallback is forced
    assert d.command is not None
    if forced:
        assert d.command.body()["command"] == "SET_MAXIMIZE_AUTO_CONSUMPTION"
    else:
        assert d.command == command
    assert decide(plan(command), None, now, LIMITS, Progress()).fallback is forced


def test_repeated_readback_mismatch_falls_back() -> None:
    now = T0 + timedelta(minutes=1)
    obs = reading(now, 20, DEFAULT_MODE, FOREVER)
    two = Progress(readback_failures=2)
    three = Progress(readback_failures=3)
    assert decide(plan(CHARGE), obs, now, LIMITS, two).command == CHARGE
    d = decide(plan(CHARGE), obs, now, LIMITS, three)
    assert d.fallback and "read-back" in d.reason


def test_drift_beyond_tolerance_replans_but_not_twice_in_a_row() -> None:
    now = T0 + timedelta(minutes=15)
    slots = plan(CHARGE)  # planned 20 → 40 %
    inside = reading(now, 44.9, mode_of(CHARGE), T0 + timedelta(hours=1))  # band 30..40
    assert decide(slots, inside, now, LIMITS, Progress()).verb is Verb.KEEP
    outside = reading(now, 22.0, mode_of(CHARGE), T0 + timedelta(hours=1))
    d = decide(slots, outside, now, LIMITS, Progress(planned_at=T0))
    assert d.verb is Verb.REPLAN and "8.0 points" in d.reason
    just_planned = Progress(planned_at=now - timedelta(seconds=10))
    assert decide(slots, outside, now, LIMITS, just_planned).verb is Verb.KEEP


def test_drift_is_distance_outside_the_planned_band() -> None:
    slot = plan(CHARGE)[0]  # 20 → 40 % over 30 minutes
    half = slot.start + timedelta(minutes=15)
    assert drift_pct(slot, 40, half) == 0  # ahead of the straight line: the device is fast
    assert drift_pct(slot, 30, half) == 0  # on the straight line
    assert drift_pct(slot, 25, half) == pytest.approx(5)  # behind it
    assert drift_pct(slot, 47, half) == pytest.approx(7)  # past the target
    assert drift_pct(slot, 15, slot.start) == pytest.approx(5)
    discharging = plan(DISCHARGE, soc=60)[0]  # 60 → 40 %
    assert drift_pct(discharging, 55, half) == pytest.approx(5)
    assert drift_pct(discharging, 45, half) == 0
    assert current_slot([slot], slot.end) is None
    assert current_slot([slot], slot.start) == slot
