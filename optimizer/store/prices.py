"""Price vintages and imported load/PV energy: the batch writes and the reads behind ``Store``.

Price vintages: a batch fetched at ``fetched_at`` adds a row only for slots that are new or whose
price differs from the latest vintage known at ``fetched_at``; an unchanged slot keeps its earlier
vintage (so ``as_of`` reads say what was known when). Nothing is updated in place, except a
vintage written again at the same ``fetched_at`` (its rows are replaced: an upsert).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Row, and_, func, select

from optimizer.errors import StoreError
from optimizer.store.bulk import insert_columns
from optimizer.store.schema import energy, prices

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What a batch write did: rows ``inserted``; slots ``unchanged`` (already stored with the
    same value), ``revised`` (stored before with another value; a new vintage was added) and
    ``skipped`` (NaN or infinite values, not stored).
    """

    inserted: int
    unchanged: int = 0
    revised: int = 0
    skipped: int = 0


def _bounds(index: pd.Index, what: str) -> tuple[datetime, datetime]:
    """First and last slot start of a non-empty, aware index, as UTC datetimes."""
    stamps = pd.DatetimeIndex(index)
    if stamps.tz is None:
        raise StoreError(f"{what}: index has no time zone; give UTC timestamps")
    utc = stamps.tz_convert("UTC")
    return utc.min().to_pydatetime(), utc.max().to_pydatetime()


def latest_query(tariff: str, start: datetime, end: datetime, as_of: datetime | None) -> Any:
    """Select the latest vintage per slot starting in ``[start, end)``, known at ``as_of``."""
    conditions = [
        prices.c.tariff == tariff,
        prices.c.slot_start >= start,
        prices.c.slot_start < end,
    ]
    if as_of is not None:
        conditions.append(prices.c.fetched_at <= as_of)
    rank = func.row_number().over(
        partition_by=prices.c.slot_start, order_by=prices.c.fetched_at.desc()
    )
    inner = (
        select(
            prices.c.slot_start,
            prices.c.slot_end,
            prices.c.price_per_kwh,
            prices.c.fetched_at,
            prices.c.published_at,
            prices.c.source,
            rank.label("rank"),
        )
        .where(and_(*conditions))
        .subquery()
    )
    columns = [c for c in inner.c if c.name != "rank"]
    return select(*columns).where(inner.c.rank == 1).order_by(inner.c.slot_start)


def latest_frame(rows: Sequence[Row[Any]]) -> pd.DataFrame:
    """Query rows → frame indexed by UTC slot start."""
    frame = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=["start", "end", "price_per_kwh", "fetched_at", "published_at", "source"],
    )
    for column in ("start", "end", "fetched_at", "published_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.as_unit("ns")
    return frame.set_index("start")


def save_price_rows(
    conn: Connection,
    frame: pd.DataFrame,
    source: str,
    tariff: str,
    fetched_at: datetime,
    published_at: datetime | None,
) -> SaveResult:
    """Add a vintage for ``frame`` (index UTC start; columns ``end``, ``price_per_kwh``)."""
    finite = np.isfinite(frame["price_per_kwh"].to_numpy(np.float64))
    skipped = int((~finite).sum())
    frame = frame[finite]
    if frame.index.duplicated().any():
        slot = frame.index[frame.index.duplicated()][0]
        raise StoreError(f"prices {tariff}: duplicated slot {slot.isoformat()} in one batch")
    if frame.empty:
        return SaveResult(0, skipped=skipped)
    first, last = _bounds(frame.index, f"prices {tariff}")
    known = latest_frame(
        conn.execute(latest_query(tariff, first, last + timedelta(seconds=1), fetched_at)).all()
    )["price_per_kwh"]
    previous = known.reindex(frame.index).to_numpy(np.float64)
    values = frame["price_per_kwh"].to_numpy(np.float64)
    same = previous == values
    revised = int((np.isfinite(previous) & ~same).sum())
    new = ~same
    columns = {
        "source": source,
        "tariff": tariff,
        "slot_start": pd.DatetimeIndex(frame.index[new]),
        "slot_end": pd.DatetimeIndex(frame["end"].to_numpy()[new]),
        "price_per_kwh": values[new],
        "fetched_at": fetched_at,
        "published_at": published_at,
    }
    # keyed: the same vintage written again with other values (a file re-imported with the same
    # --fetched-at) replaces its rows instead of failing on uq_prices_vintage
    insert_columns(
        conn, prices, columns, int(new.sum()), key=("tariff", "slot_start", "fetched_at")
    )
    if revised:
        log.warning(
            "prices %s: %d slot(s) revised by the batch fetched at %s", tariff, revised, fetched_at
        )
    return SaveResult(int(new.sum()), int(same.sum()), revised, skipped)


def save_energy_rows(
    conn: Connection,
    kind: str,
    frame: pd.DataFrame,
    source: str,
    imported_at: datetime,
    replace: bool,
) -> SaveResult:
    """Store kWh per slot (index UTC start; columns ``end``, ``kwh``) for ``kind``.

    A slot already stored with the same value is left alone; with another value it is an error
    naming the slot, unless ``replace`` (then the stored row is overwritten: an upsert).
    """
    finite = np.isfinite(frame["kwh"].to_numpy(np.float64))
    frame = frame[finite]
    if frame.empty:
        return SaveResult(0, skipped=int((~finite).sum()))
    first, last = _bounds(frame.index, f"{kind} series")
    query = select(energy.c.slot_start, energy.c.kwh).where(
        energy.c.kind == kind,
        energy.c.slot_start >= first,
        energy.c.slot_start <= last,
    )
    stored = conn.execute(query).all()
    old = pd.Series(
        [r[1] for r in stored], index=pd.DatetimeIndex([r[0] for r in stored], tz="UTC")
    )
    previous = old.reindex(frame.index).to_numpy(np.float64)
    values = frame["kwh"].to_numpy(np.float64)
    same, clash = previous == values, np.isfinite(previous) & (previous != values)
    if clash.any() and not replace:
        slot = frame.index[clash][0]
        raise StoreError(
            f"{kind} slot {slot.isoformat()} is stored as {previous[clash][0]:g} kWh, the new "
            f"data says {values[clash][0]:g} kWh; import with replace to overwrite"
        )
    new = ~same
    columns = {
        "kind": kind,
        "slot_start": pd.DatetimeIndex(frame.index[new]),
        "slot_end": pd.DatetimeIndex(frame["end"].to_numpy()[new]),
        "kwh": values[new],
        "source": source,
        "imported_at": imported_at,
    }
    insert_columns(conn, energy, columns, int(new.sum()), key=("kind", "slot_start"))
    return SaveResult(int(new.sum()), int(same.sum()), int(clash.sum()), int((~finite).sum()))
