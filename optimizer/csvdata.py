"""Read the project's CSV shape (``start_utc,end_utc,<value>[,unit]``) into UTC-indexed series.

Errors name the file, the line and the field; nothing is guessed or filled. Every time carries
its zone (``Z`` or an offset), every row is as long as the file's own interval, and the value
column says what the file holds: ``price`` or ``kwh``. An optional ``unit`` column (one value
for every row, e.g. ``GBP/kWh``) makes the unit travel with the data; ``prices --csv`` writes
it and every reader honours it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.errors import InvalidInput
from optimizer.units import PRICE_UNITS, check_magnitude, price_factor, typical_level

log = logging.getLogger(__name__)

__all__ = [
    "PRICE_UNITS",
    "file_unit",
    "price_factor",
    "read_energy_csv",
    "read_prices_csv",
    "read_series_csv",
    "read_vintages_csv",
]

_ZONED = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
#: What each value column holds, for messages.
_HOLDS = {"price": "prices", "kwh": "energy (kWh)"}


def _read_frame(path: Path) -> pd.DataFrame:
    if path.is_dir():
        raise InvalidInput(f"{path}: is a folder, not a CSV file")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InvalidInput(f"{path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not a readable CSV ({exc})") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc.strerror})") from None


def _value_column(frame: pd.DataFrame, path: Path, column: str | None) -> str:
    missing = [c for c in ("start_utc", "end_utc") if c not in frame.columns]
    if missing or len(frame.columns) < 3:
        raise InvalidInput(
            f"{path}: needs columns start_utc,end_utc,<value>; got {list(frame.columns)}"
        )
    found = str(frame.columns[2])
    if column is None or column == found:
        return found
    if found in _HOLDS and column in _HOLDS:
        raise InvalidInput(
            f"{path}: holds {_HOLDS[found]} (value column {found!r}), "
            f"{_HOLDS[column]} expected (value column {column!r})"
        )
    raise InvalidInput(f"{path}: value column {found!r}, expected {column!r}")


def _first_bad(path: Path, frame: pd.DataFrame, field: str, bad: np.ndarray, why: str) -> None:
    if bad.any():
        row = int(np.argmax(bad))
        raise InvalidInput(
            f"{path}: line {row + 2}: bad {field} {frame[field].iloc[row]!r} ({why})"
        )


def _check_lengths(path: Path, start: pd.Series, end: pd.Series) -> None:
    """Every row as long as the file's most common row (its interval)."""
    lengths = (end - start).to_numpy()
    if len(lengths) == 0:
        return
    values, counts = np.unique(lengths, return_counts=True)
    usual = values[int(np.argmax(counts))]
    bad = lengths != usual
    if bad.any():
        row = int(np.argmax(bad))
        raise InvalidInput(
            f"{path}: line {row + 2}: {start.iloc[row]:%Y-%m-%dT%H:%MZ} to "
            f"{end.iloc[row]:%Y-%m-%dT%H:%MZ} is {pd.Timedelta(lengths[row])}, the file's rows "
            f"are {pd.Timedelta(usual)}"
        )


def file_unit(path: Path | str) -> str | None:
    """The ``unit`` column's value of a CSV file (``None`` without one)."""
    frame = _read_frame(Path(path))
    return _unit_of(frame, Path(path))


def _unit_of(frame: pd.DataFrame, path: Path) -> str | None:
    if "unit" not in frame.columns or frame.empty:
        return None
    units = frame["unit"].str.strip().unique()
    if len(units) > 1:
        raise InvalidInput(f"{path}: the unit column holds {list(units)}; one unit per file")
    unit = str(units[0])
    if frame.columns[2] == "price":
        price_factor(unit)  # an unknown unit is an error here, naming it
    return unit


def read_series_csv(path: Path | str, column: str | None = None) -> pd.Series:
    """Read ``start_utc,end_utc,<column>`` into a float series indexed by UTC slot start.

    ``column`` defaults to the third column; when given, the third column must be it (a load
    file is not a price file). Rows are checked: timestamps ISO-8601 with a zone, ``end_utc``
    after ``start_utc``, every row as long as the file's interval, values numeric. The first
    bad row is named by its line. The series' ``attrs["unit"]`` is the ``unit`` column's value.
    """
    path = Path(path)
    frame = _read_frame(path)
    column = _value_column(frame, path, column)
    start = pd.to_datetime(frame["start_utc"], utc=True, errors="coerce", format="ISO8601")
    end = pd.to_datetime(frame["end_utc"], utc=True, errors="coerce", format="ISO8601")
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
    for field, parsed in (("start_utc", start), ("end_utc", end)):
        _first_bad(path, frame, field, parsed.isna().to_numpy(), "not an ISO-8601 time")
        zoned = frame[field].str.strip().str.contains(_ZONED).to_numpy(dtype=bool)
        _first_bad(path, frame, field, ~zoned, "no zone: write Z or an offset")
    _first_bad(path, frame, column, values.isna().to_numpy(), "not a number")
    after = (end <= start).to_numpy()
    if after.any():
        raise InvalidInput(
            f"{path}: line {int(np.argmax(after)) + 2}: end_utc is not after start_utc"
        )
    _check_lengths(path, start, end)
    series = pd.Series(
        values.to_numpy(dtype=np.float64), index=pd.DatetimeIndex(start).as_unit("ns"), name=column
    )
    dup = series.index.duplicated()
    if dup.any():
        row = int(np.argmax(dup))
        raise InvalidInput(
            f"{path}: line {row + 2}: duplicated slot {series.index[row].isoformat()}"
        )
    series = series.sort_index()
    unit = _unit_of(frame, path)
    if unit is not None:
        series.attrs["unit"] = unit
    return series


def read_prices_csv(
    path: Path,
    option: str,
    unit: str | None,
    default_unit: str,
    unit_option: str,
    warn: Callable[[str], None] | None = None,
    note: Callable[[str], None] | None = None,
) -> tuple[pd.Series, str]:
    """Prices per kWh from a ``price`` file, and the unit they were in.

    The unit is the file's ``unit`` column, else ``unit`` (the option's value), else
    ``default_unit``; a file and an option that disagree are an error. Converted prices outside
    the plausible range are refused naming ``unit_option``; a median unlike any real tariff is
    a warning (``warn``, default: logged). A file of zeros only is no tariff at all (an export
    file of 0 p: no export tariff, exports earn nothing): a ``note`` (default: logged at INFO),
    not a warning. Every message starts with ``option``.
    """
    try:
        series = read_series_csv(path, "price")
        own = series.attrs.get("unit")
        if own is not None and unit is not None and own != unit:
            raise InvalidInput(f"{path}: its unit column says {own}, {unit_option} says {unit}")
        chosen = own or unit or default_unit
        said_by = unit_option if own is None else "its unit column"
        try:
            factor = price_factor(chosen)
        except InvalidInput as exc:
            raise InvalidInput(f"{path}: {said_by}: {exc}") from None
        converted = series * factor
        if len(converted):
            low, high = float(converted.min()), float(converted.max())
            check_magnitude(low, high, chosen, said_by, str(path))
            if low == high == 0.0:
                (note or log.info)(f"{option} {path}: every price is 0 {chosen}: "
                                   + _zero_meaning(option))  # fmt: skip
            else:
                odd = typical_level(float(converted.abs().median()), chosen, said_by, str(path))
                if odd is not None:
                    (warn or log.warning)(f"{option} {odd}")
    except InvalidInput as exc:
        raise InvalidInput(f"{option} {exc}") from None
    return converted, chosen


def _zero_meaning(option: str) -> str:
    if "export" in option:
        return "read as no export tariff (exports earn nothing)"
    return "read as energy that costs nothing"


def read_energy_csv(path: Path, option: str) -> pd.Series:
    """kWh per interval from a ``kwh`` file; every message starts with ``option``."""
    try:
        return read_series_csv(path, "kwh")
    except InvalidInput as exc:
        raise InvalidInput(f"{option} {exc}") from None


def read_vintages_csv(path: Path | str, option: str = "--pv-forecast") -> pd.DataFrame:
    """Read a PV forecast archive: ``issued_utc,start_utc,end_utc,kwh[,kwh_p10,kwh_p90]``.

    Any interval length and any number of vintages (rows with one ``issued_utc`` are one
    forecast). Times must carry a zone; kWh finite and ≥ 0; ``end_utc`` after ``start_utc``;
    a vintage may not list one start twice. Returns the frame with UTC timestamps and float
    kWh, sorted by ``issued_utc`` then ``start_utc``. Errors name ``option``, the file, the
    line and the field (``InvalidInput``).
    """
    path = Path(path)
    try:
        frame = _read_frame(path)
        needed = ["issued_utc", "start_utc", "end_utc", "kwh"]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise InvalidInput(
                f"{path}: needs columns {','.join(needed)} (a PV forecast archive); "
                f"missing {missing}, got {list(frame.columns)}"
            )
        out = pd.DataFrame(index=frame.index)
        for field in needed[:3]:
            parsed = pd.to_datetime(frame[field], utc=True, errors="coerce", format="ISO8601")
            _first_bad(path, frame, field, parsed.isna().to_numpy(), "not an ISO-8601 time")
            zoned = frame[field].str.strip().str.contains(_ZONED).to_numpy(dtype=bool)
            _first_bad(path, frame, field, ~zoned, "no zone: write Z or an offset")
            out[field] = parsed.dt.as_unit("ns")
        for field in ("kwh", "kwh_p10", "kwh_p90"):
            if field not in frame.columns:
                continue
            values = pd.to_numeric(frame[field].str.strip(), errors="coerce")
            _first_bad(path, frame, field, values.isna().to_numpy(), "not a number")
            _first_bad(path, frame, field, (values < 0).to_numpy(), "negative energy")
            out[field] = values.to_numpy(dtype=np.float64)
        _first_bad(
            path,
            frame,
            "end_utc",
            (out["end_utc"] <= out["start_utc"]).to_numpy(),
            "not after start_utc",
        )
        _first_bad(
            path,
            frame,
            "start_utc",
            out.duplicated(["issued_utc", "start_utc"]).to_numpy(),
            "listed twice in one vintage",
        )
    except InvalidInput as exc:
        raise InvalidInput(f"{option} {exc}") from None
    return out.sort_values(["issued_utc", "start_utc"], kind="stable").reset_index(drop=True)
