"""Small inputs for sweeps: ten days of half-hourly load and two tariffs, and a SPEC writer."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

START = "2023-05-01T00:00Z"
PERIOD = ("2023-05-08T00:00Z", "2023-05-09T00:00Z")  # one day after a week of history


def write_csv(path: Path, values: np.ndarray, column: str, step_min: int = 30) -> Path:
    index = pd.date_range(pd.Timestamp(START), periods=len(values), freq=f"{step_min}min")
    frame = pd.DataFrame({
        "start_utc": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_utc": (index + pd.Timedelta(minutes=step_min)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        column: values,
    })  # fmt: skip
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Two homes' loads, an Agile-like tariff (import + export) and a flat one, p/kWh."""
    rng = np.random.default_rng(19)
    n = 48 * 10
    folder = tmp_path / "inputs"
    folder.mkdir()
    return {
        "load_a": write_csv(folder / "load-a.csv", rng.uniform(0.05, 1, n).round(3), "kwh"),
        "load_b": write_csv(folder / "load-b.csv", rng.uniform(0.1, 0.6, n).round(3), "kwh"),
        "imp": write_csv(folder / "imp.csv", rng.uniform(5, 40, n).round(2), "price"),
        "exp": write_csv(folder / "exp.csv", rng.uniform(2, 15, n).round(2), "price"),
        "flat": write_csv(folder / "flat.csv", np.full(n // 2, 24.5), "price", 60),
    }


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


SpecWriter = Callable[..., Path]


@pytest.fixture
def write_spec(tmp_path: Path, files: dict[str, Path]) -> SpecWriter:
    """Write a SPEC (paths relative to it): homes a and b unless ``homes`` is given, tariffs
    agile (import+export) and flat, ``grid`` and ``strategies`` as given; ``extra`` is raw
    TOML appended."""

    def write(
        grid: dict[str, list[Any]] | None = None,
        strategies: tuple[str, ...] = ("lp",),
        homes: tuple[str, ...] = ("a", "b"),
        tariffs: tuple[str, ...] = ("agile", "flat"),
        extra: str = "",
        name: str = "spec.toml",
    ) -> Path:
        lines = [f"strategies = {_toml(list(strategies))}", extra, "[period]",
                 f'from = "{PERIOD[0]}"', f'to = "{PERIOD[1]}"']  # fmt: skip
        for home in homes:
            lines += ["[[homes]]", f'name = "{home}"', f'load = "inputs/load-{home}.csv"']
        if "agile" in tariffs:
            lines += ["[[tariffs]]", 'name = "agile"', 'prices = "inputs/imp.csv"',
                      'export_prices = "inputs/exp.csv"', 'price_unit = "p/kWh"']  # fmt: skip
        if "flat" in tariffs:
            lines += ["[[tariffs]]", 'name = "flat"', 'prices = "inputs/flat.csv"']
        lines.append("[grid]")
        lines += [f'"{key}" = {_toml(values)}' for key, values in (grid or {}).items()]
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        return path

    return write


def read_runs(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))
