"""The service, observed from outside: a ``Service`` that publishes a ``Snapshot`` after every job.

``ObservedService`` subclasses ``Service`` and only wraps its public methods:

* ``jobs()``: each job runs as before, then ``publish()`` builds a snapshot from the service's
  public attributes and the store and hands it to every observer;
* ``replan(why)``: timed and counted by reason and result, and listed as a recent event;
* ``decision()``: while the "optimiser enabled" switch is off, the decision is the one for "no
  plan" (the fallback mode, kept when the device already runs it), so nothing is forced.

Every publishing step is wrapped: an error is logged once per step and never reaches the job,
so a broken page, broker or store read never stops a command the battery needs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial

import pandas as pd

from optimizer.integrations.accounts import update_days
from optimizer.integrations.snapshot import (
    Counters,
    Event,
    Observer,
    PvView,
    SlotView,
    Snapshot,
)
from optimizer.integrations.switch import OptimiserSwitch
from optimizer.service.core import Job, Service
from optimizer.service.decision import (
    Decision,
    PlannedSlot,
    current_slot,
    decide,
    is_stale,
    runs,
)
from optimizer.service.planner import slot_start
from optimizer.service.pvforecast import HISTORY
from optimizer.service.pvstats import pv_days, pv_error
from optimizer.service.wiring import Deps
from optimizer.store import DayTotals

log = logging.getLogger(__name__)

REFRESH = timedelta(seconds=60)  # store-derived parts (coverage, days) at most this often
DAYS_EVERY = timedelta(minutes=15)  # recompute today's row this often
EVENTS_KEPT = 30


class RecentEvents(logging.Handler):
    """Keeps the last warnings of the ``optimizer`` loggers, stamped by the service clock."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        super().__init__(logging.WARNING)
        self._clock = clock
        self.events: deque[Event] = deque(maxlen=EVENTS_KEPT)

    def emit(self, record: logging.LogRecord) -> None:
        """Keep ``record`` as an event."""
        self.add(record.levelname.lower(), record.getMessage())

    def add(self, level: str, message: str) -> None:
        """Keep one event now."""
        self.events.append(Event(self._clock(), level, message))


@dataclass
class _StoreParts:
    """What the snapshot reads from the store, as last refreshed."""

    prices_until: datetime | None = None
    today: DayTotals | None = None
    yesterday: DayTotals | None = None
    to_date: float = 0.0
    pv: PvView = field(default_factory=PvView)


def slot_views(frame: pd.DataFrame) -> tuple[SlotView, ...]:
    """``Store.plan_slots`` rows as ``SlotView``s."""
    starts = pd.DatetimeIndex(frame.index).to_pydatetime()
    ends = pd.DatetimeIndex(frame["slot_end"]).to_pydatetime()
    return tuple(
        SlotView(start, end, str(r["action"]), float(r["charge_kw"]), float(r["discharge_kw"]),
                 float(r["grid_import_kwh"]), float(r["grid_export_kwh"]),
                 float(r["soc_start_pct"]), float(r["soc_end_pct"]),
                 float(r["price_import_per_kwh"]), float(r["price_export_per_kwh"]),
                 dict(r["command"]))
        for start, end, r in zip(starts, ends, frame.to_dict("records"), strict=True)
    )  # fmt: skip


def mode_label(mode: object) -> str | None:
    """``COMMAND/ACTION`` of a device ``currentMode`` (as the store's readings label it)."""
    if not isinstance(mode, dict):
        return None
    params = mode.get("parameters")
    action = params.get("action") if isinstance(params, dict) else None
    return "/".join(str(x) for x in (mode.get("command"), action) if x) or None


class ObservedService(Service):
    """A ``Service`` that tells ``observers`` about every new ``Snapshot``."""

    def __init__(
        self, deps: Deps, observers: Sequence[Observer] = (), switch: OptimiserSwitch | None = None
    ) -> None:
        self.observers = list(observers)
        self.switch = switch or OptimiserSwitch(deps.store)
        self.events = RecentEvents(deps.clock.now)
        self.counters = Counters()
        self.latest: Snapshot | None = None
        self.web_url: str | None = None
        self._decision: Decision | None = None
        self._failed: set[str] = set()
        self._lock = threading.Lock()
        self._cursor = deps.clock.now()
        self._readback_seen = 0
        self._refreshed: datetime | None = None
        self._days_at: datetime | None = None
        self._parts = _StoreParts()
        self._plan_cache: tuple[int | None, tuple[SlotView, ...]] = (None, ())
        super().__init__(deps)
        logging.getLogger("optimizer").addHandler(self.events)
        self.switch.listen(lambda on: self._safely("switch", self.publish))

    def close(self) -> None:
        """Stop collecting log events."""
        logging.getLogger("optimizer").removeHandler(self.events)

    # -- the service's public methods, wrapped --------------------------------------------

    def jobs(self) -> list[Job]:
        """The service's jobs, each followed by ``publish()``."""
        return [Job(job.name, self._then_publish(job.run), job.next_due) for job in super().jobs()]

    def _then_publish(self, run: Callable[[], object]) -> Callable[[], object]:
        def wrapped() -> object:
            try:
                return run()
            finally:
                self._safely("publish", self.publish)

        return wrapped

    def replan(self, why: str) -> None:
        """``Service.replan``, timed and counted (``made`` when a new plan is in force)."""
        before = self.plan_id
        started = time.perf_counter()
        super().replan(why)
        seconds = time.perf_counter() - started
        self._safely("count re-plan", lambda: self._count_replan(why, before, seconds))

    def _count_replan(self, why: str, before: int | None, seconds: float) -> None:
        made = self.plan_id != before
        key = (why, "made" if made else "failed")
        c = self.counters
        replans = {**c.replans, key: c.replans.get(key, 0) + 1}
        solve = c.solve.add(seconds) if made else c.solve
        self.counters = replace(c, replans=replans, solve=solve)
        if made:
            self.events.add("info", f"new plan {self.plan_id} ({why}), made in {seconds:.2f} s")

    def decision(self) -> Decision:
        """``Service.decision``, or while switched off the fallback (nothing forced)."""
        decision = super().decision()
        if not self.switch.enabled:
            now = self.clock.now()
            price = self.import_price(now, slot_start(now, self.settings.planner.slot_minutes))
            off = decide((), self.reading, now, self.limits, self.progress, price)
            decision = replace(off, reason="optimiser switched off")
        self._decision = decision
        return decision

    # -- publishing -----------------------------------------------------------------------

    def _safely(self, what: str, step: Callable[[], object]) -> None:
        try:
            step()
        except Exception:
            if what not in self._failed:
                self._failed.add(what)
                log.exception("views: %s failed (logged once; the service carries on)", what)

    def publish(self) -> None:
        """Build a snapshot and hand it to every observer."""
        with self._lock:
            self._safely("count commands", self._count_commands)
            self._safely("store reads", self._refresh_store_parts)
            snapshot = self.snapshot()
            self.latest = snapshot
        for observer in self.observers:
            self._safely(f"observer {type(observer).__name__}", partial(observer.update, snapshot))

    def _count_commands(self) -> None:
        """Commands stored since the last call, by kind and result; read-back mismatches from
        the service's own count (consecutive, reset when a command is confirmed)."""
        c = self.counters
        failures = self.progress.readback_failures
        mismatches = c.readback_mismatches + max(0, failures - self._readback_seen)
        self._readback_seen = failures
        now = self.clock.now()
        sent = self.store.commands(self._cursor, now + timedelta(seconds=1))
        commands = dict(c.commands)
        if sent:
            self._cursor = sent[-1].sent_at + timedelta(microseconds=1)
        for record in sent:
            key = (_kind(record.body), "ok" if record.ok else "error")
            commands[key] = commands.get(key, 0) + 1
        self.counters = replace(c, commands=commands, readback_mismatches=mismatches)

    def _refresh_store_parts(self) -> None:
        now = self.clock.now()
        if self._plan_cache[0] != self.plan_id:
            frame = self.store.plan_slots(self.plan_id) if self.plan_id is not None else None
            self._plan_cache = (self.plan_id, slot_views(frame) if frame is not None else ())
        if self._refreshed is not None and now - self._refreshed < REFRESH:
            return
        self._refreshed = now
        parts = self._parts
        parts.prices_until = self.store.price_coverage(self.settings.tariff.import_code())
        if self._days_at is None or now - self._days_at >= DAYS_EVERY:
            self._days_at = now
            parts.today, parts.yesterday = update_days(self.store, self.settings, now)
            parts.to_date = sum(day.savings for day in self.store.days())
            self._safely("PV forecast view", lambda: self._refresh_pv(now))

    def _refresh_pv(self, now: datetime) -> None:
        """Today's and tomorrow's PV forecast, its recent error, the source in use."""
        plan = self.plan
        source = str(plan.pv.summary()["pv_source"]) if plan and plan.pv else HISTORY
        today, tomorrow = pv_days(self.store, self.settings, now)
        configured = self.settings.pv.forecast
        self._parts.pv = PvView(source, configured, today, tomorrow, pv_error(self.store, now))

    def snapshot(self) -> Snapshot:
        """The service as of now (store-derived parts as last refreshed)."""
        now = self.clock.now()
        reading = self.reading
        progress = self.progress
        slot = current_slot(self.slots, now)
        parts = self._parts
        sent = progress.last_sent
        confirmed = sent is not None and runs(reading, sent)
        return Snapshot(
            time=now, currency=self.settings.planner.currency,
            timezone=self.settings.planner.timezone, enabled=self.switch.enabled,
            soc_pct=reading.soc_pct if reading else None,
            planned_soc_pct=_planned_soc(slot, now) if slot else None,
            mode=mode_label(reading.mode) if reading else None,
            command=sent.body() if sent else None, command_sent_at=progress.last_sent_at,
            command_confirmed=confirmed, wanted=slot.command.body() if slot else None,
            device_reachable=self.device_failures == 0 and reading is not None,
            last_reading_utc=reading.time if reading else None,
            prices_until_utc=parts.prices_until,
            plan_id=self.plan_id, plan_made_utc=progress.planned_at,
            plan_status=self._plan_status(slot is not None), slots=self._plan_cache[1],
            health=self._health(now, slot is not None),
            today=parts.today, yesterday=parts.yesterday, savings_to_date=parts.to_date,
            events=tuple(self.events.events), counters=self.counters, pv=parts.pv,
        )  # fmt: skip

    def _plan_status(self, has_slot: bool) -> str:
        if not self.switch.enabled:
            return "switched off"
        if not has_slot:
            return "no plan"
        if self._decision is not None and self._decision.fallback:
            return "fallback"
        return "active"

    def _health(self, now: datetime, has_slot: bool) -> str | None:
        """``None`` while in control, else why not."""
        if not self.switch.enabled:
            return "optimiser switched off"
        if not has_slot:
            return "no plan for now"
        if self.device_failures:
            return f"device unreachable ({self.device_failures} failed reads)"
        if is_stale(self.reading, now, self.limits):
            return "SOC readings are stale"
        if self._decision is not None and self._decision.fallback:
            return f"fallback: {self._decision.reason}"
        return None


def _kind(body: dict[str, object]) -> str:
    params = body.get("parameters")
    action = params.get("action") if isinstance(params, dict) else None
    if action in ("ACTION_CHARGE", "ACTION_DISCHARGE"):
        return str(action).removeprefix("ACTION_").lower()
    return str(body.get("command"))


def _planned_soc(slot: PlannedSlot, now: datetime) -> float:
    """The planned SOC at ``now``: the straight line from the slot's planned start to its end."""
    origin = slot.path_start or slot.start
    length = (slot.end - slot.start).total_seconds()
    done = min(1.0, max(0.0, (now - origin).total_seconds() / length)) if length > 0 else 1.0
    return slot.soc_start_pct + (slot.soc_end_pct - slot.soc_start_pct) * done
