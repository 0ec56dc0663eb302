"""The views of a running service (snapshot, daily rows, the page's JSON, /healthz, /metrics and
the "optimiser enabled" switch) on the simulator over real sockets, stepped on a manual clock."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.domain import DeviceCommand
from optimizer.integrations.switch import OptimiserSwitch
from optimizer.integrations.web.server import StatusApp, StatusServer
from optimizer.service.demo import run_demo
from optimizer.service.observe import ObservedService
from tests.service.conftest import EXPORT_PRODUCT, PRODUCT, Harness, MakeHarness, local

PLAN_FIELDS = {
    "start", "end", "action", "charge_kw", "discharge_kw", "grid_import_kwh", "grid_export_kwh",
    "soc_start_pct", "soc_end_pct", "price_import_per_kwh", "price_export_per_kwh", "command",
}  # fmt: skip
STATUS_FIELDS = {
    "soc_pct", "planned_soc_pct", "mode", "command", "command_confirmed", "device_reachable",
    "last_reading_utc", "prices_until_utc", "cost_today", "no_battery_cost_today",
    "savings_today", "currency",
}  # fmt: skip


def observe(h: Harness) -> ObservedService:
    """The harness's service process, observed."""
    plain = h.start_service()
    service = ObservedService(plain.deps, switch=OptimiserSwitch(h.store))
    h.service = service
    return service


@pytest.fixture
def served(make_harness: MakeHarness) -> Iterator[tuple[Harness, ObservedService, str]]:
    """18 simulated hours across local midnight, then the page on 127.0.0.1 (a free port)."""
    h = make_harness(local("2023-10-14 20:00"), soc_pct=30.0)
    service = observe(h)
    h.run_until(local("2023-10-15 14:00"))
    app = StatusApp(lambda: service.latest, h.store, h.settings, h.clock.now)
    server = StatusServer(app, "127.0.0.1:0").start()
    try:
        yield h, service, server.url
    finally:
        server.close()
        service.close()


def get(url: str, token: str | None = None) -> tuple[int, str, Any]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read().decode()
            kind = response.headers["Content-Type"]
            code = response.status
    except urllib.error.HTTPError as exc:
        body, kind, code = exc.read().decode(), exc.headers["Content-Type"], exc.code
    return code, body, json.loads(body) if kind.startswith("application/json") else None


def test_snapshot_and_daily_rows(served: tuple[Harness, ObservedService, str]) -> None:
    h, service, _ = served
    snap = service.latest
    assert snap is not None  # published after the last job, at most one poll before the end
    assert local("2023-10-15 13:55") <= snap.time < local("2023-10-15 14:00")
    assert snap.health is None and snap.plan_status == "active" and snap.device_reachable
    assert snap.soc_pct is not None and snap.planned_soc_pct is not None
    assert snap.plan_id == service.plan_id and snap.slots and snap.slot_at() is not None
    assert snap.prices_until_utc == h.store.price_coverage(h.settings.tariff.import_code())
    days = {d.day: d for d in h.store.days()}
    assert set(days) == {date(2023, 10, 14), date(2023, 10, 15)}
    assert days[date(2023, 10, 14)].hours_measured == pytest.approx(4.0)  # 20:00 to midnight
    assert snap.today is not None and snap.today.day == date(2023, 10, 15)
    assert snap.today.savings == pytest.approx(snap.today.no_battery_cost - snap.today.cost)
    assert snap.today.charged_kwh + snap.today.discharged_kwh > 0
    sent = h.store.commands(local("2023-10-14 20:00"), local("2023-10-15 14:01"))
    counted = snap.counters.commands
    assert sum(counted.values()) == len(sent) > 0
    assert sum(n for (_, result), n in counted.items() if result == "ok") == sum(
        1 for c in sent if c.ok
    )
    assert snap.counters.replans.get(("slot boundary", "made"), 0) >= 1
    assert snap.counters.solve.total == sum(
        n for (_, result), n in snap.counters.replans.items() if result == "made"
    )


def test_status_plan_health_and_metrics_over_http(
    served: tuple[Harness, ObservedService, str],
) -> None:
    h, service, url = served
    code, _, status = get(f"{url}/api/status")
    assert code == 200 and set(status) >= STATUS_FIELDS
    assert status["currency"] == "GBP" and status["device_reachable"] is True
    assert status["soc_pct"] == pytest.approx(service.reading.soc_pct, abs=0.01)  # type: ignore[union-attr]
    assert status["command_confirmed"] is True  # the simulator runs what it was told
    code, _, plan = get(f"{url}/api/plan")
    assert code == 200 and plan["plan_id"] == service.plan_id
    assert plan["slots"] and all(set(s) == PLAN_FIELDS for s in plan["slots"])
    stored = h.store.plan_slots(service.plan_id)  # type: ignore[arg-type]
    assert [s["command"] for s in plan["slots"]] == list(stored["command"])
    code, _, chart = get(f"{url}/api/chart")
    assert code == 200 and chart["measured_soc"] and chart["prices"] and chart["commands"]
    _check_load_against_the_store(h, service, chart["load"])
    assert get(f"{url}/healthz")[:1] == (200,)
    code, text, _ = get(f"{url}/metrics")
    assert code == 200
    for name in (
        "xstorage_soc_percent", "xstorage_planned_soc_percent", "xstorage_device_up 1.0",
        "xstorage_last_reading_age_seconds", 'xstorage_commands_total{kind=',
        "xstorage_readback_mismatches_total 0.0", 'xstorage_replans_total{reason="slot boundary"',
        "xstorage_plan_solve_seconds_bucket", 'xstorage_import_price_per_kwh{currency="GBP"}',
        'xstorage_export_price_per_kwh{currency="GBP"}', 'xstorage_cost_today{currency="GBP"}',
        'xstorage_savings_today{currency="GBP"}',
    ):  # fmt: skip
        assert name in text, name
    assert get(f"{url}/nothing-here")[0] == 404


def _check_load_against_the_store(
    h: Harness, service: ObservedService, load: list[dict[str, Any]]
) -> None:
    """Future slots: the plan in force's forecast; past slots: the newest plan that held them
    and the load measured (the metrics import's energy rows)."""
    plan = h.store.plan_slots(service.plan_id)  # type: ignore[arg-type]
    by_start = {row["start"]: row for row in load}
    for start, kwh in plan["load_kwh"].items():
        assert by_start[start.isoformat().replace("+00:00", "Z")]["forecast_kwh"] == pytest.approx(
            kwh, abs=1e-4
        )
    past = [row for row in load if row["measured_kwh"] is not None]
    assert past, "some past slot has its measured load"
    first = min(pd.Timestamp(row["start"]) for row in past).to_pydatetime()
    stored = h.store.load_series("load", first, h.clock.now())
    for row in past:
        assert row["measured_kwh"] == pytest.approx(stored[pd.Timestamp(row["start"])], abs=1e-4)
    assert all(pd.Timestamp(row["start"]) < pd.Timestamp(h.clock.now()) for row in past)


def test_switched_off_stops_forcing_until_switched_on(
    served: tuple[Harness, ObservedService, str],
) -> None:
    h, service, url = served
    fallback = h.settings.service.fallback_mode
    service.switch.set(False, source="test")
    before = len(h.commands())
    h.run_until(local("2023-10-15 16:00"))
    off = h.commands()[before:]
    assert all(c["body"]["command"] == fallback for c in off)
    assert h.sim.device.current_mode()["command"] == fallback  # type: ignore[attr-defined]
    code, _, body = get(f"{url}/healthz")
    assert (code, body["reason"]) == (503, "optimiser switched off")
    assert OptimiserSwitch(h.store).enabled is False  # survives a restart
    service.switch.set(True, source="test")
    h.run_until(local("2023-10-15 17:00"))
    assert get(f"{url}/healthz")[0] == 200
    assert OptimiserSwitch(h.store).enabled is True
    assert service.latest is not None and service.latest.plan_status == "active"
    kinds = {c["body"]["command"] for c in h.commands()}
    assert DeviceCommand.SET_CHARGE in kinds or DeviceCommand.SET_BASIC_MODE in kinds


def test_token_required_for_every_request(served: tuple[Harness, ObservedService, str]) -> None:
    h, service, _ = served
    app = StatusApp(lambda: service.latest, h.store, h.settings, h.clock.now, token="s3cret")
    server = StatusServer(app, "127.0.0.1:0").start()
    try:
        for path in ("/", "/api/status", "/api/plan", "/healthz", "/metrics"):
            assert get(server.url + path)[0] == 401
            assert get(server.url + path, token="wrong")[0] == 401
            assert get(server.url + path, token="s3cret")[0] in (200,)
        assert get(server.url + "/api/status?token=s3cret")[0] == 200
    finally:
        server.close()


def test_no_timestamps_from_the_wall_clock(served: tuple[Harness, ObservedService, str]) -> None:
    _, service, _ = served
    assert service.latest is not None
    assert all(e.time <= service.latest.time + timedelta(seconds=1) for e in service.latest.events)


def test_show_prints_the_plan_and_status_from_the_store(
    served: tuple[Harness, ObservedService, str], tmp_path: Path
) -> None:
    h, service, _ = served
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tariff]\nsource = "octopus"\nimport_product = "{PRODUCT}"\n'
        f'export_product = "{EXPORT_PRODUCT}"\nregion = "C"\n'
        f'[store]\nurl = "{h.settings.store.url}"\n'
    )
    runner = CliRunner()
    at = ["--at", "2023-10-15T13:00:00Z"]
    done = runner.invoke(app, ["show", "--config", str(config), "--json", *at])
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    assert doc["plan"]["id"] == service.plan_id and doc["optimiser_enabled"] is True
    latest = h.store.latest_reading()
    assert latest is not None and doc["reading"]["soc_pct"] == latest.soc_pct
    assert doc["today"]["day"] == "2023-10-15" and doc["yesterday"]["day"] == "2023-10-14"
    assert doc["prices_until_utc"] is not None and doc["commands_24h"] > 0
    done = runner.invoke(app, ["show", "--config", str(config), *at])
    assert done.exit_code == 0, done.output
    for text in (
        "optimiser",
        "SOC",
        "prices known until",
        "saved to date",
        f"plan {service.plan_id}",
    ):
        assert text in done.stdout, text


def test_demo_serves_the_page_while_it_runs(tmp_path: Path) -> None:
    """``demo``'s APScheduler path with the views: the page answers from the running service."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    answers: list[dict[str, Any]] = []

    def progress(_now: object) -> None:  # called from the demo's reporter, the last time at the end
        code, _, body = get(f"http://127.0.0.1:{port}/api/status")
        if code == 200:
            answers.append(body)

    result = run_demo(hours=1.0, speed=900, workdir=tmp_path, listen=f"127.0.0.1:{port}",
                      progress=progress)  # fmt: skip
    assert answers, "the page never answered during the demo"
    last = answers[-1]
    assert last["currency"] == "GBP" and last["soc_pct"] is not None and last["plan_id"]
    assert result.summary.commands_sent >= 1
    with pytest.raises(urllib.error.URLError, match="refused"):  # closed with the demo
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)


def test_readback_mismatches_counted_from_the_services_own_count(
    served: tuple[Harness, ObservedService, str],
) -> None:
    """The service counts consecutive mismatches and resets on a confirmation; the total only
    ever grows by what was added."""
    _, service, url = served
    for failures in (2, 0, 1):
        service.progress = replace(service.progress, readback_failures=failures)
        service.publish()
    assert service.latest is not None and service.latest.counters.readback_mismatches == 3
    assert "xstorage_readback_mismatches_total 3.0" in get(f"{url}/metrics")[1]
