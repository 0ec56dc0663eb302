"""The executor's decision: a pure function of (plan, latest reading, now, limits) → what to do.

Nothing here does I/O or reads a clock, so every rule tests with plain values. The rules, in
order:

1. No plan slot covers ``now`` → the fallback mode (no valid plan or prices).
2. Read-back failed ``max_readback_failures`` times in this slot → the fallback mode.
3. No reading, or the latest is older than ``stale_after_s`` → stop forcing: a charge or
   discharge slot becomes the fallback mode (an idle slot stays idle).
4. The measured SOC is outside the slot's planned SOC band (``planned_band``) by more than
   ``soc_tolerance_pct``
   (and the plan is at least ``replan_min_s`` old) → re-plan.
5. Otherwise the slot's command. It is skipped when the device already runs exactly that mode
   and the mode lasts past the slot's end (plus a margin), or when it was just sent and the
   status has not caught up yet (the device shows a new mode only after a few seconds).

SOC is in percent, times are aware UTC datetimes, durations in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from optimizer import commands
from optimizer.domain import Command, DeviceCommand


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    """One slot of the plan as the executor needs it: the command and the planned SOC path.

    ``path_start`` is when the planned path leaves ``soc_start_pct``: the slot's start, or for
    the first slot of a plan made mid-slot, the time the plan was made.
    """

    start: datetime
    end: datetime
    command: Command
    soc_start_pct: float
    soc_end_pct: float
    path_start: datetime | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """The latest device reading: its UTC time, SOC (%) and ``currentMode`` as sent.

    ``mode_ends`` is when the running mode ends (UTC); ``None`` when unknown. A default mode,
    which never ends, is given ``datetime.max`` (aware).
    """

    time: datetime
    soc_pct: float
    mode: Mapping[str, Any] | None
    mode_ends: datetime | None


@dataclass(frozen=True, slots=True)
class Limits:
    """The fail-safe thresholds (seconds and SOC percentage points)."""

    soc_tolerance_pct: float = 5.0
    stale_after_s: float = 300.0
    fallback_mode: str = "SET_MAXIMIZE_AUTO_CONSUMPTION"
    max_readback_failures: int = 3
    replan_min_s: float = 300.0
    confirm_grace_s: float = 30.0
    cover_margin_s: float = 300.0


@dataclass(frozen=True, slots=True)
class Progress:
    """What the executor already did: the last command sent (and when), read-back failures in
    the current slot, and when the plan in force was made."""

    last_sent: Command | None = None
    last_sent_at: datetime | None = None
    readback_failures: int = 0
    planned_at: datetime | None = None


class Verb(StrEnum):
    """The kinds of decision."""

    SEND = "send"
    KEEP = "keep"
    WAIT = "wait"
    REPLAN = "replan"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do now: ``command`` to send, keep or wait for; ``fallback`` marks a fail-safe."""

    verb: Verb
    command: Command | None
    reason: str
    fallback: bool = False


def fallback_command(limits: Limits) -> Command:
    """The fallback mode for one hour (the device returns to its default mode after that)."""
    return Command(DeviceCommand(limits.fallback_mode), 1, None)


def current_slot(slots: Sequence[PlannedSlot], now: datetime) -> PlannedSlot | None:
    """The slot with ``start <= now < end``, or ``None``."""
    for slot in slots:
        if slot.start <= now < slot.end:
            return slot
    return None


def planned_band(slot: PlannedSlot, now: datetime) -> tuple[float, float]:
    """The SOC range (%) that is on plan at ``now`` within ``slot``.

    The device runs at the commanded power, rounded up from the planned one, until the target:
    so at ``now`` the SOC should lie between the straight line from the planned start to the
    planned end SOC (the slowest on-plan progress) and the planned end SOC itself. The line
    takes one slot length from ``path_start`` (the planner plans whole slots).
    """
    origin = slot.path_start or slot.start
    length = (slot.end - slot.start).total_seconds()  # a plan made mid-slot needs a whole slot
    done = min(1.0, max(0.0, (now - origin).total_seconds() / length)) if length > 0 else 1.0
    line = slot.soc_start_pct + (slot.soc_end_pct - slot.soc_start_pct) * done
    return min(line, slot.soc_end_pct), max(line, slot.soc_end_pct)


def drift_pct(slot: PlannedSlot, soc_pct: float, now: datetime) -> float:
    """How far (percentage points) ``soc_pct`` lies outside the planned band at ``now``."""
    low, high = planned_band(slot, now)
    return max(low - soc_pct, soc_pct - high, 0.0)


def is_stale(reading: Observation | None, now: datetime, limits: Limits) -> bool:
    """True without a reading or when the latest is older than ``stale_after_s``."""
    return reading is None or (now - reading.time).total_seconds() > limits.stale_after_s


def _wanted(
    slot: PlannedSlot | None,
    reading: Observation | None,
    now: datetime,
    limits: Limits,
    progress: Progress,
) -> Decision:
    """Rules 1-4: the command this slot should run, or a re-plan."""
    fallback = fallback_command(limits)
    if slot is None:
        return Decision(Verb.SEND, fallback, "no valid plan or prices for now", fallback=True)
    if progress.readback_failures >= limits.max_readback_failures:
        reason = f"read-back failed {progress.readback_failures} times in this slot"
        return Decision(Verb.SEND, fallback, reason, fallback=True)
    if is_stale(reading, now, limits):
        if slot.command.action is not None:
            return Decision(Verb.SEND, fallback, "SOC readings are stale", fallback=True)
        return Decision(Verb.SEND, slot.command, "planned slot (readings stale, idle is safe)")
    assert reading is not None
    drift = drift_pct(slot, reading.soc_pct, reading.time)
    recent = progress.planned_at is not None and (
        (now - progress.planned_at).total_seconds() < limits.replan_min_s
    )
    if drift > limits.soc_tolerance_pct and not recent:
        low, high = planned_band(slot, reading.time)
        reason = (
            f"measured SOC {reading.soc_pct:g} % is {drift:.1f} points outside the planned "
            f"{low:.1f}..{high:.1f} %"
        )
        return Decision(Verb.REPLAN, None, reason)
    return Decision(Verb.SEND, slot.command, "planned slot")


def runs(reading: Observation | None, command: Command) -> bool:
    """True when the device's ``currentMode`` shows exactly ``command``."""
    return reading is not None and not commands.differences(command, reading.mode)


def _covers(reading: Observation, until: datetime, limits: Limits) -> bool:
    if reading.mode_ends is None:
        return False
    return (reading.mode_ends - until).total_seconds() >= limits.cover_margin_s


def decide(
    slots: Sequence[PlannedSlot],
    reading: Observation | None,
    now: datetime,
    limits: Limits,
    progress: Progress,
) -> Decision:
    """What the executor should do at ``now`` (see the module docstring for the rules)."""
    slot = current_slot(slots, now)
    wanted = _wanted(slot, reading, now, limits, progress)
    if wanted.verb is not Verb.SEND or wanted.command is None:
        return wanted
    command = wanted.command
    until = slot.end if slot is not None and not wanted.fallback else now
    if reading is not None and runs(reading, command) and _covers(reading, until, limits):
        return Decision(
            Verb.KEEP, command, f"device already runs it ({wanted.reason})", wanted.fallback
        )
    just_sent = (
        progress.last_sent == command
        and progress.last_sent_at is not None
        and 0 <= (now - progress.last_sent_at).total_seconds() < limits.confirm_grace_s
    )
    if just_sent:
        return Decision(Verb.WAIT, command, f"just sent ({wanted.reason})", wanted.fallback)
    return wanted
