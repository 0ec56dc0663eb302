"""Engines for the history store: SQLite (WAL, busy timeout, explicit BEGIN) or PostgreSQL.

On SQLite the pysqlite driver's own transaction handling is switched off and SQLAlchemy emits
``BEGIN`` itself, so DDL and DML are both transactional (a failed batch or migration leaves
nothing). Writers ask for ``BEGIN IMMEDIATE`` (execution option ``sqlite_immediate``) so two
writers queue on the busy timeout instead of failing; readers never block in WAL mode.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError

from optimizer.errors import StoreError


def normalise_url(url: str) -> str:
    """``postgresql://`` → ``postgresql+psycopg://`` (psycopg 3); others unchanged."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_events(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _create_private(path: Path) -> None:
    """Create the SQLite file readable by its owner only (0600) if it does not exist yet;
    SQLite gives its -wal and -shm files the same permissions."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(f"store.url: cannot create {path} ({exc.strerror})") from None


def make_engine(url: str, busy_timeout_s: float = 30.0) -> Engine:
    """An engine for ``url``; creates the SQLite file's folder if needed."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"store.url = {url!r}: not a database URL ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            try:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"store.url: cannot create the folder {Path(database).parent} ({exc.strerror})"
                ) from None
            _create_private(Path(database))
        engine = create_engine(url, connect_args={"timeout": busy_timeout_s})
        _sqlite_events(engine, busy_timeout_s)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(f"store.url = {url!r}: only sqlite and postgresql are supported")
    return create_engine(url, pool_pre_ping=True)
