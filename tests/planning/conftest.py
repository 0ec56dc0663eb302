"""Builders for small planner inputs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd
import pytest

START = datetime(2023, 6, 1, tzinfo=UTC)


def series(values: Sequence[float], start: datetime = START, minutes: int = 30) -> pd.Series:
    """A UTC slot series starting at ``start``."""
    index = pd.date_range(start, periods=len(values), freq=f"{minutes}min", tz="UTC")
    return pd.Series([float(v) for v in values], index=index)


@pytest.fixture
def start() -> datetime:
    """The default plan start."""
    return START
