"""Fast column-wise batch inserts (used for price and energy batches of ~10⁵ rows).

On SQLite the timestamps are formatted in one vectorised step to exactly the text
``UTCDateTime`` writes (``YYYY-MM-DDTHH:MM:SS.ffffff``, UTC) and the rows go through one
``executemany``; elsewhere the rows go through SQLAlchemy Core. Either way the caller's
transaction holds the whole batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table

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


def insert_columns(conn: Connection, table: Table, columns: Mapping[str, Any], rows: int) -> None:
    """Insert ``rows`` rows given column-wise: a ``DatetimeIndex`` (aware), an ndarray, or one
    value repeated. Column names must be ``table``'s."""
    if rows == 0:
        return
    unknown = [name for name in columns if name not in table.c]
    if unknown:
        raise StoreError(f"table {table.name}: no column(s) {', '.join(unknown)}")
    names = list(columns)
    if conn.dialect.name != "sqlite":
        data = [_python_column(columns[n], n, rows) for n in names]
        insert_rows(
            conn, table, [dict(zip(names, row, strict=True)) for row in zip(*data, strict=True)]
        )
        return
    data = [_sqlite_column(columns[n], n, rows) for n in names]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    tuples = list(zip(*data, strict=True))
    for lo in range(0, rows, CHUNK_ROWS):
        conn.exec_driver_sql(sql, tuples[lo : lo + CHUNK_ROWS])
