"""``Store``: the small read/write API the CLI, the service and the backtester use.

Every write is one transaction (``BEGIN IMMEDIATE`` on SQLite): a failure or a crash part-way
leaves nothing of the batch. Reads return pandas objects indexed by aware UTC timestamps.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from optimizer.config import StoreSettings
from optimizer.domain import Timetable
from optimizer.errors import InvalidInput, StoreConflict, StoreError
from optimizer.store import daily
from optimizer.store import prices as price_rows
from optimizer.store import pvforecasts as pv_rows
from optimizer.store.bulk import upsert_rows
from optimizer.store.engine import make_engine
from optimizer.store.migrate import HEAD_REVISION, current_revision, upgrade_engine
from optimizer.store.records import (
    CommandRecord,
    Reading,
    StoredPlan,
    plan_row,
    planned_query,
    slot_row,
)
from optimizer.store.records import DayTotals as DayTotals
from optimizer.store.schema import commands, energy, metrics, plan_slots, plans, readings
from optimizer.store.schema import prices as prices_table
from optimizer.timeseries import interval_length, require_utc
from optimizer.weather.model import PvForecast

SaveResult = price_rows.SaveResult
KINDS = ("load", "pv", "pv_forecast")  # pv_forecast: the raw weather forecast as planned


class PriceBatch(Protocol):
    """What ``save_price_series`` needs of a ``optimizer.tariffs.PriceSeries``."""

    @property
    def frame(self) -> pd.DataFrame: ...
    @property
    def source(self) -> str: ...
    @property
    def tariff(self) -> str: ...
    @property
    def fetched_at(self) -> datetime: ...
    @property
    def published_at(self) -> datetime | None: ...


def _price_batch(prices: pd.DataFrame | pd.Series, tariff: str) -> pd.DataFrame:
    """A plain price series becomes the ``end``/``price_per_kwh`` frame."""
    if isinstance(prices, pd.DataFrame):
        missing = {"end", "price_per_kwh"} - set(prices.columns)
        if missing:
            raise StoreError(f"prices {tariff}: frame lacks column(s) {', '.join(sorted(missing))}")
        return prices
    if len(prices) < 2:
        raise StoreError(f"prices {tariff}: a plain series needs two rows to tell the slot length")
    try:
        step = interval_length(prices, f"prices {tariff}")
    except InvalidInput as exc:
        raise StoreError(str(exc)) from None
    index = pd.DatetimeIndex(prices.index)
    return pd.DataFrame({"end": index + step, "price_per_kwh": prices.to_numpy()}, index=index)


def _number(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    """The history database at ``url`` (SQLite file or PostgreSQL), upgraded on open."""

    def __init__(self, url: str, busy_timeout_s: float = 30.0, migrate: bool = True) -> None:
        self.url = url
        self.engine: Engine = make_engine(url, busy_timeout_s)
        try:
            if migrate and current_revision(self.engine) != HEAD_REVISION:
                upgrade_engine(self.engine)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(
                f"store {self._where()}: cannot open ({exc.__class__.__name__}: {exc})"
            ) from None

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> Store:
        """Open the store described by ``[store]``."""
        return cls(settings.url, settings.busy_timeout_s)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _where(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def _write(self, what: str) -> Iterator[Connection]:
        """One write transaction; database errors become ``StoreError`` naming ``what``."""
        try:
            with self.engine.execution_options(sqlite_immediate=True).begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise StoreConflict(f"{what}: conflicts with stored data ({exc.orig})") from None
        except OperationalError as exc:
            raise StoreError(f"{what}: database error ({exc.orig})") from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"store {self._where()}: read failed ({exc.orig})") from None

    # prices ------------------------------------------------------------------------------

    def save_prices(
        self,
        prices: pd.DataFrame | pd.Series,
        source: str,
        tariff: str,
        fetched_at: datetime,
        published_at: datetime | None = None,
    ) -> SaveResult:
        """Add one vintage of ``tariff`` prices in currency units per kWh, indexed by UTC slot
        start: a frame with ``end`` and ``price_per_kwh`` (``PriceSeries.frame``), or a plain
        series (slot end = start + its interval length)."""
        fetched_at = require_utc(fetched_at, "fetched_at")
        published = require_utc(published_at, "published_at") if published_at else None
        frame = _price_batch(prices, tariff)
        with self._write(f"prices {tariff} fetched at {fetched_at.isoformat()}") as conn:
            return price_rows.save_price_rows(conn, frame, source, tariff, fetched_at, published)

    def save_price_series(self, series: PriceBatch) -> SaveResult:
        """Store a ``PriceSeries`` (from ``optimizer.tariffs``) as one vintage."""
        return self.save_price_batches([series])[0]

    def save_price_batches(self, batches: Sequence[PriceBatch]) -> list[SaveResult]:
        """Store several ``PriceSeries`` (e.g. one fetch's import and export) in **one**
        transaction: either all of them are stored or none."""
        names = ", ".join(b.tariff for b in batches)
        results = []
        with self._write(f"prices {names}") as conn:
            for batch in batches:
                fetched = require_utc(batch.fetched_at, "fetched_at")
                published = (
                    require_utc(batch.published_at, "published_at") if batch.published_at else None
                )
                frame = _price_batch(batch.frame, batch.tariff)
                results.append(
                    price_rows.save_price_rows(
                        conn, frame, batch.source, batch.tariff, fetched, published
                    )
                )
        return results

    def price_frame(
        self, tariff: str, start: datetime, end: datetime, as_of: datetime | None = None
    ) -> pd.DataFrame:
        """Latest vintage per slot in ``[start, end)`` (known at ``as_of`` if given): index UTC
        start; columns ``end``, ``price_per_kwh``, ``fetched_at``, ``published_at``, ``source``."""
        query = price_rows.latest_query(
            tariff, require_utc(start, "start"), require_utc(end, "end"),
            require_utc(as_of, "as_of") if as_of else None,
        )  # fmt: skip
        with self._read() as conn:
            return price_rows.latest_frame(conn.execute(query).all())

    def prices(
        self, tariff: str, start: datetime, end: datetime, as_of: datetime | None = None
    ) -> pd.Series:
        """Price per kWh indexed by UTC slot start: the latest vintage per slot."""
        series = self.price_frame(tariff, start, end, as_of)["price_per_kwh"].astype(np.float64)
        series.name = "price_per_kwh"
        return series

    def price_vintages(self, tariff: str, start: datetime, end: datetime) -> pd.DataFrame:
        """Every stored vintage of slots in ``[start, end)``, oldest fetch first."""
        table = prices_table
        query = (
            select(table.c.slot_start, table.c.price_per_kwh, table.c.fetched_at, table.c.source)
            .where(table.c.tariff == tariff, table.c.slot_start >= require_utc(start))
            .where(table.c.slot_start < require_utc(end))
            .order_by(table.c.slot_start, table.c.fetched_at)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return pd.DataFrame(
            [tuple(r) for r in rows], columns=["start", "price_per_kwh", "fetched_at", "source"]
        )

    def price_coverage(self, tariff: str) -> datetime | None:
        """The end of the last stored slot of ``tariff`` (UTC), ``None`` if none."""
        with self._read() as conn:
            value = conn.execute(
                select(func.max(prices_table.c.slot_end)).where(prices_table.c.tariff == tariff)
            ).scalar()
        return self._utc(value)

    def tariffs(self) -> list[str]:
        """Every tariff with stored prices."""
        with self._read() as conn:
            rows = conn.execute(select(prices_table.c.tariff).distinct()).scalars().all()
        return sorted(str(r) for r in rows)

    # load / PV history -------------------------------------------------------------------

    def save_series(
        self, kind: str, frame: pd.DataFrame, source: str, replace: bool = False
    ) -> SaveResult:
        """Store imported ``load`` or ``pv`` energy: index UTC slot start, columns ``end`` and
        ``kwh`` (kWh per slot). Conflicting values are an error unless ``replace``."""
        if kind not in KINDS:
            raise StoreError(f"series kind {kind!r}: must be one of {', '.join(KINDS)}")
        with self._write(f"{kind} series from {source}") as conn:
            return price_rows.save_energy_rows(conn, kind, frame, source, _now(), replace)

    def load_series(self, kind: str, start: datetime, end: datetime) -> pd.Series:
        """kWh per slot of ``kind`` (``load``/``pv``) starting in ``[start, end)``, UTC index."""
        query = (
            select(energy.c.slot_start, energy.c.kwh)
            .where(energy.c.kind == kind, energy.c.slot_start >= require_utc(start, "start"))
            .where(energy.c.slot_start < require_utc(end, "end"))
            .order_by(energy.c.slot_start)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        index = pd.DatetimeIndex(pd.to_datetime([r[0] for r in rows], utc=True)).as_unit("ns")
        return pd.Series([float(r[1]) for r in rows], index=index, name="kwh", dtype=np.float64)

    # PV forecasts as issued ----------------------------------------------------------------

    def save_pv_forecast(self, forecast: PvForecast) -> int:
        """Store one PV forecast vintage; returns the rows that were new (0 when this vintage
        was stored before: writing it again is a no-op, never an error)."""
        what = f"PV forecast {forecast.source} issued {forecast.issued_utc.isoformat()}"
        with self._write(what) as conn:
            return pv_rows.save_vintage(conn, forecast)

    def pv_forecast_frame(
        self, start: datetime, end: datetime, source: str | None = None,
        issued_from: datetime | None = None, issued_to: datetime | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """Stored vintages' intervals overlapping ``[start, end)`` (of ``source``, issued in
        ``[issued_from, issued_to]``; every bound UTC) as an archive frame: columns
        ``issued_utc,start_utc,end_utc,kwh[,kwh_p10,kwh_p90],source``, oldest vintage first
        (``PvVintages.from_frame`` and ``read_vintages_csv``'s shape)."""
        query = pv_rows.window_query(
            require_utc(start, "start"), require_utc(end, "end"), source,
            require_utc(issued_from, "issued_from") if issued_from else None,
            require_utc(issued_to, "issued_to") if issued_to else None,
        )  # fmt: skip
        with self._read() as conn:
            return pv_rows.archive_frame(list(conn.execute(query).all()))

    # device --------------------------------------------------------------------------------

    def save_reading(self, reading: Reading) -> None:
        """Store one device poll; a second reading at the same time replaces the first (so a
        restarted service writing a reading again stores it once)."""
        require_utc(reading.time, "reading time")
        with self._write(f"reading at {reading.time.isoformat()}") as conn:
            upsert_rows(conn, readings, [reading.row()], ("time",))

    def latest_reading(self) -> Reading | None:
        """The most recent device reading, or ``None``."""
        query = (
            select(*[readings.c[name] for name in Reading.__slots__])
            .order_by(readings.c.time.desc())
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return Reading(**row._asdict()) if row is not None else None

    def readings(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Readings with ``time`` in ``[start, end)``, indexed by UTC time."""
        query = (
            select(readings)
            .where(readings.c.time >= require_utc(start), readings.c.time < require_utc(end))
            .order_by(readings.c.time)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        frame = pd.DataFrame([r._asdict() for r in rows], columns=[c.name for c in readings.c])
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        return frame.drop(columns="id").set_index("time")

    def save_metrics(self, frame: pd.DataFrame) -> int:
        """Store device 5-minute metrics: index UTC sample time, one column per metric name.
        Returns the number of values written. Idempotent: a (time, name) stored before is
        overwritten with the new value (a restarted service re-imports what it stored before it
        stopped; the device may also revise its current, unfinished 5-minute sample)."""
        stamps = pd.DatetimeIndex(frame.index)
        if stamps.tz is None:
            raise StoreError("metrics: index has no time zone; give UTC timestamps")
        times = [t.to_pydatetime() for t in stamps.tz_convert("UTC")]
        rows = [
            {"time": t, "name": str(name), "value": _number(v)}
            for name in frame.columns
            for t, v in zip(times, frame[name].to_numpy(), strict=True)
        ]
        with self._write("metrics") as conn:
            upsert_rows(conn, metrics, rows, ("time", "name"))
        return len(rows)

    def metrics(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Metrics in ``[start, end)``: index UTC time, one column per metric name."""
        query = select(metrics.c.time, metrics.c.name, metrics.c.value).where(
            metrics.c.time >= require_utc(start), metrics.c.time < require_utc(end)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        long = pd.DataFrame([tuple(r) for r in rows], columns=["time", "name", "value"])
        long["time"] = pd.to_datetime(long["time"], utc=True)
        return long.pivot(index="time", columns="name", values="value").sort_index()

    # plans and commands ------------------------------------------------------------------

    def save_plan(
        self,
        timetable: Timetable,
        strategy: str,
        inputs: dict[str, Any],
        created_at: datetime,
        status: str = "active",
    ) -> int:
        """Store a plan and all its slots in one transaction; returns the plan id."""
        created_at = require_utc(created_at, "created_at")
        with self._write(f"plan created at {created_at.isoformat()}") as conn:
            row = plan_row(timetable, strategy, inputs, created_at, status)
            plan_id = int(conn.execute(plans.insert().returning(plans.c.id), row).scalar_one())
            slots = [slot_row(plan_id, slot) for slot in timetable.slots]
            if slots:
                conn.execute(plan_slots.insert(), slots)
        return plan_id

    def set_plan_status(self, plan_id: int, status: str) -> None:
        """Change a plan's status (e.g. ``superseded``, ``abandoned``)."""
        with self._write(f"plan {plan_id} status") as conn:
            done = conn.execute(update(plans).where(plans.c.id == plan_id).values(status=status))
            if done.rowcount != 1:
                raise StoreError(f"plan {plan_id}: no such plan")

    def latest_plan(self, status: str | None = None) -> StoredPlan | None:
        """The newest plan (optionally with ``status``), or ``None``."""
        query = select(plans).order_by(plans.c.created_at.desc(), plans.c.id.desc()).limit(1)
        if status is not None:
            query = query.where(plans.c.status == status)
        with self._read() as conn:
            row = conn.execute(query).first()
        return StoredPlan(**row._asdict()) if row is not None else None

    def plan_slots(self, plan_id: int) -> pd.DataFrame:
        """The slots of plan ``plan_id`` indexed by UTC slot start."""
        query = (
            select(plan_slots)
            .where(plan_slots.c.plan_id == plan_id)
            .order_by(plan_slots.c.slot_start)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        frame = pd.DataFrame([r._asdict() for r in rows], columns=[c.name for c in plan_slots.c])
        frame["slot_start"] = pd.to_datetime(frame["slot_start"], utc=True)
        frame["slot_end"] = pd.to_datetime(frame["slot_end"], utc=True)
        return frame.drop(columns="plan_id").set_index("slot_start")

    def planned_series(
        self, column: str, start: datetime, end: datetime, made_since: datetime
    ) -> pd.Series:
        """Per slot starting in ``[start, end)``: ``column`` of ``plan_slots`` (``load_kwh``,
        ``pv_kwh``, ...) from the newest plan made since ``made_since`` that held the slot
        (what the plan in force believed); UTC index."""
        query = planned_query(column, require_utc(start, "start"), require_utc(end, "end"),
                              require_utc(made_since, "made_since"))  # fmt: skip
        with self._read() as conn:
            rows = conn.execute(query).all()
        index = pd.DatetimeIndex(pd.to_datetime([r[0] for r in rows], utc=True)).as_unit("ns")
        return pd.Series([float(r[1]) for r in rows], index=index, dtype=np.float64)

    def save_command(self, record: CommandRecord) -> int:
        """Store a command sent and what came back; returns its id."""
        require_utc(record.sent_at, "sent_at")
        with self._write(f"command sent at {record.sent_at.isoformat()}") as conn:
            return int(
                conn.execute(commands.insert().returning(commands.c.id), record.row()).scalar_one()
            )

    def commands(self, start: datetime, end: datetime) -> list[CommandRecord]:
        """Commands sent in ``[start, end)``, oldest first."""
        names = list(CommandRecord.__slots__)
        query = (
            select(*[commands.c[n] for n in names])
            .where(commands.c.sent_at >= require_utc(start), commands.c.sent_at < require_utc(end))
            .order_by(commands.c.sent_at, commands.c.id)
        )
        with self._read() as conn:
            return [CommandRecord(**r._asdict()) for r in conn.execute(query).all()]

    # daily totals and service state -------------------------------------------------------

    def save_day(self, totals: DayTotals) -> None:
        """Store (replace) the measured totals of one local day."""
        with self._write(f"daily totals of {totals.day.isoformat()}") as conn:
            daily.save_day(conn, totals)

    def days(self, first: date | None = None, last: date | None = None) -> list[DayTotals]:
        """Daily totals with ``first <= day <= last`` (bounds optional), oldest first."""
        with self._read() as conn:
            return daily.days(conn, first, last)

    def set_state(self, name: str, value: Any, at: datetime | None = None) -> None:
        """Keep a small JSON-able ``value`` under ``name`` across restarts."""
        with self._write(f"service state {name}") as conn:
            daily.set_state(conn, name, value, require_utc(at or _now(), "at"))

    def state(self, name: str) -> Any:
        """The value kept under ``name``, or ``None``."""
        with self._read() as conn:
            return daily.get_state(conn, name)

    @staticmethod
    def _utc(value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None
