"""Read the project's CSV shape (``start_utc,end_utc,<value>``) into UTC-indexed series.

Errors name the file, the line and the field; nothing is guessed or filled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.errors import InvalidInput

PRICE_UNITS: dict[str, float] = {
    "p/kWh": 0.01,
    "GBP/kWh": 1.0,
    "EUR/kWh": 1.0,
    "EUR/MWh": 0.001,
    "c/kWh": 0.01,
}


def price_factor(unit: str) -> float:
    """Multiplier from ``unit`` to currency units per kWh."""
    try:
        return PRICE_UNITS[unit]
    except KeyError:
        allowed = ", ".join(PRICE_UNITS)
        raise InvalidInput(f"price unit {unit!r} is not known; use one of {allowed}") from None


def read_series_csv(path: Path | str, column: str | None = None) -> pd.Series:
    """Read ``start_utc,end_utc,<column>`` into a float series indexed by UTC slot start.

    ``column`` defaults to the third column. Rows are checked: timestamps must be ISO-8601 UTC,
    ``end_utc`` after ``start_utc``, values numeric. The first bad row is named by its line.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InvalidInput(f"{path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in ("start_utc", "end_utc") if c not in frame.columns]
    if missing or len(frame.columns) < 3:
        raise InvalidInput(
            f"{path}: needs columns start_utc,end_utc,<value>; got {list(frame.columns)}"
        )
    column = column or str(frame.columns[2])
    if column not in frame.columns:
        raise InvalidInput(f"{path}: no column {column!r}; got {list(frame.columns)}")
    start = pd.to_datetime(frame["start_utc"], utc=True, errors="coerce", format="ISO8601")
    end = pd.to_datetime(frame["end_utc"], utc=True, errors="coerce", format="ISO8601")
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
    for field, bad in (
        ("start_utc", start.isna().to_numpy()),
        ("end_utc", end.isna().to_numpy()),
        (column, values.isna().to_numpy()),
        ("end_utc", (end <= start).fillna(False).to_numpy()),
    ):
        if bad.any():
            row = int(np.argmax(bad))
            raise InvalidInput(
                f"{path}: line {row + 2}: bad {field} {frame[field].iloc[row]!r}"
                if field != "end_utc" or start.isna().iloc[row] or end.isna().iloc[row]
                else f"{path}: line {row + 2}: end_utc is not after start_utc"
            )
    series = pd.Series(
        values.to_numpy(dtype=np.float64), index=pd.DatetimeIndex(start).as_unit("ns"), name=column
    )
    dup = series.index.duplicated()
    if dup.any():
        row = int(np.argmax(dup))
        raise InvalidInput(
            f"{path}: line {row + 2}: duplicated slot {series.index[row].isoformat()}"
        )
    return series.sort_index()
