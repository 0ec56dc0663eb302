"""The service: small jobs that read the device, keep a plan and send the current slot's command.

Jobs (``Service.jobs()``), each with the simulated/real time it is next due:

* ``tariffs``: fetch prices around publication (``TariffFeed``); new prices → re-plan;
* ``poll``: read status every ``poll_seconds``, store the reading, decide (drift → re-plan;
  the in-slot reserve guard, ``_guard_reserve``, ends self-consumption near the reserve);
* ``slot``: at each slot boundary re-plan from the measured SOC when due (``service.replan``:
  every slot or every hour, as the backtest's ``--replan``), else ask the plan in force for this
  slot's command from the measured SOC (``Plan.choose``: the backtest's call), then send it;
* ``metrics``: import the device's 5-minute metrics (and slot energies for the forecasts);
* ``pv`` (with a weather PV source, ``[pv] forecast``): fetch the PV forecast within the
  provider's limits and store it as issued (``PvFeed``); the next plan reads it.

What to send is decided by ``decision.decide`` (pure). The plan and every command sent live in the
store, so a restarted service resumes the current slot without sending its command again.

Control never depends on a side job or a write: ``tariffs`` and ``metrics`` are side jobs
(``SIDE_JOBS``: the scheduler runs them on their own thread, so a hanging tariff server or a slow
metrics import never holds up a command; new prices come back to the control thread as a
follow-up, the re-plan); readings and command records go through an ``Outbox`` that is written
after the command went out and keeps them in memory while the store fails; a plan that cannot be
stored is still followed. Only a definite "wrong password" stops the service (``fatal``: the
runner stops and ``run`` exits 3); every other device or sign-in failure is retried with backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from optimizer import commands
from optimizer.backtest.registry import resolve
from optimizer.device.models import EnergyFlow
from optimizer.domain import BatterySpec, Command, DeviceCommand, PlanSlot
from optimizer.errors import (
    CredentialsRejected,
    DeviceError,
    InfeasiblePlan,
    InvalidInput,
    LockedOut,
    SolverError,
    StoreError,
)
from optimizer.service.decision import (
    Decision,
    Limits,
    Observation,
    PlannedSlot,
    Progress,
    Verb,
    current_slot,
    decide,
    is_stale,
    runs,
)
from optimizer.service.feeds import FOREVER, MetricsFeed, TariffFeed
from optimizer.service.outbox import Outbox
from optimizer.service.planner import Plan, make_plan, slot_start
from optimizer.service.pvfeed import PvFeed
from optimizer.service.pvforecast import PvWatch
from optimizer.service.reserve import (
    backup_warning,
    guard_command,
    planning_battery,
    self_consumption_safe_pct,
)
from optimizer.service.roof import record_raw
from optimizer.service.wiring import Deps
from optimizer.store.records import CommandRecord, Reading

log = logging.getLogger(__name__)

#: Modes that discharge down to the device's backup level (guarded where it is below the reserve).
GUARDED_MODES = frozenset(
    {DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION, DeviceCommand.SET_PEAK_SHAVING}
)

# Jobs off the control path: the scheduler runs them on their own worker. When one returns a
# callable, that follow-up runs on the control thread (at once).
SIDE_JOBS = frozenset({"tariffs", "metrics", "pv"})


@dataclass(frozen=True)
class Job:
    """A named job: ``run`` it, then ask ``next_due(now)`` when it should run again (UTC).
    ``run`` may return a callable: a follow-up for the control thread (see ``SIDE_JOBS``)."""

    name: str
    run: Callable[[], object]
    next_due: Callable[[datetime], datetime]


def limits_from(deps: Deps) -> Limits:
    """The decision thresholds from ``[service]``."""
    s = deps.settings.service
    return Limits(
        soc_tolerance_pct=s.soc_tolerance_pct,
        stale_after_s=s.stale_after_s,
        fallback_mode=s.fallback_mode,
        max_readback_failures=s.max_readback_failures,
        replan_min_s=s.replan_min_s,
    )


def command_from(body: dict[str, object]) -> Command:
    """A ``Command`` from its stored wire body."""
    parameters = body.get("parameters")
    return Command(
        DeviceCommand(str(body["command"])),
        int(str(body["duration"])),
        dict(parameters) if isinstance(parameters, dict) else None,
    )


def stored_slots(frame: pd.DataFrame, made: datetime) -> tuple[PlannedSlot, ...]:
    """The executor's view of ``Store.plan_slots`` rows of a plan made at ``made``."""
    starts = [t.to_pydatetime() for t in pd.DatetimeIndex(frame.index)]
    ends = [t.to_pydatetime() for t in pd.DatetimeIndex(frame["slot_end"])]
    bodies: list[dict[str, object]] = list(frame["command"])
    soc_start = frame["soc_start_pct"].to_numpy(dtype=float)
    soc_end = frame["soc_end_pct"].to_numpy(dtype=float)
    return tuple(
        PlannedSlot(start, end, command_from(body), float(a), float(b), max(start, made))
        for start, end, body, a, b in zip(starts, ends, bodies, soc_start, soc_end, strict=True)
    )


def _planned(slot: PlanSlot, made: datetime) -> PlannedSlot:
    path_start = max(slot.start, made)
    return PlannedSlot(
        slot.start, slot.end, slot.command, slot.soc_start_pct, slot.soc_end_pct, path_start
    )


class Service:
    """The executor. All times come from ``deps.clock`` (aware UTC)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.store = deps.store
        self.clock = deps.clock
        self.limits = limits_from(deps)
        self.slots: tuple[PlannedSlot, ...] = ()
        self.plan: Plan | None = None
        self._chosen_for: datetime | None = None
        self.strategy = resolve(deps.settings.service.strategy)
        self.plan_id: int | None = None
        self.reading: Observation | None = None
        self.progress = Progress()
        self.executed: dict[datetime, PlanSlot] = {}
        self.device_failures = 0
        self.device_retry_at = self.clock.now()
        self._progress_slot: datetime | None = None
        self._last_saved: datetime | None = None
        self._dry_logged: tuple[datetime | None, dict[str, object]] | None = None
        self.fatal: CredentialsRejected | None = None
        #: The device's backup level (%), as last read; ``None`` until known.
        self.device_backup_pct: float | None = None
        self._backup_asked = False
        #: House load less PV (W) at the latest reading (> 0: the battery or the grid serves it).
        self.net_load_w = 0.0
        self.real: Callable[[], float] = time.monotonic  # physical seconds (tests inject)
        self._accepted_real: float | None = None
        self._accepted_id: str | None = None
        self._mismatch_noted: datetime | None = None
        self.outbox = Outbox(deps.store, deps.clock.now)
        self.tariffs = TariffFeed(deps.settings, deps.store, deps.tariff_http, deps.clock)
        self.metrics = MetricsFeed(deps.settings, deps.store, deps.device, deps.clock)
        self.pv_feed = (
            PvFeed(deps.settings.pv.forecast, deps.pv_fetch, deps.store, deps.clock,
                   deps.pv_min_interval)
            if deps.pv_fetch is not None else None
        )  # fmt: skip
        self.pv_watch = PvWatch()
        self._resume()

    # -- restart safety -------------------------------------------------------------------

    def _resume(self) -> None:
        """Pick up the stored plan and the command already sent for the current slot."""
        now = self.clock.now()
        latest = self.store.latest_reading()
        self._last_saved = latest.time if latest else None
        stored = self.store.latest_plan(status="active")
        if stored is None:
            return
        frame = self.store.plan_slots(stored.id)
        slots = stored_slots(frame, stored.created_at)
        if current_slot(slots, now) is None:
            return
        self.slots, self.plan_id = slots, stored.id
        self.progress = replace(self.progress, planned_at=stored.created_at)
        start = slot_start(now, self.settings.planner.slot_minutes)
        sent = [c for c in self.store.commands(start, now + timedelta(seconds=1)) if c.ok]
        if sent:
            last = sent[-1]
            self.progress = replace(
                self.progress, last_sent=command_from(last.body), last_sent_at=last.sent_at
            )
        log.info("resumed plan %d made %s; %d command(s) sent this slot", stored.id,
                 stored.created_at.isoformat(), len(sent))  # fmt: skip

    # -- jobs -----------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """The jobs in start-up order: prices, then the slot (which reads the device first)."""
        s = self.settings.service
        minutes = self.settings.planner.slot_minutes
        feed = self.pv_feed
        pv = [Job("pv", feed.run, lambda now: max(feed.due, now))] if feed is not None else []
        return [
            Job("tariffs", self.fetch_tariffs, lambda now: max(self.tariffs.due, now)),
            *pv,
            Job("slot", self.on_slot,
                lambda now: slot_start(now, minutes) + timedelta(minutes=minutes)),
            Job("poll", self.poll, lambda now: max(now + timedelta(seconds=s.poll_seconds),
                                                    self.device_retry_at)),
            Job("metrics", self.metrics.run,
                lambda now: now + timedelta(minutes=s.metrics_minutes)),
        ]  # fmt: skip

    def fetch_tariffs(self) -> Callable[[], None] | None:
        """Fetch prices if due (a side job); when new prices arrived, return the follow-up for
        the control thread: re-plan and act."""
        return self.new_prices if self.tariffs.run() else None

    def new_prices(self) -> None:
        """New prices are stored: re-plan and act (on the control thread)."""
        if self.reading is not None:
            self.replan("new prices")
            self.act()
        self.outbox.flush()

    def poll(self) -> None:
        """Read the device, decide and act, then store the reading."""
        fresh = self.read()
        if fresh or (is_stale(self.reading, self.clock.now(), self.limits) and not self._locked()):
            self.act()
        self.outbox.flush()

    def on_slot(self) -> None:
        """At a slot boundary: read, re-plan from the measured SOC (unless this slot's plan
        exists already, e.g. after a restart), then send the slot's command."""
        self.read()
        now = self.clock.now()
        start = slot_start(now, self.settings.planner.slot_minutes)
        planned_at = self.progress.planned_at
        stale_plan = planned_at is None or planned_at < start
        # After a restart the stored plan runs out its slot; with no plan object to choose
        # from, the next boundary re-plans whatever the cadence.
        if current_slot(self.slots, now) is None or (
            stale_plan and (self.plan is None or self._replan_due(start))
        ):
            self.replan("slot boundary")
        self.act()
        self.outbox.flush()

    def _replan_due(self, start: datetime) -> bool:
        """Whether the cadence asks for a new plan at the slot starting ``start``: every slot,
        or on the local hour (``planner.timezone``), as ``backtest --replan``."""
        if self.settings.service.replan == "slot":
            return True
        local = start.astimezone(ZoneInfo(self.settings.planner.timezone))
        return local.minute == 0

    # -- device reads ---------------------------------------------------------------------

    def _locked(self) -> bool:
        return self.clock.now() < self.device_retry_at

    def read(self) -> bool:
        """One status read (unless backing off); True when a fresh reading was stored."""
        now = self.clock.now()
        if now < self.device_retry_at:
            return False
        try:
            status = self.deps.device.status()
        except DeviceError as exc:
            self._device_failed(exc)
            return False
        self.device_failures = 0
        mode = status.current_mode
        ends = None
        if mode is not None and (mode.type == "DEFAULT" or mode.duration_h is None):
            ends = FOREVER
        elif mode is not None:
            window = mode.window(self.settings.planner.timezone, now)
            ends = window[1] if window else None
        flow = status.energy_flow
        self._note_backup(flow.battery_backup_level_pct)
        self.net_load_w = flow.load_w - flow.pv_w
        self.reading = Observation(now, flow.soc_pct, status.current_mode_raw, ends)
        self._note_confirmation()
        self._save_reading(status.current_mode_raw, flow, now)
        return True

    def _note_backup(self, level_pct: float | None) -> None:
        """Take the device's backup level from the status, or once from ``GET /api/settings``
        where the status lacks it; say when it is not the reserve (``service.reserve``)."""
        if level_pct is None and self.device_backup_pct is None and not self._backup_asked:
            self._backup_asked = True
            try:
                level_pct = self.deps.device.settings().backup_level_pct
            except (DeviceError, ValueError) as exc:
                log.warning("device backup level: not read from /api/settings (%s)", exc)
        if level_pct is None or level_pct == self.device_backup_pct:
            return
        self.device_backup_pct = level_pct
        safe = self_consumption_safe_pct(self.battery(), self.settings.planner.slot_minutes)
        self.limits = replace(self.limits, self_consumption_safe_pct=safe)
        warning = backup_warning(level_pct, self.settings.battery.min_soc_pct, safe)
        if warning:
            log.warning(warning)

    def battery(self) -> BatterySpec:
        """The battery the plans are made for (``[battery]``, the measured backup level)."""
        return planning_battery(self.settings, self.device_backup_pct)

    def _note_confirmation(self) -> None:
        """The status shows the command the device accepted (that very record, when the device
        gives ids: an older identical command still showing is not a confirmation)."""
        p = self.progress
        if p.accepted is None or p.confirmed or not self._shows_accepted():
            return
        log.info("device confirms %s", p.accepted.body())
        self.progress = replace(p, confirmed=True, readback_failures=0)

    def _shows_accepted(self) -> bool:
        p, reading = self.progress, self.reading
        if p.accepted is None or reading is None or not runs(reading, p.accepted):
            return False
        shown = (reading.mode or {}).get("id")
        return self._accepted_id is None or shown is None or shown == self._accepted_id

    def _save_reading(self, mode: dict[str, Any] | None, flow: EnergyFlow, now: datetime) -> None:
        if self._last_saved is not None and now <= self._last_saved:
            return
        params = mode.get("parameters") if mode else None
        action = params.get("action") if isinstance(params, dict) else None
        label = "/".join(str(x) for x in ((mode or {}).get("command"), action) if x)
        self.outbox.put(
            Reading(now, flow.soc_pct, str(flow.battery_status), label or "unknown",
                    flow.grid_power_w, flow.load_w, flow.pv_w, flow.battery_power_w)
        )  # fmt: skip
        self._last_saved = now

    def _device_failed(self, exc: DeviceError) -> None:
        now = self.clock.now()
        self.device_failures += 1
        s = self.settings.service
        if isinstance(exc, CredentialsRejected):
            if self.fatal is None:
                log.error("device: %s; stopping (exit 3)", exc)
            self.fatal = exc
            self.device_retry_at = now + timedelta(days=1)  # the runner stops
            return
        if isinstance(exc, LockedOut):
            delay = max(exc.retry_after_s, s.poll_seconds)
        else:
            delay = min(s.poll_seconds * 2 ** (self.device_failures - 1), s.device_backoff_max_s)
        self.device_retry_at = now + timedelta(seconds=delay)
        log.warning("device: %s; retry %d in %.0f s", exc, self.device_failures, delay)

    # -- planning -------------------------------------------------------------------------

    def replan(self, why: str) -> None:
        """Plan from the current slot and the measured SOC; keep the old plan if that fails."""
        now = self.clock.now()
        self.progress = replace(self.progress, planned_at=now)
        if self.reading is None or is_stale(self.reading, now, self.limits):
            log.warning("re-plan (%s) skipped: no fresh SOC reading", why)
            return
        soc = self.reading.soc_pct
        try:
            plan = make_plan(self.store, self.settings, now, soc, self.strategy, self.battery())
        except (InvalidInput, InfeasiblePlan, SolverError, StoreError) as exc:
            log.warning("re-plan (%s) failed: %s", why, exc)
            return
        timetable = plan.timetable
        if plan.pv is not None:
            self.pv_watch.note(plan.pv, now)
            if plan.pv.raw is not None and self.settings.pv.calibrate:
                record_raw(self.store, plan.problem.index, plan.pv.raw, now)
        plan_id = self._save_plan(plan, why, soc, now)
        self.slots = tuple(_planned(slot, now) for slot in timetable.slots)
        self.plan, self.plan_id = plan, plan_id
        self._chosen_for = timetable.slots[0].start  # chosen from the SOC just measured
        self.executed[timetable.slots[0].start] = timetable.slots[0]
        first = timetable.slots[0]
        cur = self.settings.planner.currency
        log.info("plan %s (%s): %d slots from SOC %g %% to %.0f %%, cost %.2f %s vs %.2f %s "
                 "idle, the SOC change worth %+.2f %s; now %s",
                 plan_id, why, len(timetable.slots), soc, timetable.slots[-1].soc_end_pct,
                 timetable.cost, cur, timetable.no_battery_cost, cur,
                 timetable.end_energy_value(self.settings.battery.capacity_kwh), cur,
                 first.command.describe())  # fmt: skip

    def _save_plan(self, plan: Plan, why: str, soc: float, now: datetime) -> int | None:
        """Store the new plan and supersede the old one; ``None`` when the store fails (the
        plan is followed all the same)."""
        inputs = {"why": why, "soc_pct": soc, "now": now.isoformat()}
        if plan.pv is not None:
            inputs |= plan.pv.summary()
        strategy = self.settings.service.strategy
        try:
            plan_id = self.store.save_plan(plan.timetable, strategy, inputs, now)
            if self.plan_id is not None:
                self.store.set_plan_status(self.plan_id, "superseded")
        except StoreError as exc:
            log.warning("re-plan (%s): the plan is in force but not stored (%s)", why, exc)
            return None
        return plan_id

    # -- acting ---------------------------------------------------------------------------

    def _choose_slot(self, now: datetime, start: datetime) -> None:
        """Once per slot, the plan's command for it from the measured SOC (the same call the
        backtest makes with its simulated SOC); the slot's planned band follows that choice."""
        if self.plan is None or self._chosen_for == start:
            return
        if self.reading is None or is_stale(self.reading, now, self.limits):
            return
        k = self.plan.slot_index(start)
        if k is None:
            return
        row = self.plan.choose(k, self.reading.soc_pct)
        self._chosen_for = start
        self.slots = tuple(
            _planned(row, max(start, self.reading.time)) if slot.start == start else slot
            for slot in self.slots
        )
        self.executed[start] = row

    def decision(self) -> Decision:
        """The pure decision for now."""
        now = self.clock.now()
        start = slot_start(now, self.settings.planner.slot_minutes)
        self._choose_slot(now, start)
        self._guard_reserve(now, start)
        if self._progress_slot != start:
            self._progress_slot = start
            self.progress = replace(self.progress, sends=0, accepted=None, accepted_at=None,
                                    confirmed=False)  # fmt: skip
        self._check_overdue(now, start)
        price = self.import_price(now, start)
        return decide(self.slots, self.reading, now, self.limits, self.progress, price)

    def _guard_reserve(self, now: datetime, start: datetime) -> None:
        """The in-slot reserve guard (``optimizer.planning.guard``), on the control path: while
        this slot's command is a mode whose device floor (the backup level) is below the
        reserve, a reading at or below the guard's threshold ends it until the next slot's
        decision: where the house draws more than the PV, a forced discharge at that power
        (5 % steps of ``inverter_rating_w``) whose target, the reserve, is its floor; at or
        below the reserve, or with no fresh reading, basic mode. With PV above the load the
        mode charges and runs on (the next reading checks again)."""
        battery = self.battery()
        threshold = battery.guard_pct
        slot = current_slot(self.slots, now)
        if threshold <= 0 or slot is None or slot.start != start:
            return
        if slot.command.command not in GUARDED_MODES:
            return
        reading = self.reading
        fresh = reading is not None and not is_stale(reading, now, self.limits)
        soc = reading.soc_pct if fresh and reading is not None else None
        guarded = guard_command(
            battery, soc, self.net_load_w, slot.command.duration_h,
            self.settings.device.discharge_command,
        )  # fmt: skip
        if guarded is None:
            return
        command, why = guarded
        log.warning(
            "reserve guard: %s (reserve %g %%, device backup level %g %%) under %s; %s until "
            "the next slot", why, battery.min_soc_pct, battery.backup_pct,
            slot.command.command, command.describe(),
        )  # fmt: skip
        hold = slot.soc_start_pct if soc is None else soc
        end_pct = battery.min_soc_pct if command.action is not None else hold
        origin = max(slot.start, reading.time if reading is not None else now)
        guard = PlannedSlot(slot.start, slot.end, command, hold, max(end_pct, 0.0), origin)
        self.slots = tuple(guard if s.start == slot.start else s for s in self.slots)

    def _check_overdue(self, now: datetime, start: datetime) -> None:
        """An accepted command the status has not shown for ``confirm_window_s`` (and
        ``confirm_real_s`` real seconds: the device lags in real time) is a read-back mismatch:
        counted once per command, logged once per slot. It is not sent again."""
        p, lim = self.progress, self.limits
        if p.accepted is None or p.confirmed or p.accepted_at is None:
            return
        if (now - p.accepted_at).total_seconds() < lim.confirm_window_s:
            return
        if self._accepted_real is None or self.real() - self._accepted_real < lim.confirm_real_s:
            return
        failures = p.readback_failures + 1
        self._accepted_real = None  # counted: not again for this command
        if self._mismatch_noted != start:
            self._mismatch_noted = start
            shown = (self.reading.mode or {}).get("command") if self.reading else None
            level = logging.ERROR if failures >= lim.max_readback_failures else logging.WARNING
            log.log(
                level,
                "READ-BACK MISMATCH (%d in a row): the device accepted %s at %s but its status "
                "still shows %s; not sent again in this slot (logged once per slot)",
                failures, p.accepted.body(), p.accepted_at.isoformat(), shown,
            )  # fmt: skip
        self.progress = replace(p, readback_failures=failures)

    def import_price(self, now: datetime, start: datetime) -> float | None:
        """The import price of the slot at ``now`` (currency/kWh): from the plan, else the
        store; ``None`` when unknown."""
        if self.plan is not None:
            k = self.plan.slot_index(start)
            if k is not None:
                return float(self.plan.problem.price_import[k])
        try:
            end = start + timedelta(minutes=self.settings.planner.slot_minutes)
            known = self.store.prices(self.settings.tariff.import_code(), start, end)
        except StoreError:
            return None
        return float(known.iloc[0]) if len(known) else None

    def act(self) -> None:
        """Decide and carry it out (re-plan at most once per call)."""
        decision = self.decision()
        if decision.verb is Verb.REPLAN:
            log.info("SOC drift: %s; re-planning", decision.reason)
            self.replan("SOC drift")
            decision = self.decision()
        if decision.verb is Verb.SEND and decision.command is not None:
            self._send(decision)
        else:
            log.debug("%s: %s", decision.verb, decision.reason)

    def _send(self, decision: Decision) -> None:
        """Send (or, dry run, log) ``decision.command`` and record it in the store."""
        command = decision.command
        assert command is not None
        now = self.clock.now()
        slot = current_slot(self.slots, now)
        if decision.fallback:
            log.warning("fail-safe: %s; fallback %s", decision.reason, command.command)
        if self.deps.dry_run:
            key = (slot.start if slot else None, command.body())
            if key != self._dry_logged:
                log.info("dry run: would send %s (%s)", command.body(), decision.reason)
                self._dry_logged = key
            return
        record = CommandRecord(
            now, command.body(), slot_start=slot.start if slot else None, plan_id=self.plan_id
        )
        record = self._deliver(command, record)
        self.outbox.put(record)

    def _deliver(self, command: Command, record: CommandRecord) -> CommandRecord:
        """Send ``command`` (confirmed later by the polls, never by blocking here); return
        ``record`` completed with the answer or the error."""
        self.progress = replace(self.progress, sends=self.progress.sends + 1)
        try:
            result = self.deps.device.send(command, confirm=False)
        except DeviceError as exc:
            self._device_failed(exc)
            return replace(record, ok=False, error=str(exc))
        except InvalidInput as exc:
            log.error("command refused before sending: %s", exc)
            return replace(record, ok=False, error=str(exc))
        response = result.accepted.model_dump(mode="json")
        echo = commands.differences(command, result.accepted.model_dump(mode="json", by_alias=True))
        self.progress = replace(self.progress, last_sent=command, last_sent_at=record.sent_at)
        if echo:
            log.warning("sent %s; the device's answer differs: %s", command.body(),
                        "; ".join(echo))  # fmt: skip
            error = "answer does not echo the command: " + "; ".join(echo)
            return replace(record, ok=False, response=response, error=error)
        self.progress = replace(self.progress, accepted=command, accepted_at=record.sent_at,
                                confirmed=False)  # fmt: skip
        self._accepted_real = self.real()
        self._accepted_id = result.accepted.id
        log.info("sent %s (accepted)", command.body())
        return replace(record, ok=True, response=response)
