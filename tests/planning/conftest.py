"""Builders for small planner inputs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import strategies as st

START = datetime(2023, 6, 1, tzinfo=UTC)
#: Prices (currency/kWh, negative ones included) and energies (kWh per slot) for hypothesis.
prices = st.floats(min_value=-0.3, max_value=1.0, allow_nan=False).map(lambda v: round(v, 4))
energies = st.floats(min_value=0.0, max_value=2.0, allow_nan=False).map(lambda v: round(v, 3))


def price_and_energy_lists(draw: st.DrawFn, n: int) -> dict[str, list[float]]:
    """``imp``, ``exp``, ``load`` and ``pv`` lists of ``n`` slots."""
    return {
        "imp": draw(st.lists(prices, min_size=n, max_size=n)),
        "exp": draw(st.lists(prices, min_size=n, max_size=n)),
        "load": draw(st.lists(energies, min_size=n, max_size=n)),
        "pv": draw(st.lists(energies, min_size=n, max_size=n)),
    }


def series(values: Sequence[float], start: datetime = START, minutes: int = 30) -> pd.Series:
    """A UTC slot series starting at ``start``."""
    index = pd.date_range(start, periods=len(values), freq=f"{minutes}min", tz="UTC")
    return pd.Series([float(v) for v in values], index=index)


@pytest.fixture
def start() -> datetime:
    """The default plan start."""
    return START
