"""The read-only view of the running service that every integration reads.

``Snapshot`` is frozen and holds only plain values (aware UTC datetimes, floats, strings, JSON
bodies), built by ``optimizer.service.observe`` after every job from the service's public state
and the store. An ``Observer`` is told about each new snapshot; it must return quickly and may
raise (the publisher logs it and carries on).

``pv`` is the PV forecast's view (``PvView``). Units: SOC in %, prices in currency units per
kWh, money in currency units, energy in kWh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from optimizer.store import DayTotals

#: Upper bounds (s) of the plan-making time histogram's buckets (``+Inf`` is implied).
SOLVE_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class SlotView:
    """One plan slot with the fields of ``plan --json`` (``command``: the exact wire body)."""

    start: datetime
    end: datetime
    action: str
    charge_kw: float
    discharge_kw: float
    grid_import_kwh: float
    grid_export_kwh: float
    soc_start_pct: float
    soc_end_pct: float
    price_import_per_kwh: float
    price_export_per_kwh: float
    command: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    """Something a person should see: a warning, a fallback, a re-plan and why (UTC time)."""

    time: datetime
    level: str
    message: str


@dataclass(frozen=True, slots=True)
class SolveTimes:
    """How long plans took to make (s): cumulative counts per ``SOLVE_BUCKETS_S`` bound."""

    counts: tuple[int, ...] = (0,) * len(SOLVE_BUCKETS_S)
    total: int = 0
    sum_s: float = 0.0

    def add(self, seconds: float) -> SolveTimes:
        """These times plus one more."""
        counts = tuple(
            n + (seconds <= le) for n, le in zip(self.counts, SOLVE_BUCKETS_S, strict=True)
        )
        return SolveTimes(counts, self.total + 1, self.sum_s + seconds)


@dataclass(frozen=True, slots=True)
class Counters:
    """Cumulative counts since the service started: commands by ``(kind, result)`` (result
    ``ok`` or ``error``), accepted commands the device's status never showed (read-back
    mismatches), plans by ``(reason, result)`` (``made`` or ``failed``), plan-making times."""

    commands: Mapping[tuple[str, str], int] = field(default_factory=dict)
    readback_mismatches: int = 0
    replans: Mapping[tuple[str, str], int] = field(default_factory=dict)
    solve: SolveTimes = SolveTimes()


@dataclass(frozen=True, slots=True)
class PvError:
    """The PV forecast the plans used against the PV the device measured, over recent slots:
    ``mae_kwh`` (mean absolute error) and ``bias_kwh`` (mean of forecast − measured: + = the
    forecast ran high), kWh per slot, over ``slots`` slots."""

    mae_kwh: float
    bias_kwh: float
    slots: int


@dataclass(frozen=True, slots=True)
class PvView:
    """The PV forecast as the views show it: ``source`` the plan in force used (``history`` or
    a weather source), ``configured`` the one set in ``[pv] forecast``, the forecast for today
    and tomorrow (kWh, local days, ``None`` until known) and its recent error."""

    source: str = "history"
    configured: str = "history"
    today_kwh: float | None = None
    tomorrow_kwh: float | None = None
    error: PvError | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The service as of ``time`` (its own clock, UTC).

    ``command`` is the last command sent (``command_confirmed``: the device's ``currentMode``
    shows exactly it), ``wanted`` what the plan asks for this slot. ``health`` is ``None`` while
    the service is in control, else the reason it is not. ``plan_status``: ``active``,
    ``no plan``, ``fallback`` (the device is told the fallback mode) or ``switched off``.
    """

    time: datetime
    currency: str
    timezone: str
    enabled: bool
    soc_pct: float | None = None
    planned_soc_pct: float | None = None
    mode: str | None = None
    command: Mapping[str, Any] | None = None
    command_sent_at: datetime | None = None
    command_confirmed: bool = False
    wanted: Mapping[str, Any] | None = None
    device_reachable: bool = False
    last_reading_utc: datetime | None = None
    prices_until_utc: datetime | None = None
    plan_id: int | None = None
    plan_made_utc: datetime | None = None
    plan_status: str = "no plan"
    slots: tuple[SlotView, ...] = ()
    health: str | None = "starting"
    today: DayTotals | None = None
    yesterday: DayTotals | None = None
    savings_to_date: float = 0.0
    events: tuple[Event, ...] = ()
    counters: Counters = Counters()
    pv: PvView = PvView()

    def slot_at(self, moment: datetime | None = None) -> SlotView | None:
        """The plan slot holding ``moment`` (default: the snapshot's time)."""
        at = moment or self.time
        return next((s for s in self.slots if s.start <= at < s.end), None)

    def next_change(self) -> SlotView | None:
        """The first later slot whose command differs from the current slot's."""
        now = self.slot_at()
        later = [s for s in self.slots if s.start >= (now.end if now else self.time)]
        if now is None:
            return later[0] if later else None
        return next((s for s in later if dict(s.command) != dict(now.command)), None)


class Observer(Protocol):
    """Told about every new snapshot (on the service's job thread: return quickly)."""

    def update(self, snapshot: Snapshot) -> None:
        """Take ``snapshot`` as the latest state."""
        ...


def action_label(body: Mapping[str, Any] | None) -> str:
    """``charge``, ``discharge``, ``idle`` (basic mode) or the device mode's name, ``-``."""
    if not body:
        return "-"
    params = body.get("parameters")
    action = params.get("action") if isinstance(params, Mapping) else None
    if action == "ACTION_CHARGE":
        return "charge"
    if action == "ACTION_DISCHARGE":
        return "discharge"
    command = str(body.get("command", "-"))
    if command == "SET_BASIC_MODE":
        return "idle"
    return command.removeprefix("SET_").lower().replace("_", " ")
