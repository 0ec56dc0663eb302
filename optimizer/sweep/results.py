"""``runs.csv``: one row per run × strategy, appended (and flushed) as each run finishes.

An interrupted sweep keeps every run it finished. ``--resume`` keeps the rows of runs that
finished with every strategy ``ok`` and still belong to the SPEC (same ``run_id``: same files,
settings, period and strategies), drops the rest (failed, partly written or stale rows) and runs
what is missing. Columns: ``home``, ``tariff``, one per grid key, ``strategy``, the figures of
``optimizer.sweep.work``, ``status``, ``error``, ``run_id``. Floats are written in full (``repr``).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from optimizer.errors import InvalidInput
from optimizer.sweep.plan import Run
from optimizer.sweep.work import Row

FIGURES = ("cost", "no_battery_cost", "savings", "end_energy_credit", "savings_credited",
           "captured_share", "cycles", "soc_end_pct", "seconds")  # fmt: skip
RUNS_CSV = "runs.csv"


def columns_for(grid_keys: Sequence[str]) -> list[str]:
    """The CSV header for a sweep over ``grid_keys``."""
    return ["home", "tariff", *grid_keys, "strategy", *FIGURES, "status", "error", "run_id"]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def read_rows(path: Path, columns: list[str]) -> list[dict[str, str]]:
    """The whole rows of ``path`` (a cut last line is left out); another header is an error."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header != columns:
            raise InvalidInput(
                f"{path}: written by a sweep with other columns ({','.join(header or [])}); "
                "give another --out"
            )
        return [
            dict(zip(columns, line, strict=True)) for line in reader if len(line) == len(columns)
        ]


def _done(rows: list[dict[str, str]], runs: Sequence[Run]) -> set[str]:
    wanted = {run.run_id: set(run.strategies) for run in runs}
    ok: dict[str, set[str]] = {}
    bad: set[str] = set()
    for row in rows:
        if row["status"] == "ok":
            ok.setdefault(row["run_id"], set()).add(row["strategy"])
        else:
            bad.add(row["run_id"])
    return {rid for rid, names in ok.items() if rid not in bad and wanted.get(rid) == names}


class RunsFile:
    """The sweep's ``runs.csv`` in ``folder``, open for appending."""

    def __init__(self, folder: Path, grid_keys: Sequence[str]) -> None:
        self.path = folder / RUNS_CSV
        self.columns = columns_for(grid_keys)
        self._handle: IO[str] | None = None

    def start(self, runs: Sequence[Run], resume: bool) -> set[str]:
        """Open the file; the ``run_id`` of the runs already done (``resume``). Without
        ``resume`` a file holding rows is an error (nothing is overwritten); one with the header
        only (a sweep that stopped before its first run) is started afresh."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept: list[dict[str, str]] = []
        done: set[str] = set()
        if self.path.exists():
            rows = read_rows(self.path, self.columns)
            if rows and not resume:
                raise InvalidInput(
                    f"--out {self.path.parent}: holds {RUNS_CSV} of an earlier sweep; give "
                    "--resume to finish it, or another --out"
                )
            done = _done(rows, runs)
            kept = [row for row in rows if row["run_id"] in done]
        temporary = self.path.with_suffix(".csv.tmp")
        with temporary.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.columns)
            writer.writerows([row[c] for c in self.columns] for row in kept)
        os.replace(temporary, self.path)
        self._handle = self.path.open("a", newline="", encoding="utf-8")
        return done

    def append(self, rows: Iterable[Row]) -> None:
        """Write one run's rows and flush them to the file."""
        assert self._handle is not None, "start() first"
        writer = csv.writer(self._handle)
        writer.writerows([_text(row.get(c)) for c in self.columns] for row in rows)
        self._handle.flush()

    def close(self) -> None:
        """Close the file (the rows are already on disk)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def parquet_copy(csv_path: Path) -> Path | None:
    """``runs.parquet`` beside ``csv_path`` when pyarrow is installed (``pip install
    'xstorage-optimizer[parquet]'``); ``None`` without it."""
    from importlib.util import find_spec

    if find_spec("pyarrow") is None:
        return None
    import pandas as pd

    target = csv_path.with_suffix(".parquet")
    pd.read_csv(csv_path, keep_default_na=True).to_parquet(target, index=False)
    return target
