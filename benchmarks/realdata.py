"""The shipped real 13-month Agile import/export pair and its household's load, for benchmarks."""

from __future__ import annotations

from pathlib import Path

from optimizer.backtest.suite import DataFiles

DATA = Path(__file__).resolve().parent.parent / "data"
FILES = DataFiles(
    prices=DATA / "agile-import-regionUNKNOWN-fawkesley-2022-11_2023-12.csv",
    load=DATA / "household-consumption-uk-fawkesley-2020-08_2023-12.csv",
    export_prices=DATA / "agile-outgoing-export-regionUNKNOWN-fawkesley-2022-11_2023-12.csv",
)
