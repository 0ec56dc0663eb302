"""Fast column-wise batch inserts (used for price and energy batches of ~10⁵ rows) and upserts.

On SQLite the timestamps are formatted in one vectorised step to exactly the text
``UTCDateTime`` writes (``YYYY-MM-DDTHH:MM:SS.ffffff``, UTC) and the rows go through one
``executemany``; elsewhere the rows go through SQLAlchemy Core. Either way the caller's
transaction holds the whole batch.

``upsert_rows`` and ``insert_columns(..., key=...)`` write a row whose key is already stored
over the stored one (``INSERT ... ON CONFLICT (key) DO UPDATE``, SQLite ≥ 3.24 and PostgreSQL),
so writing the same batch twice (a restarted service re-importing what it stored before it
stopped) leaves one row per key and raises nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from optimizer.errors import StoreError
from optimizer.store.schema import sqlite_text

CHUNK_ROWS = 5000


def _utc_index(values: pd.DatetimeIndex, name: str) -> pd.DatetimeIndex:
    if values.tz is None:
        raise StoreError(f"column {name}: timestamps have no time zone; give UTC")
    return values.tz_convert("UTC")


def _sqlite_column(values: Any, name: str, rows: int) -> list[Any]:
    if isinstance(values, pd.DatetimeIndex):
        naive = _utc_index(values, name).tz_localize(None).as_unit("us").to_numpy()
        return list(np.datetime_as_string(naive, unit="us").tolist())
    if isinstance(values, datetime):
        return [sqlite_text(values)] * rows
    if isinstance(values, np.ndarray):
        return list(values.tolist())
    return [values] * rows


def _python_column(values: Any, name: str, rows: int) -> list[Any]:
    if isinstance(values, pd.DatetimeIndex):
        return list(_utc_index(values, name).to_pydatetime())
    if isinstance(values, np.ndarray):
        return list(values.tolist())
    return [values] * rows


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts) through SQLAlchemy Core in chunks."""
    for lo in range(0, len(rows), CHUNK_ROWS):
        conn.execute(table.insert(), list(rows[lo : lo + CHUNK_ROWS]))


def upsert_rows(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str]
) -> None:
    """Insert ``rows`` (dicts with the same columns); a row whose ``key`` columns match a
    stored row replaces that row's other given columns. Raises ``StoreError`` on a dialect
    without ``ON CONFLICT`` (only SQLite and PostgreSQL are supported)."""
    if not rows:
        return
    statement = _upsert(conn, table, list(rows[0]), key)
    for lo in range(0, len(rows), CHUNK_ROWS):
        conn.execute(statement, list(rows[lo : lo + CHUNK_ROWS]))


def _upsert(conn: Connection, table: Table, names: Sequence[str], key: Sequence[str]) -> Any:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        insert: Any = sqlite.insert(table)
    elif dialect == "postgresql":
        insert = postgresql.insert(table)
    else:  # pragma: no cover - make_engine accepts only these two
        raise StoreError(f"table {table.name}: upsert not supported on {dialect}")
    update = {n: insert.excluded[n] for n in names if n not in key}
    if not update:
        return insert.on_conflict_do_nothing(index_elements=list(key))
    return insert.on_conflict_do_update(index_elements=list(key), set_=update)


def _on_conflict_sql(names: Sequence[str], key: Sequence[str]) -> str:
    update = [n for n in names if n not in key]
    if not update:
        return f" ON CONFLICT ({', '.join(key)}) DO NOTHING"
    sets = ", ".join(f"{n} = excluded.{n}" for n in update)
    return f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"


def insert_columns(
    conn: Connection,
    table: Table,
    columns: Mapping[str, Any],
    rows: int,
    key: Sequence[str] | None = None,
) -> None:
    """Insert ``rows`` rows given column-wise: a ``DatetimeIndex`` (aware), an ndarray, or one
    value repeated. Column names must be ``table``'s. With ``key`` (the columns of a unique
    constraint) a row whose key is stored replaces the stored row (an upsert)."""
    if rows == 0:
        return
    unknown = [name for name in columns if name not in table.c]
    if unknown:
        raise StoreError(f"table {table.name}: no column(s) {', '.join(unknown)}")
    names = list(columns)
    if conn.dialect.name != "sqlite":
        data = [_python_column(columns[n], n, rows) for n in names]
        dicts = [dict(zip(names, row, strict=True)) for row in zip(*data, strict=True)]
        if key:
            upsert_rows(conn, table, dicts, key)
        else:
            insert_rows(conn, table, dicts)
        return
    data = [_sqlite_column(columns[n], n, rows) for n in names]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    if key:
        sql += _on_conflict_sql(names, key)
    tuples = list(zip(*data, strict=True))
    for lo in range(0, rows, CHUNK_ROWS):
        conn.exec_driver_sql(sql, tuples[lo : lo + CHUNK_ROWS])
