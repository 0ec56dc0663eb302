"""Learning the roof: known orientation errors recovered, walk-forward on the past only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.errors import InvalidInput
from optimizer.forecast.pvcalibrate import Calibration, CalibrationParams, InDay, walk_forward


def _sun(index: pd.DatetimeIndex) -> np.ndarray:
    """A clear-sky-like bell, kWh per half hour, 0 at night (04:00-20:00 UTC)."""
    hour = index.hour + index.minute / 60 + 0.25
    return np.clip(np.sin(np.pi * (hour - 4) / 16), 0, None) * 1.5


def _orientation_error(index: pd.DatetimeIndex) -> np.ndarray:
    """A forecast made for the wrong azimuth: too high mornings, too low afternoons."""
    hour = index.hour + index.minute / 60 + 0.25
    return 1.0 + 0.4 * (12 - hour) / 8


def _year(days: int = 90, seed: int = 1) -> tuple[pd.Series, pd.Series]:
    index = pd.date_range("2024-03-01T00:00Z", periods=48 * days, freq="30min")
    rng = np.random.default_rng(seed)
    cloud = np.repeat(rng.uniform(0.3, 1.0, days), 48)  # one sky a day
    measured = _sun(index) * cloud
    forecast = measured * _orientation_error(index)
    return pd.Series(forecast, index=index), pd.Series(measured, index=index)


def test_a_known_orientation_error_is_recovered() -> None:
    forecast, measured = _year()
    cal = Calibration.fit(forecast, measured)
    for hour in (7, 9, 12, 15, 17):
        expected = 1.0 / (1.0 + 0.4 * (12 - (hour + 0.5)) / 8)  # mean over the hour's slots
        assert cal.hour_factor[hour] == pytest.approx(expected, rel=0.03), hour
    fixed = cal.apply(forecast)
    day = measured > 0.05
    before = (forecast - measured)[day].abs().mean()
    after = (fixed - measured)[day].abs().mean()
    assert after < before / 5


def test_walk_forward_uses_only_earlier_days() -> None:
    forecast, measured = _year(20)
    calibrated = walk_forward(forecast, measured)
    # Day 0 has no past: unchanged. A measured value changed on day 10 cannot change day 10
    # or earlier, only later days.
    np.testing.assert_allclose(calibrated.iloc[:48], forecast.iloc[:48])
    changed = measured.copy()
    changed.iloc[48 * 10 : 48 * 11] *= 3
    again = walk_forward(forecast, changed)
    np.testing.assert_array_equal(again.iloc[: 48 * 11], calibrated.iloc[: 48 * 11])
    assert not np.allclose(again.iloc[48 * 11 :], calibrated.iloc[48 * 11 :])


def test_little_data_keeps_the_factor_near_one() -> None:
    forecast, measured = _year(2)
    few = Calibration.fit(forecast.iloc[20:24], measured.iloc[20:24] * 2)
    np.testing.assert_allclose(few.sky_factor, 1.0)  # below min_slots: the parent, 1
    many = Calibration.fit(forecast * 0 + 1.0, measured * 0 + 2.0)
    assert many.hour_factor[12] > 1.8


def test_no_data_is_identity_and_nan_stays_nan() -> None:
    forecast, _ = _year(1)
    cal = Calibration.fit(forecast, forecast * np.nan)
    assert cal.pairs == 0
    gappy = forecast.copy()
    gappy.iloc[30] = np.nan
    out = cal.apply(gappy)
    assert np.isnan(out.iloc[30])
    np.testing.assert_allclose(out.drop(out.index[30]), gappy.drop(gappy.index[30]))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-5, 5), min_size=48, max_size=48),
    st.lists(st.floats(-1, 5), min_size=48, max_size=48),
)
def test_never_negative(forecast: list[float], measured: list[float]) -> None:
    index = pd.date_range("2024-06-01T00:00Z", periods=48, freq="30min")
    f, m = pd.Series(forecast, index=index), pd.Series(measured, index=index)
    cal = Calibration.fit(f, m, CalibrationParams(min_slots=1))
    assert (cal.apply(f) >= 0).all()
    assert (walk_forward(f, m) >= 0).all()


@pytest.mark.parametrize("day", ["2024-03-31", "2024-10-27"])
def test_dst_days_in_local_days(day: str) -> None:
    """Days of 23 and 25 hours: every slot is calibrated once, from the days before it."""
    index = pd.date_range(pd.Timestamp(day) - pd.Timedelta(days=12), periods=48 * 18,
                          freq="30min", tz="UTC")  # fmt: skip
    f = pd.Series(_sun(index) * _orientation_error(index), index=index)
    m = pd.Series(_sun(index), index=index)
    out = walk_forward(f, m, timezone="Europe/Paris")
    assert out.notna().all()
    local = index.tz_convert("Europe/Paris")
    the_day = local.normalize() == pd.Timestamp(day, tz="Europe/Paris")
    assert the_day.sum() == (46 if day.endswith("03-31") else 50)
    afternoon = the_day & (index.hour >= 12) & (index.hour < 17)
    before = abs(f[afternoon].sum() / m[afternoon].sum() - 1)
    # 12 days of pairs against 20 pseudo-slots of shrinkage per bin: most of the error goes.
    assert abs(out[afternoon].sum() / m[afternoon].sum() - 1) < before / 2


def test_naive_index_is_an_error() -> None:
    series = pd.Series([1.0, 2.0], index=pd.date_range("2024-01-01", periods=2, freq="30min"))
    with pytest.raises(InvalidInput, match="UTC-aware"):
        Calibration.fit(series, series)


def test_in_day_scales_ahead_by_the_measured_ratio_and_fades() -> None:
    inday = InDay(window_hours=2.0, damping=0.5, fade_hours=3.0, limit=2.0)
    forecast = np.full(20, 1.0)
    measured = np.r_[np.full(10, 1.5), np.full(10, np.nan)]  # 50 % more sun than forecast
    factors = inday.factors(measured, forecast, 10, 16, 30)
    assert factors[0] == pytest.approx(1.25)  # 1 + 0.5 × (1.5 − 1)
    np.testing.assert_allclose(factors, 1 + 0.25 * np.exp(-np.arange(6) * 0.5 / 3.0))
    # The future is never read: changing slots from ``t`` on changes nothing.
    later = measured.copy()
    later[10:] = 9.0
    np.testing.assert_array_equal(inday.factors(later, forecast, 10, 16, 30), factors)
    # Night (the forecast said nothing) and a huge ratio (clipped at ×2).
    assert (inday.factors(measured, np.zeros(20), 10, 16, 30) == 1).all()
    assert inday.factors(measured * 100, forecast, 10, 11, 30)[0] == pytest.approx(1.5)
