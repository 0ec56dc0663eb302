"""Small synthetic inputs for backtest tests (UTC half-hour slots)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd


def series(start: str, values: list[float] | np.ndarray, minutes: int = 30) -> pd.Series:
    """A UTC-indexed series of ``values`` from ``start``."""
    index = pd.date_range(pd.Timestamp(start), periods=len(values), freq=f"{minutes}min", tz="UTC")
    return pd.Series(np.asarray(values, dtype=np.float64), index=index)


def utc(text: str) -> datetime:
    """``text`` (ISO, UTC) as an aware datetime."""
    return pd.Timestamp(text).tz_convert("UTC").to_pydatetime()
