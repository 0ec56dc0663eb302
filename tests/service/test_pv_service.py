"""The service with a weather PV forecast, on the simulator over real sockets: the forecast is
fetched on schedule and stored as issued, plans use it, a weather server that fails costs no
command (the last good forecast while it covers, then the history forecast with one warning,
one info line when it is back), and the views show it (chart, /metrics)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import httpx
import numpy as np
import pandas as pd
import pytest

from optimizer.config import ArraySettings, PvSettings
from optimizer.device.simulator import SyntheticProfile
from optimizer.forecast.vintages import PvVintages
from optimizer.service.core import Service
from optimizer.service.pvforecast import MAX_AGE
from optimizer.weather.sources import make_fetcher, min_fetch_interval
from tests.service.conftest import Harness, MakeHarness, local
from tests.tariffs.fakeapi import FakeApi, Reply, serve

HOUSE = SyntheticProfile(base_load_w=350.0, peak_load_w=1200.0, pv_peak_w=2500.0)
QUARTER = timedelta(minutes=15)
PATH = "/v1/forecast"


def gti_wm2(end: pd.Timestamp) -> float:
    """Irradiance on the plane, mean over the 15 minutes before ``end`` (UTC): a clear June
    day, 04:00-20:00 UTC."""
    hour = (end - QUARTER / 2).hour + (end - QUARTER / 2).minute / 60
    return round(max(0.0, 900.0 * float(np.sin(np.pi * (hour - 4.0) / 16.0))), 1)


class OpenMeteo:
    """The Open-Meteo forecast API as the fetcher calls it (``/v1/forecast`` with
    ``timezone=GMT``): ``forecast_days`` days from today's UTC midnight (the service clock),
    ``minutely_15`` and ``hourly`` blocks stamped at the end of their period, irradiance the mean
    over the period before the stamp. ``down``: it answers 503."""

    def __init__(self, clock: Callable[[], datetime], hours: float | None = None) -> None:
        self.clock = clock
        self.down = False
        self.hours = hours  # cut the answer this many hours after now (a short forecast)
        self.calls: list[tuple[datetime, bool, dict[str, str]]] = []

    def __call__(self, query: dict[str, str]) -> Reply:
        now = self.clock()
        self.calls.append((now, self.down, query))
        if self.down:
            return Reply.json({"error": True, "reason": "Service Unavailable"}, 503)
        midnight = pd.Timestamp(now).floor("D")
        end = midnight + pd.Timedelta(days=int(query["forecast_days"]))
        if self.hours is not None:
            end = min(end, pd.Timestamp(now).floor("15min") + pd.Timedelta(hours=self.hours))
        fine = pd.date_range(midnight + QUARTER, end, freq="15min")
        hourly = pd.date_range(midnight + pd.Timedelta(hours=1), end, freq="1h")

        def block(stamps: pd.DatetimeIndex, step: pd.Timedelta) -> dict[str, list[object]]:
            gti = [float(np.mean([gti_wm2(t - k * QUARTER) for k in range(step // QUARTER)]))
                   for t in stamps]  # fmt: skip
            return {"time": [t.strftime("%Y-%m-%dT%H:%M") for t in stamps],
                    "global_tilted_irradiance": gti, "temperature_2m": [18.0] * len(stamps),
                    "wind_speed_10m": [2.5] * len(stamps)}  # fmt: skip

        units = {"time": "iso8601", "global_tilted_irradiance": "W/m²",
                 "temperature_2m": "°C", "wind_speed_10m": "m/s"}  # fmt: skip
        return Reply.json({
            "latitude": float(query["latitude"]), "longitude": float(query["longitude"]),
            "generationtime_ms": 0.2, "utc_offset_seconds": 0, "timezone": "GMT",
            "timezone_abbreviation": "GMT", "elevation": 20.0,
            "minutely_15_units": units, "minutely_15": block(fine, QUARTER),
            "hourly_units": units, "hourly": block(hourly, pd.Timedelta(hours=1)),
        })  # fmt: skip


def pv_settings(api: FakeApi, calibrate: bool = False) -> PvSettings:
    """Open-Meteo for a 4 kWp south roof; ``calibrate`` off by default, so plans hold exactly
    the stored vintages (the calibration has its own test)."""
    array = ArraySettings(kwp=4.0, tilt_deg=35.0, azimuth_deg=180.0)
    return PvSettings(forecast="open-meteo", latitude=51.5, longitude=-0.1,
                      api_url=api.base_url + PATH, arrays=(array,),
                      calibrate=calibrate)  # fmt: skip


def plans_between(h: Harness, lo: datetime, hi: datetime) -> list[tuple[int, dict[str, object]]]:
    """(id, inputs) of every plan made in ``[lo, hi)``, oldest first."""
    import sqlalchemy as sa

    from optimizer.store.schema import plans

    query = sa.select(plans.c.id, plans.c.inputs).where(
        plans.c.created_at >= lo, plans.c.created_at < hi
    )
    with h.store.engine.connect() as conn:
        return [(r[0], dict(r[1])) for r in conn.execute(query.order_by(plans.c.created_at))]


def assert_in_control(
    h: Harness, service: Service, lo: datetime, hi: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    """Every slot in ``[lo, hi)`` had its command chosen from a plan at its start (a drift
    re-plan may change it later in the slot), the device accepted every command sent, and the
    service never fell back to the fail-safe mode."""
    slot = pd.Timestamp(lo).ceil("30min").to_pydatetime()
    while slot < hi:
        assert slot in service.executed, f"no command chosen for the slot at {slot}"
        slot += timedelta(minutes=30)
    sent = [c for c in h.commands() if lo <= c["at"] < hi]
    assert sent and all(c["status"] == 200 for c in sent)
    assert not messages(caplog, "fail-safe")


def messages(caplog: pytest.LogCaptureFixture, text: str, level: int | None = None) -> list[str]:
    return [
        r.getMessage() for r in caplog.records
        if text in r.getMessage() and (level is None or r.levelno == level)
    ]  # fmt: skip


@pytest.fixture
def weather_api() -> Iterator[FakeApi]:
    with serve() as api:
        yield api


def start(
    make_harness: MakeHarness, api: FakeApi, hours: float | None = None, calibrate: bool = False
) -> tuple[Harness, Service, OpenMeteo]:
    """The simulator and the service from 20:00 local on a June day, the weather from ``api``
    through the real Open-Meteo fetcher (``make_fetcher``, its 30-minute interval)."""
    settings = pv_settings(api, calibrate)
    h = make_harness(local("2023-06-14 20:00"), soc_pct=30.0, profile=HOUSE, pv=settings)
    weather = OpenMeteo(h.clock.now, hours)
    api.routes[PATH] = weather
    client = httpx.Client(timeout=2.0)
    h._http.append(client)
    fetch = make_fetcher(settings, client, {})
    service = h.start_service(pv_fetch=fetch, pv_min_interval=min_fetch_interval(settings))
    return h, service, weather


def planned_from_store(h: Harness, plan_id: int, issued: datetime) -> pd.Series:
    """The stored vintage issued at ``issued`` on the plan's slots (what the plan must hold)."""
    plan = h.store.plan_slots(plan_id)
    index = pd.DatetimeIndex(plan.index)
    archive = h.store.pv_forecast_frame(index[0], index[-1] + timedelta(minutes=30))
    vintage = archive[archive["issued_utc"] == pd.Timestamp(issued)].drop(columns="source")
    values = PvVintages.from_frame(vintage, index, 30).at(issued, 0, len(index))
    return pd.Series(values, index=index)


def test_a_weather_server_that_fails_costs_no_command(
    make_harness: MakeHarness, weather_api: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="optimizer")
    h, service, weather = start(make_harness, weather_api)
    down_at = local("2023-06-15 12:00")
    h.run_until(down_at)
    # Up: every fetch stored as issued, the plans on the weather forecast.
    query = weather.calls[0][2]
    assert (query["tilt"], query["azimuth"], query["timezone"]) == ("35", "0", "GMT")
    stored = h.store.pv_forecast_frame(local("2023-06-14 00:00"), local("2023-06-18 00:00"))
    issued = sorted(set(stored["issued_utc"]))
    assert len(issued) == len(weather.calls) >= 30  # every 30 minutes, each one kept
    made = plans_between(h, local("2023-06-14 20:00"), down_at)
    assert made and all(inputs["pv_source"] == "open-meteo" for _, inputs in made)
    planned_at = pd.Timestamp(str(made[-1][1]["now"]))
    used = max(t for t in issued if t <= planned_at).to_pydatetime()  # the newest known then
    assert service.plan_id is not None and made[-1][1]["pv_issued_utc"] == used.isoformat()
    plan = h.store.plan_slots(service.plan_id)
    np.testing.assert_allclose(plan["pv_kwh"], planned_from_store(h, service.plan_id, used))
    last = issued[-1].to_pydatetime()
    assert plan["pv_kwh"].max() > 0.5  # a sunny afternoon, 4 kWp

    weather.down = True
    stale_at = down_at + MAX_AGE  # the last good vintage (issued ~12:00) grows stale here
    h.run_until(stale_at - timedelta(minutes=40))
    while_down = plans_between(h, down_at, stale_at - timedelta(minutes=40))
    assert while_down, "plans are made while the weather server is down"
    for plan_id, inputs in while_down:
        # the last good forecast, issued before the outage, while it covers the plan
        assert inputs["pv_source"] == "open-meteo"
        assert inputs["pv_issued_utc"] == last.isoformat()
        kept = h.store.plan_slots(plan_id)["pv_kwh"]
        covered = planned_from_store(h, plan_id, last)
        np.testing.assert_allclose(kept[covered.notna()], covered.dropna())
        assert int(str(inputs["pv_weather_slots"])) == int(covered.notna().sum()) > 0
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
    # Control never depended on the fetch.
    assert_in_control(h, service, local("2023-06-14 20:30"), local("2023-06-16 18:00"), caplog)
    assert any(down for _, down, _ in weather.calls)
    assert len(messages(caplog, "planning on the history forecast", logging.WARNING)) == 1
    assert len(messages(caplog, "back in use")) == 1
    assert len(messages(caplog, "PV forecast: open-meteo unreachable", logging.WARNING)) == 1
    assert not [r for r in caplog.records if r.exc_info]  # no tracebacks


def test_the_service_learns_the_roof_from_the_pv_it_measured(
    make_harness: MakeHarness, weather_api: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    """The forecast is for a 4 kWp roof, the simulated roof peaks at 2.5 kW: each plan records
    the raw forecast it planned on, the next local day's plans apply the calibration fitted on
    it against the measured PV, and the planned PV comes closer to what the roof makes."""
    caplog.set_level(logging.INFO, logger="optimizer")
    h, service, _ = start(make_harness, weather_api, calibrate=True)
    day3 = local("2023-06-17 06:00")
    h.run_until(day3)
    raw = h.store.load_series("pv_forecast", local("2023-06-14 00:00"), day3)
    assert len(raw) >= 48 and raw.max() > 0.5  # the raw forecast, as planned, per slot
    assert messages(caplog, "PV calibration: fitted on")
    assert service.plan_id is not None
    plan = h.store.plan_slots(service.plan_id)
    window = plan[
        (plan.index >= pd.Timestamp(day3))
        & (plan.index < pd.Timestamp(day3) + pd.Timedelta(hours=12))
    ]
    h.run_until(local("2023-06-17 18:30"))
    measured = h.store.load_series("pv", pd.Timestamp(day3), local("2023-06-17 18:00"))
    raw_day = h.store.load_series("pv_forecast", pd.Timestamp(day3), local("2023-06-17 18:00"))
    both = pd.concat([window["pv_kwh"].rename("planned"), raw_day.rename("raw"),
                      measured.rename("measured")], axis=1).dropna()  # fmt: skip
    both = both[both["measured"] > 0.05]
    assert len(both) >= 12
    planned_mae = float((both["planned"] - both["measured"]).abs().mean())
    raw_mae = float((both["raw"] - both["measured"]).abs().mean())
    assert planned_mae < 0.75 * raw_mae, (planned_mae, raw_mae)  # measured: 0.176 vs 0.283
    assert (window["pv_kwh"] >= 0).all()


def test_no_weather_server_at_all_plans_on_history_from_the_start(
    make_harness: MakeHarness, weather_api: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="optimizer")
    h, service, weather = start(make_harness, weather_api)
    weather.down = True
    h.run_until(local("2023-06-15 02:00"))
    made = plans_between(h, local("2023-06-14 20:00"), local("2023-06-15 02:00"))
    assert made and all(inputs["pv_source"] == "history" for _, inputs in made)
    assert_in_control(h, service, local("2023-06-14 20:30"), local("2023-06-15 02:00"), caplog)
    assert len(messages(caplog, "planning on the history forecast", logging.WARNING)) == 1
    assert len(weather.calls) == 12  # every 30 minutes over six hours: the interval kept


def test_a_short_forecast_is_never_read_past_its_horizon(
    make_harness: MakeHarness, weather_api: FakeApi
) -> None:
    h, service, weather = start(make_harness, weather_api, hours=6.0)
    h.run_until(local("2023-06-15 09:10"))
    assert service.plan_id is not None
    plan = h.store.plan_slots(service.plan_id)
    issued = weather.calls[-1][0]
    horizon = pd.Timestamp(issued).floor("15min") + pd.Timedelta(hours=6)
    inside = plan[plan.index + pd.Timedelta(minutes=30) <= horizon]
    assert len(inside) >= 10 and (plan.index >= horizon).sum() > 10
    np.testing.assert_allclose(
        inside["pv_kwh"], planned_from_store(h, service.plan_id, issued)[inside.index]
    )
    inputs = plans_between(h, local("2023-06-15 09:00"), local("2023-06-15 09:10"))[-1][1]
    assert inputs["pv_weather_slots"] == len(inside)  # from the horizon on: history


def test_the_views_show_the_pv_forecast_against_the_measured(
    make_harness: MakeHarness, weather_api: FakeApi
) -> None:
    from optimizer.integrations.switch import OptimiserSwitch
    from optimizer.integrations.web.server import StatusApp, StatusServer
    from optimizer.service.observe import ObservedService
    from optimizer.service.pvstats import pv_days, pv_error
    from tests.service.test_views import get

    h, plain, _ = start(make_harness, weather_api)
    service = ObservedService(plain.deps, switch=OptimiserSwitch(h.store))
    h.service = service
    h.run_until(local("2023-06-15 16:00"))
    snap = service.latest
    assert snap is not None and snap.pv.source == "open-meteo"
    # Today and tomorrow (local days): the stored vintage, as the next plan would use it.
    now = h.clock.now()
    today, tomorrow = pv_days(h.store, h.settings, now)
    assert snap.pv.today_kwh == pytest.approx(today) and today > 10.0
    # Per slot of the local day, the latest vintage issued by now that covers it (the hours
    # already past from the vintages issued then: each fetch is stored from its own hour on).
    index = pd.date_range(local("2023-06-15 00:00"), local("2023-06-16 00:00"), freq="30min",
                          inclusive="left")  # fmt: skip
    known = h.store.pv_forecast_frame(index[0], index[-1] + timedelta(minutes=30))
    per_slot = PvVintages.from_frame(known.drop(columns="source"), index, 30).at(now, 0, 48)
    assert np.isfinite(per_slot).all()  # the whole local day covered by the weather forecast
    assert today == pytest.approx(per_slot.sum(), rel=1e-9)
    assert snap.pv.tomorrow_kwh == pytest.approx(tomorrow) and tomorrow > 10.0
    error = snap.pv.error
    assert error is not None and error.slots >= 30
    assert error == pv_error(h.store, snap.time)
    app = StatusApp(lambda: service.latest, h.store, h.settings, h.clock.now)
    server = StatusServer(app, "127.0.0.1:0").start()
    try:
        code, _, chart = get(f"{server.url}/api/chart")
        _, text, _ = get(f"{server.url}/metrics")
        _, _, status = get(f"{server.url}/api/status")
    finally:
        server.close()
        service.close()
    assert code == 200
    rows = {pd.Timestamp(r["start"]): r for r in chart["pv"]}
    plan = h.store.plan_slots(service.plan_id)  # type: ignore[arg-type]
    for start_utc, kwh in plan["pv_kwh"].items():  # future slots: the plan in force's PV
        assert rows[pd.Timestamp(start_utc)]["forecast_kwh"] == pytest.approx(kwh, abs=1e-4)
    measured = h.store.load_series("pv", local("2023-06-14 00:00"), now)
    past = [r for r in chart["pv"] if r["measured_kwh"] is not None]
    assert len(past) >= 30 and max(r["measured_kwh"] for r in past) > 0.5
    for r in past:  # the PV the device measured (its metrics), per slot
        assert r["measured_kwh"] == pytest.approx(measured[pd.Timestamp(r["start"])], abs=1e-4)
    # The device's measured PV is the simulated roof's (its metrics' photovoltaicProduction).
    noon = pd.Timestamp(local("2023-06-15 13:00"))
    truth = sum(HOUSE.pv_w(noon + timedelta(minutes=m)) for m in range(30)) / 30 * 0.5 / 1000
    assert measured[noon] == pytest.approx(truth, rel=0.02)
    for line in (
        f"xstorage_pv_forecast_mae_kwh {error.mae_kwh!r}",
        f"xstorage_pv_forecast_bias_kwh {error.bias_kwh!r}",
        f"xstorage_pv_forecast_error_slots {float(error.slots)!r}",
        'xstorage_pv_forecast_weather{source="open-meteo"} 1.0',
        "xstorage_pv_forecast_today_kwh ",
        "xstorage_pv_forecast_tomorrow_kwh ",
    ):
        assert line in text, line
    assert status["pv_source"] == "open-meteo"
    assert status["pv_forecast_today_kwh"] == pytest.approx(today, abs=1e-3)
