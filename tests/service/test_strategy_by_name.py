"""``service.strategy`` other than ``lp`` is resolved by name through the strategy registry."""

from __future__ import annotations

from datetime import timedelta

from tests.service.conftest import MakeHarness, local, service_settings


def test_a_registered_strategy_drives_the_service(make_harness: MakeHarness) -> None:
    start = local("2023-10-15 00:50")
    h = make_harness(start, service=service_settings(strategy="cheapest-slots"))
    service = h.start_service()
    h.run_until(start + timedelta(hours=1))
    plan = h.store.latest_plan()
    assert plan is not None and plan.strategy == "cheapest-slots"
    sent = h.commands()
    assert sent
    slot = max(t for t in service.executed if t <= sent[-1]["at"])
    assert sent[-1]["body"] == service.executed[slot].command.body()
