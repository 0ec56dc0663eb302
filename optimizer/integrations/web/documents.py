"""The JSON documents the page and other programs read: pure functions of a ``Snapshot`` and,
for the chart's past 24 hours, the store.

Times are ISO-8601 UTC with ``Z``; SOC %, prices currency units per kWh, money currency units.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from optimizer.config import Settings
from optimizer.integrations.snapshot import SlotView, Snapshot, action_label
from optimizer.store import DayTotals, Store

PAST = timedelta(hours=24)
MAX_PLANS_BACK = 60


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with ``Z`` (``None`` stays ``None``)."""
    if moment is None:
        return None
    return pd.Timestamp(moment).tz_convert("UTC").isoformat().replace("+00:00", "Z")


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def day_json(day: DayTotals | None) -> dict[str, Any] | None:
    """One daily row: money, energy and the hours of readings behind it."""
    if day is None:
        return None
    return {
        "day": day.day.isoformat(), "cost": _r(day.cost),
        "no_battery_cost": _r(day.no_battery_cost), "savings": _r(day.savings),
        "charged_kwh": _r(day.charged_kwh, 3),
        "discharged_kwh": _r(day.discharged_kwh, 3), "import_kwh": _r(day.import_kwh, 3),
        "export_kwh": _r(day.export_kwh, 3), "hours_measured": _r(day.hours_measured, 2),
    }  # fmt: skip


def slot_json(s: SlotView) -> dict[str, Any]:
    """A plan slot with the fields of ``plan --json``."""
    return {
        "start": iso(s.start), "end": iso(s.end), "action": s.action,
        "charge_kw": _r(s.charge_kw), "discharge_kw": _r(s.discharge_kw),
        "grid_import_kwh": _r(s.grid_import_kwh), "grid_export_kwh": _r(s.grid_export_kwh),
        "soc_start_pct": _r(s.soc_start_pct, 2), "soc_end_pct": _r(s.soc_end_pct, 2),
        "price_import_per_kwh": s.price_import_per_kwh,
        "price_export_per_kwh": s.price_export_per_kwh, "command": dict(s.command),
    }  # fmt: skip


def status_json(snap: Snapshot) -> dict[str, Any]:
    """``GET /api/status``."""
    slot = snap.slot_at()
    nxt = snap.next_change()
    today = snap.today
    return {
        "time": iso(snap.time), "currency": snap.currency, "timezone": snap.timezone,
        "soc_pct": _r(snap.soc_pct, 2), "planned_soc_pct": _r(snap.planned_soc_pct, 2),
        "mode": snap.mode, "command": dict(snap.command) if snap.command else None,
        "command_sent_utc": iso(snap.command_sent_at),
        "command_confirmed": snap.command_confirmed,
        "wanted": dict(snap.wanted) if snap.wanted else None,
        "action_now": action_label(snap.command if snap.plan_status != "active" else snap.wanted),
        "next_action": action_label(nxt.command) if nxt else None,
        "next_action_start_utc": iso(nxt.start) if nxt else None,
        "device_reachable": snap.device_reachable,
        "last_reading_utc": iso(snap.last_reading_utc),
        "prices_until_utc": iso(snap.prices_until_utc),
        "import_price_now": slot.price_import_per_kwh if slot else None,
        "export_price_now": slot.price_export_per_kwh if slot else None,
        "cost_today": _r(today.cost) if today else None,
        "no_battery_cost_today": _r(today.no_battery_cost) if today else None,
        "savings_today": _r(today.savings) if today else None,
        "today": day_json(today), "yesterday": day_json(snap.yesterday),
        "savings_to_date": _r(snap.savings_to_date),
        "pv_source": snap.pv.source, "pv_forecast_today_kwh": _r(snap.pv.today_kwh, 3),
        "pv_forecast_tomorrow_kwh": _r(snap.pv.tomorrow_kwh, 3),
        "optimiser_enabled": snap.enabled, "plan_id": snap.plan_id,
        "plan_made_utc": iso(snap.plan_made_utc), "plan_status": snap.plan_status,
        "in_control": snap.health is None, "health": snap.health or "ok",
        "events": [{"time": iso(e.time), "level": e.level, "message": e.message}
                   for e in reversed(snap.events)],
    }  # fmt: skip


def plan_json(snap: Snapshot) -> dict[str, Any]:
    """``GET /api/plan``: the plan in force, its slots as ``plan --json`` has them."""
    return {
        "plan_id": snap.plan_id, "made_utc": iso(snap.plan_made_utc),
        "status": snap.plan_status, "currency": snap.currency,
        "slots": [slot_json(s) for s in snap.slots],
    }  # fmt: skip


def health(snap: Snapshot | None) -> tuple[int, dict[str, Any]]:
    """``GET /healthz``: 200 while the service is in control, else 503 and the reason."""
    if snap is None:
        return 503, {"status": "unavailable", "reason": "the service has not started yet"}
    if snap.health is None:
        return 200, {"status": "ok", "plan_id": snap.plan_id, "time": iso(snap.time)}
    return 503, {"status": "unavailable", "reason": snap.health, "time": iso(snap.time)}


def _window_plans(
    store: Store, snap: Snapshot, since: datetime, cache: dict[int, pd.DataFrame]
) -> list[pd.DataFrame]:
    """The stored plans, newest first, that hold a slot ending after ``since``. ``cache``
    keeps the plans read, and only those still in the window (older ones are never read again:
    the window only moves on), so it stays bounded however long the page is watched."""
    frames: list[pd.DataFrame] = []
    top = snap.plan_id or 0
    oldest = top
    for plan_id in range(top, max(0, top - MAX_PLANS_BACK), -1):
        oldest = plan_id
        if plan_id not in cache:
            cache[plan_id] = store.plan_slots(plan_id)
        frame = cache[plan_id]
        if frame.empty:
            continue
        if pd.Timestamp(frame["slot_end"].iloc[-1]) <= since:
            break
        frames.append(frame)
    for stale in [plan_id for plan_id in cache if plan_id < oldest]:
        del cache[stale]
    return frames


def _planned_past(
    frames: list[pd.DataFrame], since: datetime, now: datetime
) -> list[dict[str, Any]]:
    """Per past slot, the planned SOC at its end by the newest plan that held it."""
    rows: dict[pd.Timestamp, float] = {}
    for frame in frames:
        ends = pd.DatetimeIndex(frame["slot_end"])
        for end, soc in zip(ends, frame["soc_end_pct"], strict=True):
            if since < end <= now and end not in rows:
                rows[end] = float(soc)
    return [
        {"time": iso(t.to_pydatetime()), "soc_pct": round(v, 2)} for t, v in sorted(rows.items())
    ]


def _believed(
    store: Store, frames: list[pd.DataFrame], since: datetime, kind: str
) -> list[dict[str, Any]]:
    """Per slot from ``since`` to the plan's end: the ``kind`` (``load`` or ``pv``) forecast
    (kWh) as the newest plan that held the slot believed it (the plan in force for future slots;
    the service plans at slot starts), and the measured energy (``None`` until measured; PV as
    the device measured it, from its metrics)."""
    believed: dict[pd.Timestamp, tuple[pd.Timestamp, float]] = {}
    for frame in frames:
        ends = pd.DatetimeIndex(frame["slot_end"])
        starts = pd.DatetimeIndex(frame.index)
        for start, end, kwh in zip(starts, ends, frame[f"{kind}_kwh"], strict=True):
            if end > since and start not in believed:
                believed[start] = (end, float(kwh))
    if not believed:
        return []
    first, last = min(believed), max(believed)
    until = last.to_pydatetime() + timedelta(seconds=1)
    measured = store.load_series(kind, first.to_pydatetime(), until)
    out = []
    for start in sorted(believed):
        end, kwh = believed[start]
        actual = measured.get(start)
        measured_kwh = None if actual is None else round(float(actual), 4)
        out.append({"start": iso(start.to_pydatetime()), "end": iso(end.to_pydatetime()),
                    "forecast_kwh": round(kwh, 4), "measured_kwh": measured_kwh})  # fmt: skip
    return out


def _measured(store: Store, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Measured SOC, the last reading of every 5 minutes."""
    frame = store.readings(since, until + timedelta(seconds=1))
    if frame.empty:
        return []
    soc = frame["soc_pct"].resample("5min").last().dropna()
    times = pd.DatetimeIndex(soc.index).to_pydatetime()
    return [
        {"time": iso(t), "soc_pct": round(float(v), 2)} for t, v in zip(times, soc, strict=True)
    ]


def _prices(
    store: Store, settings: Settings, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    tariff = settings.tariff
    imports = store.prices(tariff.import_code(), since, until)
    exports = store.prices(tariff.export_code(), since, until) if tariff.export_code() else None
    step = timedelta(minutes=settings.planner.slot_minutes)
    out = []
    aligned = exports.reindex(imports.index) if exports is not None else None
    starts = pd.DatetimeIndex(imports.index).to_pydatetime()
    for k, (start, price) in enumerate(zip(starts, imports, strict=True)):
        export = None if aligned is None or pd.isna(aligned.iloc[k]) else float(aligned.iloc[k])
        out.append({"start": iso(start), "end": iso(start + step), "import": price,
                    "export": export})  # fmt: skip
    return out


def _commands(store: Store, since: datetime, until: datetime) -> list[dict[str, Any]]:
    return [
        {"time": iso(c.sent_at), "action": action_label(c.body), "ok": bool(c.ok),
         "command": c.body.get("command")}
        for c in store.commands(since, until + timedelta(seconds=1))
    ]  # fmt: skip


def chart_json(
    store: Store, settings: Settings, snap: Snapshot, cache: dict[int, pd.DataFrame]
) -> dict[str, Any]:
    """``GET /api/chart``: prices, measured and planned SOC, the commands, and load and PV
    (forecast as planned, measured), from 24 h ago to the end of the plan (``cache``: plan
    slots by plan id, kept between calls)."""
    since = snap.time - PAST
    until = max([s.end for s in snap.slots] + [snap.time])
    frames = _window_plans(store, snap, since, cache)
    planned = [{"start": iso(s.start), "end": iso(s.end), "action": s.action,
                "soc_start_pct": round(s.soc_start_pct, 2), "soc_end_pct": round(s.soc_end_pct, 2),
                "label": action_label(s.command)} for s in snap.slots]  # fmt: skip
    return {
        "now": iso(snap.time), "from": iso(since), "to": iso(until), "currency": snap.currency,
        "timezone": snap.timezone, "prices": _prices(store, settings, since, until),
        "measured_soc": _measured(store, since, snap.time),
        "planned_past_soc": _planned_past(frames, since, snap.time),
        "load": _believed(store, frames, since, "load"),
        "pv": _believed(store, frames, since, "pv"),
        "plan": planned, "commands": _commands(store, since, snap.time),
    }  # fmt: skip


def as_mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}
