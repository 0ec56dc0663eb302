"""Nothing partial after a failure or a crash mid-batch; readers run while a writer writes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import event

from optimizer.errors import StoreError
from optimizer.store import Reading, Store
from optimizer.tariffs import PriceSeries, price_frame

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 1, 1, tzinfo=UTC)
FAR = T0 + timedelta(days=3650)
ROWS = 12_000  # three chunks of 5,000


def batch(value: float, rows: int = ROWS) -> pd.DataFrame:
    index = pd.date_range(T0, periods=rows, freq="30min")
    return price_frame(index, index + pd.Timedelta(minutes=30), [value] * rows)


def test_exception_in_the_second_chunk_leaves_nothing(url: str) -> None:
    with Store(url) as store:
        store.save_prices(batch(0.1, 10), "octopus", "T", T0 - timedelta(days=1))
        inserts = []

        @event.listens_for(store.engine, "before_cursor_execute")
        def _fail(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            if statement.lstrip().upper().startswith("INSERT INTO PRICES"):
                inserts.append(statement)
                if len(inserts) == 2:
                    raise RuntimeError("injected failure mid-batch")

        with pytest.raises(RuntimeError, match="injected"):
            store.save_prices(batch(0.2), "octopus", "T", T0)
        event.remove(store.engine, "before_cursor_execute", _fail)
        assert len(inserts) == 2
        vintages = store.price_vintages("T", T0, FAR)
        assert len(vintages) == 10
        assert set(vintages["price_per_kwh"]) == {0.1}


def test_killed_writer_leaves_no_partial_batch(url: str) -> None:
    with Store(url):
        pass  # migrate first, so the child only writes prices
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("crash_writer.py")), url, str(ROWS)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        assert line == "MID", child.stderr.read() if child.stderr else line
    finally:
        child.kill()
        child.wait(10)
    with Store(url) as store:
        assert store.price_vintages("CRASH", T0, FAR).empty
        store.save_prices(batch(0.3, 100), "octopus", "CRASH", T0)  # the lock is gone
        assert len(store.prices("CRASH", T0, FAR)) == 100
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        assert sqlite3.connect(path).execute("pragma integrity_check").fetchone() == ("ok",)


def test_sqlite_reader_is_not_blocked_by_an_open_write(sqlite_url: str) -> None:
    writer, reader = Store(sqlite_url), Store(sqlite_url)
    writer.save_prices(batch(0.1, 10), "octopus", "T", T0 - timedelta(days=1))
    mid, release = threading.Event(), threading.Event()

    @event.listens_for(writer.engine, "after_cursor_execute")
    def _hold(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PRICES"):
            mid.set()
            release.wait(10)

    thread = threading.Thread(target=writer.save_prices, args=(batch(0.2), "octopus", "T", T0))
    thread.start()
    try:
        assert mid.wait(10)
        began = time.monotonic()
        during = reader.prices("T", T0, FAR)
        assert time.monotonic() - began < 10  # blocked would mean the 30-s busy timeout
        assert list(during) == [0.1] * 10  # the committed snapshot, nothing half-written
        second = threading.Thread(
            target=reader.save_reading, args=(Reading(T0, 50.0, "BAT_IDLE", "BASIC"),)
        )
        second.start()
        time.sleep(0.3)
        assert second.is_alive()  # a second writer waits on the busy timeout, no error
    finally:
        release.set()
        thread.join(10)
    second.join(10)
    assert len(reader.prices("T", T0, FAR)) == ROWS
    assert reader.latest_reading() is not None
    writer.close()
    reader.close()


def test_sqlite_file_holds_utc_text_and_reads_back_aware(sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        store.save_prices(batch(0.1, 2), "octopus", "T", T0)
        path = sqlite_url.removeprefix("sqlite:///")
        raw = sqlite3.connect(path).execute("select slot_start, fetched_at from prices").fetchall()
        assert raw[0] == ("2024-01-01T00:00:00.000000", "2024-01-01T00:00:00.000000")
        assert sqlite3.connect(path).execute("pragma journal_mode").fetchone() == ("wal",)
        got = store.price_frame("T", T0, FAR)
        assert got.index[0].tzinfo is not None
        assert got.index[0] == T0


def test_import_and_export_of_one_fetch_are_stored_together_or_not_at_all(url: str) -> None:
    good = PriceSeries("octopus", "IMPORT", batch(0.2, 10), T0)
    bad = PriceSeries("octopus", "EXPORT", batch(0.1, 10).tz_localize(None), T0)
    with Store(url) as store:
        with pytest.raises(StoreError, match="prices EXPORT: index has no time zone"):
            store.save_price_batches([good, bad])
        assert store.tariffs() == []
        results = store.save_price_batches(
            [good, PriceSeries("octopus", "EXPORT", batch(0.1, 10), T0)]
        )
        assert [r.inserted for r in results] == [10, 10]
