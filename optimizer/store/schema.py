"""The history tables as the store reads and writes them (the head revision's shape).

Migrations under ``migrations/versions`` own the DDL; this module only describes the tables for
queries. Every timestamp column is ``UTCDateTime``: aware UTC in, aware UTC out, on SQLite too
(where it is stored as naive UTC text) and on PostgreSQL (``timestamptz``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from optimizer.errors import StoreError


def sqlite_text(moment: datetime) -> str:
    """The fixed-width UTC text SQLite stores for an aware ``moment``."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep="T", timespec="microseconds")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes; naive values are refused rather than guessed.

    On SQLite the value is stored as fixed-width UTC text ``YYYY-MM-DDTHH:MM:SS.ffffff`` (so
    text order is time order); on PostgreSQL as ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Plain text on SQLite (we format and parse it ourselves, fast), else ``timestamptz``."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | str | None:
        """Refuse naive values; convert to UTC (fixed-width UTC text on SQLite)."""
        if value is None:
            return None
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise StoreError(f"timestamp {value!r} has no time zone; the store keeps aware UTC")
        utc: datetime = value if value.tzinfo is UTC else value.astimezone(UTC)
        if dialect.name == "sqlite":
            return sqlite_text(utc)
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Always hand back an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):  # pragma: no cover - drivers return datetimes
            raise StoreError(f"stored timestamp {value!r} is not a datetime")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

prices = Table(
    "prices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("tariff", String(100), nullable=False),
    Column("slot_start", UTCDateTime, nullable=False),
    Column("slot_end", UTCDateTime, nullable=False),
    Column("price_per_kwh", Float, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=True),
    UniqueConstraint("tariff", "slot_start", "fetched_at", name="uq_prices_vintage"),
)

readings = Table(
    "readings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", UTCDateTime, nullable=False, unique=True),
    Column("soc_pct", Float, nullable=False),
    Column("battery_status", String(32), nullable=False),
    Column("mode", String(64), nullable=False),
    Column("grid_w", Float),
    Column("load_w", Float),
    Column("pv_w", Float),
    Column("battery_w", Float),
)

metrics = Table(
    "metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", UTCDateTime, nullable=False),
    Column("name", String(64), nullable=False),
    Column("value", Float),
    UniqueConstraint("time", "name", name="uq_metrics_time_name"),
)

energy = Table(
    "energy",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("slot_start", UTCDateTime, nullable=False),
    Column("slot_end", UTCDateTime, nullable=False),
    Column("kwh", Float, nullable=False),
    Column("source", String(200), nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    UniqueConstraint("kind", "slot_start", name="uq_energy_kind_slot"),
)

plans = Table(
    "plans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("cost", Float),
    Column("no_battery_cost", Float),
)

plan_slots = Table(
    "plan_slots",
    metadata,
    Column("plan_id", Integer, ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True),
    Column("slot_start", UTCDateTime, primary_key=True),
    Column("slot_end", UTCDateTime, nullable=False),
    Column("action", String(16), nullable=False),
    Column("charge_kw", Float, nullable=False),
    Column("discharge_kw", Float, nullable=False),
    Column("grid_import_kwh", Float, nullable=False),
    Column("grid_export_kwh", Float, nullable=False),
    Column("soc_start_pct", Float, nullable=False),
    Column("soc_end_pct", Float, nullable=False),
    Column("price_import_per_kwh", Float, nullable=False),
    Column("price_export_per_kwh", Float, nullable=False),
    Column("load_kwh", Float, nullable=False),
    Column("pv_kwh", Float, nullable=False),
    Column("command", JSON, nullable=False),
)

commands = Table(
    "commands",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("plan_id", Integer, ForeignKey("plans.id", ondelete="SET NULL")),
    Column("slot_start", UTCDateTime),
    Column("body", JSON, nullable=False),
    Column("response", JSON),
    Column("readback", JSON),
    Column("ok", Boolean),
    Column("error", Text),
)

daily_totals = Table(
    "daily_totals",
    metadata,
    Column("day", Date, primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("cost", Float, nullable=False),
    Column("no_battery_cost", Float, nullable=False),
    Column("savings", Float, nullable=False),
    Column("charged_kwh", Float, nullable=False),
    Column("discharged_kwh", Float, nullable=False),
    Column("import_kwh", Float, nullable=False),
    Column("export_kwh", Float, nullable=False),
    Column("hours_measured", Float, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

service_state = Table(
    "service_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

pv_forecasts = Table(
    "pv_forecasts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("issued_utc", UTCDateTime, nullable=False),
    Column("start_utc", UTCDateTime, nullable=False),
    Column("end_utc", UTCDateTime, nullable=False),
    Column("kwh", Float, nullable=False),
    Column("kwh_p10", Float, nullable=True),
    Column("kwh_p90", Float, nullable=True),
    UniqueConstraint("source", "issued_utc", "start_utc", name="uq_pv_forecasts_vintage"),
)
