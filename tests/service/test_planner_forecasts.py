"""The service's forecasts from the store are the backtest's: the same method, the same past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.backtest.data import SeriesSet, prepare_inputs
from optimizer.config import ForecastSettings, Settings, StoreSettings
from optimizer.domain import LOAD_METHODS, LoadMethodName
from optimizer.forecast.load import load_forecaster
from optimizer.service.planner import forecasts, history_days
from optimizer.store import Store

NOW = datetime(2023, 3, 27, 14, 10, tzinfo=UTC)  # the day after the spring change
SLOT = datetime(2023, 3, 27, 14, 0, tzinfo=UTC)


def _history() -> pd.Series:
    rng = np.random.default_rng(7)
    index = pd.date_range(SLOT - timedelta(days=40), SLOT, freq="30min", inclusive="left")
    return pd.Series(rng.uniform(0.05, 1.2, len(index)), index=index)


@pytest.mark.parametrize("method", LOAD_METHODS)
def test_the_service_forecasts_as_the_backtest_does(tmp_path: Path, method: LoadMethodName) -> None:
    settings = Settings(
        store=StoreSettings(url=f"sqlite:///{tmp_path / 'h.db'}"),
        forecast=ForecastSettings(load_method=method, hedge_scenarios=3),
    )
    history = _history()
    index = pd.date_range(SLOT, periods=72, freq="30min")
    with Store(settings.store.url) as store:
        frame = pd.DataFrame({"end": history.index + pd.Timedelta(minutes=30), "kwh": history})
        store.save_series("load", frame, "test")
        made = forecasts(store, settings, index, NOW)
    # The backtest's forecast at the same decision slot, from the same history.
    prices = pd.Series(0.2, index=index)
    inputs = prepare_inputs(
        SeriesSet(prices, pd.concat([history, pd.Series(0.3, index=index)])),
        SLOT, SLOT + timedelta(hours=36), 30, "Europe/London", load_forecaster=load_forecaster(
            settings.forecast, settings.backtest.fallback_load_kwh), hedge_scenarios=3,
    )  # fmt: skip
    assert inputs.load_forecast_at is not None and inputs.load_scenarios_at is not None
    np.testing.assert_allclose(made.load.to_numpy(), inputs.load_forecast_at(0, 72), rtol=1e-12)
    assert made.load_scenarios is not None
    paths, weights = made.load_scenarios
    theirs = inputs.load_scenarios_at(0, 72)
    np.testing.assert_allclose(paths, theirs[0], rtol=1e-12)
    np.testing.assert_allclose(weights @ paths, made.load.to_numpy(), rtol=1e-9)
    assert paths.shape == (3, 72) and weights.sum() == pytest.approx(1.0)


def test_history_read_covers_every_lag() -> None:
    settings = Settings(forecast=ForecastSettings(load_lag_days=(7, 35), recent_days=40))
    assert history_days(settings) >= 43
