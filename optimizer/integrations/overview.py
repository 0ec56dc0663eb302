"""The current plan and status as the store has them, for ``xstorage-optimizer show``.

Read-only: the latest reading, the last command sent, the plan in force (from the current slot
on), how far prices are known, the daily rows (today, yesterday, to date) and the optimiser
switch. The same document whether or not the service is running.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from optimizer.config import Settings
from optimizer.integrations.accounts import local_day
from optimizer.integrations.snapshot import action_label
from optimizer.integrations.switch import STATE_NAME
from optimizer.integrations.web.documents import day_json, iso
from optimizer.store import Store

RECENT = timedelta(hours=24)


def _reading(store: Store) -> dict[str, Any] | None:
    r = store.latest_reading()
    if r is None:
        return None
    return {"time": iso(r.time), "soc_pct": r.soc_pct, "mode": r.mode,
            "battery_status": r.battery_status, "grid_w": r.grid_w, "battery_w": r.battery_w,
            "load_w": r.load_w, "pv_w": r.pv_w}  # fmt: skip


def _plan(store: Store, now: datetime) -> dict[str, Any] | None:
    plan = store.latest_plan(status="active")
    if plan is None:
        return None
    frame = store.plan_slots(plan.id)
    ends = pd.DatetimeIndex(frame["slot_end"])
    ahead = frame[ends > pd.Timestamp(now)]
    slots = [
        {"start": iso(t.to_pydatetime()), "end": iso(pd.Timestamp(r["slot_end"]).to_pydatetime()),
         "action": r["action"], "label": action_label(r["command"]),
         "soc_start_pct": round(float(r["soc_start_pct"]), 2),
         "soc_end_pct": round(float(r["soc_end_pct"]), 2),
         "price_import_per_kwh": float(r["price_import_per_kwh"]),
         "price_export_per_kwh": float(r["price_export_per_kwh"]), "command": r["command"]}
        for t, r in zip(pd.DatetimeIndex(ahead.index), ahead.to_dict("records"), strict=True)
    ]  # fmt: skip
    return {"id": plan.id, "made_utc": iso(plan.created_at), "strategy": plan.strategy,
            "why": plan.inputs.get("why"), "cost": plan.cost,
            "no_battery_cost": plan.no_battery_cost, "slots": slots}  # fmt: skip


def overview(store: Store, settings: Settings, now: datetime) -> dict[str, Any]:
    """The ``show --json`` document (times ISO UTC, money in ``currency``)."""
    today = local_day(now, settings.planner.timezone)
    rows = {d.day: d for d in store.days()}
    sent = store.commands(now - RECENT, now + timedelta(seconds=1))
    last = sent[-1] if sent else None
    return {
        "now": iso(now), "currency": settings.planner.currency,
        "timezone": settings.planner.timezone,
        "optimiser_enabled": store.state(STATE_NAME) is not False,
        "reading": _reading(store),
        "last_command": None if last is None else {
            "sent_utc": iso(last.sent_at), "body": last.body, "ok": last.ok, "error": last.error,
        },
        "commands_24h": len(sent),
        "prices_until_utc": iso(store.price_coverage(settings.tariff.import_code())),
        "plan": _plan(store, now),
        "today": day_json(rows.get(today)),
        "yesterday": day_json(rows.get(today - timedelta(days=1))),
        "savings_to_date": round(sum(d.savings for d in rows.values()), 4),
    }  # fmt: skip
