"""PV forecast vintages: the idempotent write and the window read behind ``Store``.

A vintage is one forecast as its source issued it (``optimizer.weather.model.PvForecast``):
stored once, never changed. Writing the same vintage again (a restart re-storing what it
fetched, two processes racing) is a no-op row by row: ``INSERT ... ON CONFLICT DO NOTHING`` on
the unique ``(source, issued_utc, start_utc)``, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from optimizer.errors import StoreError
from optimizer.store.bulk import CHUNK_ROWS
from optimizer.store.schema import pv_forecasts
from optimizer.weather.model import ARCHIVE_COLUMNS, QUANTILE_COLUMNS, PvForecast

COLUMNS = (*ARCHIVE_COLUMNS, *QUANTILE_COLUMNS)
#: Window reads assume no stored interval is longer (sources give 5 minutes to 1 hour).
LONGEST_INTERVAL = timedelta(days=1)


def _optional(values: pd.Series | None, rows: int) -> list[float | None]:
    if values is None:
        return [None] * rows
    return [None if not np.isfinite(v) else float(v) for v in values.to_numpy(np.float64)]


def vintage_rows(forecast: PvForecast) -> list[dict[str, Any]]:
    """The ``pv_forecasts`` rows of one vintage (aware UTC datetimes, kWh floats)."""
    frame = forecast.frame
    rows = len(frame)
    starts = pd.DatetimeIndex(frame["start_utc"]).tz_convert("UTC").to_pydatetime()
    ends = pd.DatetimeIndex(frame["end_utc"]).tz_convert("UTC").to_pydatetime()
    kwh = frame["kwh"].to_numpy(np.float64)
    p10 = _optional(frame["kwh_p10"] if "kwh_p10" in frame.columns else None, rows)
    p90 = _optional(frame["kwh_p90"] if "kwh_p90" in frame.columns else None, rows)
    return [
        {"source": forecast.source, "issued_utc": forecast.issued_utc, "start_utc": s,
         "end_utc": e, "kwh": float(k), "kwh_p10": lo, "kwh_p90": hi}
        for s, e, k, lo, hi in zip(starts, ends, kwh, p10, p90, strict=True)
    ]  # fmt: skip


def save_vintage(conn: Connection, forecast: PvForecast) -> int:
    """Insert ``forecast``'s rows that are not stored yet; returns how many were new."""
    if len(forecast.source) > 32:
        raise StoreError(f"PV forecast source {forecast.source[:40]!r}: longer than 32 characters")
    dialect = conn.dialect.name
    insert: Any
    if dialect == "sqlite":
        insert = sqlite.insert(pv_forecasts)
    elif dialect == "postgresql":
        insert = postgresql.insert(pv_forecasts)
    else:  # pragma: no cover - the store opens SQLite or PostgreSQL only
        raise StoreError(f"PV forecasts: no upsert for the {dialect} database")
    statement = insert.on_conflict_do_nothing(index_elements=["source", "issued_utc", "start_utc"])
    rows = vintage_rows(forecast)
    if not rows:
        return 0
    before = _count(conn, forecast)
    for lo in range(0, len(rows), CHUNK_ROWS):
        conn.execute(statement, rows[lo : lo + CHUNK_ROWS])
    return _count(conn, forecast) - before


def _count(conn: Connection, forecast: PvForecast) -> int:
    """Rows of this vintage already stored."""
    query = select(func.count()).where(
        pv_forecasts.c.source == forecast.source, pv_forecasts.c.issued_utc == forecast.issued_utc
    )
    return int(conn.execute(query).scalar_one())


def window_query(
    start: datetime,
    end: datetime,
    source: str | None,
    issued_from: datetime | None,
    issued_to: datetime | None,
) -> Any:
    """Rows whose interval (at most ``LONGEST_INTERVAL`` long) overlaps ``[start, end)``,
    issued in ``[issued_from, issued_to]`` (either bound optional), oldest vintage first, then
    by interval start."""
    t = pv_forecasts
    # The lower bound on start_utc lets the (source, start_utc) index bound the scan: no
    # forecast interval is longer than ``LONGEST_INTERVAL``.
    conditions = [
        t.c.end_utc > start, t.c.start_utc < end, t.c.start_utc > start - LONGEST_INTERVAL,
    ]  # fmt: skip
    if source is not None:
        conditions.append(t.c.source == source)
    if issued_from is not None:
        conditions.append(t.c.issued_utc >= issued_from)
    if issued_to is not None:
        conditions.append(t.c.issued_utc <= issued_to)
    columns = [t.c.issued_utc, t.c.start_utc, t.c.end_utc, t.c.kwh, t.c.kwh_p10, t.c.kwh_p90]
    return select(*columns, t.c.source).where(*conditions).order_by(t.c.issued_utc, t.c.start_utc)


def archive_frame(rows: list[Any]) -> pd.DataFrame:
    """Query rows → the archive frame: ``issued_utc,start_utc,end_utc,kwh`` (UTC-aware), plus
    ``kwh_p10``/``kwh_p90`` when every row has them, plus ``source``."""
    frame = pd.DataFrame([tuple(r) for r in rows], columns=[*COLUMNS, "source"])
    for column in ARCHIVE_COLUMNS[:3]:
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.as_unit("ns")
    frame["kwh"] = frame["kwh"].astype(np.float64)
    for column in QUANTILE_COLUMNS:
        values = frame[column].astype(np.float64)
        if len(frame) == 0 or values.isna().any():
            frame = frame.drop(columns=column)
        else:
            frame[column] = values
    return frame
