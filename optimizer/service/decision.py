"""The executor's decision: a pure function of (plan, latest reading, now, limits) → what to do.

Nothing here does I/O or reads a clock, so every rule tests with plain values. The rules, in
order:

1. No plan slot covers ``now`` → the fallback mode (no valid plan or prices).
2. ``max_readback_failures`` commands in a row were accepted but never shown by the status →
   the fallback mode (until the status confirms one).
3. No reading, or the latest is older than ``stale_after_s`` → stop forcing: a charge or
   discharge slot becomes the fallback mode (an idle slot stays idle).
4. The measured SOC is outside the slot's planned SOC band (``planned_band``) by more than
   ``soc_tolerance_pct``
   (and the plan is at least ``replan_min_s`` old) → re-plan.
5. Otherwise the slot's command. It is skipped when the device already runs exactly that mode
   and the mode lasts past the slot's end (plus a margin); when the device accepted exactly that
   command in this slot (HTTP 200 echoing it) and the status has not shown it yet (the status
   lags, sometimes for longer than a poll: it is not sent again, however long it lags); when it
   was just sent; and when ``max_sends_per_slot`` commands went out in this slot already.

The fallback mode (rules 1-3) is ``limits.fallback_mode``, except at a negative import price,
where self-consumption would discharge the battery to avoid being paid to import: then the
fallback holds the battery in basic mode. Self-consumption discharges to the device's backup
level, which may lie below the reserve: then it is the fallback only from a fresh SOC at or
above ``limits.self_consumption_safe_pct`` (where no load reaches the reserve within a slot,
``optimizer.planning.policy.reserve_safe_from_kwh``); else the fallback is basic mode.

SOC is in percent, times are aware UTC datetimes, durations in seconds.
"""

from __future__ import annotations

import math
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
    max_sends_per_slot: int = 3
    # A command the device accepted but its status has not shown after this long (service
    # seconds) *and* ``confirm_real_s`` real seconds is a read-back mismatch (logged, counted).
    confirm_window_s: float = 600.0
    confirm_real_s: float = 10.0
    #: SOC (%) from which self-consumption cannot reach the reserve within a slot (-inf: the
    #: device's backup level keeps the reserve itself, or it is not known to be below it).
    self_consumption_safe_pct: float = float("-inf")


@dataclass(frozen=True, slots=True)
class Progress:
    """What the executor already did: the last command sent (and when), consecutive read-back
    mismatches, when the plan in force was made, and in the current slot: how many commands
    were sent, which one the device last accepted (HTTP 200 echoing it), and whether the
    status has shown it since."""

    last_sent: Command | None = None
    last_sent_at: datetime | None = None
    readback_failures: int = 0
    planned_at: datetime | None = None
    sends: int = 0
    accepted: Command | None = None
    accepted_at: datetime | None = None
    confirmed: bool = False


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


def fallback_command(
    limits: Limits, import_price: float | None = None, soc_pct: float | None = None
) -> Command:
    """The fallback mode for one hour (the device returns to its default mode after that);
    basic mode (hold) at a negative ``import_price``, and instead of self-consumption where it
    could take the battery below the reserve (``soc_pct``: the fresh measured SOC, ``None``
    when there is none)."""
    if import_price is not None and import_price < 0:
        return Command(DeviceCommand.SET_BASIC_MODE, 1, None)
    mode = DeviceCommand(limits.fallback_mode)
    guarded = math.isfinite(limits.self_consumption_safe_pct)
    unsafe = soc_pct is None or soc_pct < limits.self_consumption_safe_pct
    if mode is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION and guarded and unsafe:
        return Command(DeviceCommand.SET_BASIC_MODE, 1, None)
    return Command(mode, 1, None)


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
    import_price: float | None = None,
) -> Decision:
    """Rules 1-4: the command this slot should run, or a re-plan."""
    fresh = None if is_stale(reading, now, limits) or reading is None else reading.soc_pct
    fallback = fallback_command(limits, import_price, fresh)
    if slot is None:
        return Decision(Verb.SEND, fallback, "no valid plan or prices for now", fallback=True)
    if progress.readback_failures >= limits.max_readback_failures:
        reason = f"read-back failed: {progress.readback_failures} commands in a row unconfirmed"
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
    import_price: float | None = None,
) -> Decision:
    """What the executor should do at ``now`` (see the module docstring for the rules);
    ``import_price`` is the current slot's (currency/kWh), ``None`` when unknown."""
    slot = current_slot(slots, now)
    wanted = _wanted(slot, reading, now, limits, progress, import_price)
    if wanted.verb is not Verb.SEND or wanted.command is None:
        return wanted
    command = wanted.command
    until = slot.end if slot is not None and not wanted.fallback else now
    if reading is not None and runs(reading, command) and _covers(reading, until, limits):
        return Decision(
            Verb.KEEP, command, f"device already runs it ({wanted.reason})", wanted.fallback
        )
    if progress.accepted == command and not progress.confirmed:
        reason = f"accepted by the device, its status not caught up yet ({wanted.reason})"
        return Decision(Verb.WAIT, command, reason, wanted.fallback)
    if progress.sends >= limits.max_sends_per_slot:
        reason = f"{progress.sends} commands sent in this slot already ({wanted.reason})"
        return Decision(Verb.WAIT, command, reason, wanted.fallback)
    just_sent = (
        progress.last_sent == command
        and progress.last_sent_at is not None
        and 0 <= (now - progress.last_sent_at).total_seconds() < limits.confirm_grace_s
    )
    if just_sent:
        return Decision(Verb.WAIT, command, f"just sent ({wanted.reason})", wanted.fallback)
    return wanted
