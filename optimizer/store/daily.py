"""Rows of ``daily_totals`` (one per local day) and ``service_state`` (small named values).

Both are written whole, as upserts (``INSERT ... ON CONFLICT DO UPDATE``): a day's row is replaced
each time it is recomputed, a state value each time it changes, and two writers (or a restarted
service) writing the same key never conflict. Functions take an open connection; ``Store``
owns the transactions.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from optimizer.store.bulk import upsert_rows
from optimizer.store.records import DayTotals
from optimizer.store.schema import daily_totals, service_state

_DAY_FIELDS = [name for name in DayTotals.__slots__]


def save_day(conn: Connection, totals: DayTotals) -> None:
    """Replace the row of ``totals.day``."""
    upsert_rows(conn, daily_totals, [totals.row()], ("day",))


def days(conn: Connection, first: date | None, last: date | None) -> list[DayTotals]:
    """Rows with ``first <= day <= last`` (either bound optional), oldest first."""
    query = select(*[daily_totals.c[name] for name in _DAY_FIELDS]).order_by(daily_totals.c.day)
    if first is not None:
        query = query.where(daily_totals.c.day >= first)
    if last is not None:
        query = query.where(daily_totals.c.day <= last)
    return [DayTotals(**row._asdict()) for row in conn.execute(query).all()]


def set_state(conn: Connection, name: str, value: Any, at: datetime) -> None:
    """Store ``value`` (JSON-able) under ``name``."""
    upsert_rows(conn, service_state, [{"name": name, "value": value, "updated_at": at}], ("name",))


def get_state(conn: Connection, name: str) -> Any:
    """The value stored under ``name``, or ``None``."""
    query = select(service_state.c.value).where(service_state.c.name == name)
    return conn.execute(query).scalar()
