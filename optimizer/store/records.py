"""Device readings, 5-minute metrics, plans with their slots and commands: rows ↔ values."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from optimizer.domain import PlanSlot, Timetable
from optimizer.errors import StoreError
from optimizer.store.schema import plan_slots, plans


@dataclass(frozen=True, slots=True)
class Reading:
    """One poll of the device: UTC ``time``, SOC in %, powers in W (magnitudes as the device
    reports them; ``grid_w`` positive when importing, negative when exporting)."""

    time: datetime
    soc_pct: float
    battery_status: str
    mode: str
    grid_w: float | None = None
    load_w: float | None = None
    pv_w: float | None = None
    battery_w: float | None = None

    def row(self) -> dict[str, Any]:
        """The ``readings`` row."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class StoredPlan:
    """A plan as stored: its id, when it was made, by which strategy, its status and inputs."""

    id: int
    created_at: datetime
    strategy: str
    status: str
    inputs: dict[str, Any]
    cost: float | None
    no_battery_cost: float | None


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """One command sent to the device and what came back (JSON-able bodies)."""

    sent_at: datetime
    body: dict[str, Any]
    response: Any = None
    readback: Any = None
    ok: bool | None = None
    error: str | None = None
    slot_start: datetime | None = None
    plan_id: int | None = None

    def row(self) -> dict[str, Any]:
        """The ``commands`` row."""
        return asdict(self)


def plan_row(
    timetable: Timetable, strategy: str, inputs: dict[str, Any], created_at: datetime, status: str
) -> dict[str, Any]:
    """The ``plans`` row for ``timetable``."""
    return {
        "created_at": created_at,
        "strategy": strategy,
        "status": status,
        "inputs": inputs,
        "cost": timetable.cost,
        "no_battery_cost": timetable.no_battery_cost,
    }


def slot_row(plan_id: int, slot: PlanSlot) -> dict[str, Any]:
    """One ``plan_slots`` row."""
    return {
        "plan_id": plan_id,
        "slot_start": slot.start,
        "slot_end": slot.end,
        "action": str(slot.action),
        "charge_kw": slot.charge_kw,
        "discharge_kw": slot.discharge_kw,
        "grid_import_kwh": slot.grid_import_kwh,
        "grid_export_kwh": slot.grid_export_kwh,
        "soc_start_pct": slot.soc_start_pct,
        "soc_end_pct": slot.soc_end_pct,
        "price_import_per_kwh": slot.price_import_per_kwh,
        "price_export_per_kwh": slot.price_export_per_kwh,
        "load_kwh": slot.load_kwh,
        "pv_kwh": slot.pv_kwh,
        "command": slot.command.body(),
    }


@dataclass(frozen=True, slots=True)
class DayTotals:
    """One local day as measured: money in ``currency`` units (``cost`` is import cost minus
    export revenue, ``no_battery_cost`` the same house with the battery idle), energy in kWh,
    and how many hours of readings it rests on (less than 24 while the day runs)."""

    day: date
    currency: str
    cost: float
    no_battery_cost: float
    charged_kwh: float
    discharged_kwh: float
    import_kwh: float
    export_kwh: float
    hours_measured: float
    updated_at: datetime

    @property
    def savings(self) -> float:
        """``no_battery_cost - cost``."""
        return self.no_battery_cost - self.cost

    def row(self) -> dict[str, Any]:
        """The ``daily_totals`` row (``savings`` stored too, for plain-SQL readers)."""
        return {**asdict(self), "savings": self.savings}


def planned_query(column: str, start: datetime, end: datetime, made_since: datetime) -> Any:
    """Select ``(slot_start, column)`` from the newest plan made since ``made_since`` holding
    each slot that starts in ``[start, end)``, ordered by slot start."""
    if column not in plan_slots.c or column in ("plan_id", "command", "action"):
        raise StoreError(f"plan_slots has no numeric column {column!r}")
    rank = func.row_number().over(
        partition_by=plan_slots.c.slot_start,
        order_by=(plans.c.created_at.desc(), plans.c.id.desc()),
    )
    inner = (
        select(plan_slots.c.slot_start, plan_slots.c[column].label("value"), rank.label("rank"))
        .join(plans, plans.c.id == plan_slots.c.plan_id)
        .where(plan_slots.c.slot_start >= start, plan_slots.c.slot_start < end)
        .where(plans.c.created_at >= made_since)
        .subquery()
    )
    return (
        select(inner.c.slot_start, inner.c.value)
        .where(inner.c.rank == 1)
        .order_by(inner.c.slot_start)
    )
