"""The service with a weather PV forecast, on the simulator over real sockets: the forecast is
fetched on schedule and stored as issued, plans use it, a weather server that fails costs no
command (the last good forecast while it covers, then the history forecast with one warning,
one info line when it is back), and the views show it (chart, /metrics)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from optimizer.config import PvSettings
from optimizer.device.simulator import SyntheticProfile
from optimizer.errors import WeatherUnreachable
from optimizer.service.core import Service
from optimizer.service.pvforecast import MAX_AGE
from optimizer.weather.model import PvForecast
from tests.service.conftest import Harness, MakeHarness, local
from tests.service.test_fault_matrix import assert_in_control

HOUSE = SyntheticProfile(base_load_w=350.0, peak_load_w=1200.0, pv_peak_w=2500.0)
SCALE = 0.8  # the weather forecast runs 20 % low: its values are told apart from the truth
QUARTER = timedelta(minutes=15)
PV_SETTINGS = PvSettings(forecast="open-meteo", latitude=51.5, longitude=-0.1)


def truth_kwh(start: datetime) -> float:
    """The simulated roof's energy in the quarter hour from ``start`` (midpoint rule), kWh."""
    steps = [start + timedelta(minutes=m) for m in (1.5, 4.5, 7.5, 10.5, 13.5)]
    return sum(HOUSE.pv_w(t) for t in steps) / len(steps) * 0.25 / 1000.0


class Weather:
    """A PV forecast source that can be taken down (it then raises as on a 503)."""

    def __init__(self, hours: float = 36.0) -> None:
        self.down = False
        self.hours = hours
        self.calls: list[tuple[datetime, bool]] = []

    def __call__(self, now: datetime) -> PvForecast:
        self.calls.append((now, self.down))
        if self.down:
            raise WeatherUnreachable("open-meteo: 503 Service Unavailable")
        first = pd.Timestamp(now).floor("15min")
        starts = pd.date_range(first, periods=int(self.hours * 4), freq="15min", unit="ns")
        kwh = [SCALE * truth_kwh(t.to_pydatetime()) for t in starts]
        frame = pd.DataFrame({"start_utc": starts, "end_utc": starts + QUARTER, "kwh": kwh})
        return PvForecast("open-meteo", now, frame)


def plans_between(h: Harness, lo: datetime, hi: datetime) -> list[tuple[int, dict[str, object]]]:
    """(id, inputs) of every plan made in ``[lo, hi)``, oldest first."""
    import sqlalchemy as sa

    from optimizer.store.schema import plans

    query = sa.select(plans.c.id, plans.c.inputs).where(
        plans.c.created_at >= lo, plans.c.created_at < hi
    )
    with h.store.engine.connect() as conn:
        return [(r[0], dict(r[1])) for r in conn.execute(query.order_by(plans.c.created_at))]


def messages(caplog: pytest.LogCaptureFixture, text: str, level: int | None = None) -> list[str]:
    return [
        r.getMessage() for r in caplog.records
        if text in r.getMessage() and (level is None or r.levelno == level)
    ]  # fmt: skip


def start(make_harness: MakeHarness, fetch: Callable[[datetime], PvForecast]) -> tuple[
    Harness, Service
]:  # fmt: skip
    h = make_harness(local("2023-06-14 20:00"), soc_pct=30.0, profile=HOUSE, pv=PV_SETTINGS)
    service = h.start_service(pv_fetch=fetch, pv_min_interval=timedelta(minutes=30))
    return h, service


def test_a_weather_server_that_fails_costs_no_command(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="optimizer")
    weather = Weather()
    h, service = start(make_harness, weather)
    down_at = local("2023-06-15 12:00")
    h.run_until(down_at)
    # Up: every fetch stored as issued, the plans on the weather forecast.
    stored = h.store.pv_forecast_frame(local("2023-06-14 00:00"), local("2023-06-17 00:00"))
    issued = sorted(set(stored["issued_utc"]))
    assert len(issued) == len(weather.calls) >= 30  # every 30 minutes, each one kept
    made = plans_between(h, local("2023-06-14 20:00"), down_at)
    assert made and all(inputs["pv_source"] == "open-meteo" for _, inputs in made)
    plan = h.store.plan_slots(service.plan_id)  # type: ignore[arg-type]
    noon = pd.Timestamp(local("2023-06-15 13:00"))
    expected = SCALE * (
        truth_kwh(noon.to_pydatetime()) + truth_kwh((noon + QUARTER).to_pydatetime())
    )
    assert plan.loc[noon, "pv_kwh"] == pytest.approx(expected, rel=1e-6)

    weather.down = True
    stale_at = down_at + MAX_AGE  # the last good vintage (issued ~12:00) grows stale here
    h.run_until(stale_at - timedelta(minutes=40))
    while_down = plans_between(h, down_at, stale_at - timedelta(minutes=40))
    assert while_down, "plans are made while the weather server is down"
    for _, inputs in while_down:
        # the last good forecast, issued before the outage, while it covers the plan
        assert inputs["pv_source"] == "open-meteo"
        assert pd.Timestamp(str(inputs["pv_issued_utc"])) <= pd.Timestamp(down_at)
        assert int(str(inputs["pv_weather_slots"])) > 0
    back_at = local("2023-06-16 15:00")
    h.run_until(back_at)
    gone = plans_between(h, stale_at, back_at)
    assert gone and all(inputs["pv_source"] == "history" for _, inputs in gone)
    fallback = h.store.plan_slots(gone[0][0])  # the first plan on history, made about noon
    midday = fallback[fallback.index < pd.Timestamp(local("2023-06-16 15:00"))]
    assert len(midday) >= 4
    assert (midday["pv_kwh"] > 0.3).all(), "the history forecast: never zeros from a failure"

    weather.down = False
    h.run_until(local("2023-06-16 18:00"))
    again = plans_between(h, back_at, local("2023-06-16 18:00"))
    assert again and again[-1][1]["pv_source"] == "open-meteo"
    # Control never depended on the fetch: every slot's command went out on time.
    assert_in_control(h, service, local("2023-06-14 20:30"), local("2023-06-16 18:00"))
    assert any(down for _, down in weather.calls)
    assert len(messages(caplog, "planning on the history forecast", logging.WARNING)) == 1
    assert len(messages(caplog, "back in use")) == 1
    assert len(messages(caplog, "PV forecast: open-meteo unreachable", logging.WARNING)) == 1
    assert not [r for r in caplog.records if r.exc_info]  # no tracebacks


def test_no_weather_server_at_all_plans_on_history_from_the_start(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="optimizer")
    weather = Weather()
    weather.down = True
    h, service = start(make_harness, weather)
    h.run_until(local("2023-06-15 02:00"))
    made = plans_between(h, local("2023-06-14 20:00"), local("2023-06-15 02:00"))
    assert made and all(inputs["pv_source"] == "history" for _, inputs in made)
    assert_in_control(h, service, local("2023-06-14 20:30"), local("2023-06-15 02:00"))
    assert len(messages(caplog, "planning on the history forecast", logging.WARNING)) == 1
    assert len(weather.calls) == 12  # every 30 minutes over six hours: the interval kept


def test_a_short_forecast_is_never_read_past_its_horizon(make_harness: MakeHarness) -> None:
    weather = Weather(hours=6.0)
    h, service = start(make_harness, weather)
    h.run_until(local("2023-06-15 09:10"))
    plan = h.store.plan_slots(service.plan_id)  # type: ignore[arg-type]
    horizon = pd.Timestamp(weather.calls[-1][0]).floor("15min") + pd.Timedelta(hours=6)
    inside = plan[plan.index + pd.Timedelta(minutes=30) <= horizon]
    past = plan[plan.index >= horizon]
    assert len(inside) >= 10 and len(past) > 10
    truth = np.array([SCALE * (truth_kwh(t) + truth_kwh(t + QUARTER))
                      for t in inside.index.to_pydatetime()])  # fmt: skip
    np.testing.assert_allclose(inside["pv_kwh"].to_numpy(), truth, rtol=1e-6)
    inputs = plans_between(h, local("2023-06-15 09:00"), local("2023-06-15 09:10"))[-1][1]
    assert inputs["pv_weather_slots"] == len(inside)  # the straddling slot: history
