"""Run by test_crash: start a big price batch and stop mid-way (the test kills this process).

After the first chunk of INSERTs has executed inside the open transaction, print ``MID`` and
sleep, so the parent can SIGKILL the process with a half-written, uncommitted batch.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import event

from optimizer.store import Store
from optimizer.tariffs import price_frame


def main(url: str, rows: int) -> None:
    store = Store(url)

    @event.listens_for(store.engine, "after_cursor_execute")
    def _pause(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PRICES"):
            print("MID", flush=True)
            time.sleep(120)

    index = pd.date_range("2024-01-01", periods=rows, freq="30min", tz="UTC")
    frame = price_frame(index, index + pd.Timedelta(minutes=30), [0.2] * rows)
    store.save_prices(frame, "octopus", "CRASH", datetime(2024, 1, 1, tzinfo=UTC))
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
