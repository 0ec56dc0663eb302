"""How long importing a year of real data into a fresh SQLite history store takes.

Imports, exactly as ``xstorage-optimizer import-csv`` does (read the CSV, convert units, one
transaction per file): the 13-month Agile import + Agile Outgoing pair (19,916 half hours each)
and the household load (59,087 half hours) from data/, into a new SQLite file (migrations
included). Prints one line per file and the total wall time in seconds. Target: under 10 s.

    .venv/bin/python benchmarks/import_speed.py
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from optimizer.csvdata import price_factor, read_series_csv
from optimizer.store import Store
from optimizer.timeseries import interval_length

DATA = Path(__file__).resolve().parent.parent / "data"
FILES = [
    ("price", "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv", "AGILE-IMPORT"),
    ("price", "agile-outgoing-export-regionUNKNOWN-fawkesley-2022-11_2023-12.csv", "AGILE-EXPORT"),
    ("load", "household-consumption-uk-fawkesley-2020-08_2023-12.csv", ""),
]


def import_file(store: Store, kind: str, path: Path, tariff: str) -> int:
    """Import one CSV; returns the rows stored."""
    series = read_series_csv(path)
    ends = pd.DatetimeIndex(series.index) + interval_length(series, str(path))
    if kind == "price":
        values = series.to_numpy() * price_factor("p/kWh")
        frame = pd.DataFrame({"end": ends, "price_per_kwh": values}, index=series.index)
        return store.save_prices(frame, "csv", tariff, datetime.now(UTC)).inserted
    frame = pd.DataFrame({"end": ends, "kwh": series.to_numpy()}, index=series.index)
    return store.save_series(kind, frame, path.name).inserted


def main() -> None:
    """Run the import once into a temporary SQLite file and print the timings."""
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        store = Store(f"sqlite:///{Path(folder) / 'history.db'}")
        opened = time.perf_counter()
        print(f"open + migrate: {opened - began:6.2f} s")
        total_rows = 0
        for kind, name, tariff in FILES:
            start = time.perf_counter()
            rows = import_file(store, kind, DATA / name, tariff)
            total_rows += rows
            print(f"{name}: {rows} rows in {time.perf_counter() - start:6.2f} s")
        store.close()
        total = time.perf_counter() - began
        print(f"total: {total_rows} rows in {total:.2f} s (target < 10 s)")


if __name__ == "__main__":
    main()
