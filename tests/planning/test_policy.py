"""The command choice (``Policy.choose``) against the one device model and the exact optimum."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.domain import BatterySpec, GridSpec
from optimizer.planning import PlanOptions, build_problem, plan_policy
from optimizer.planning.device import apply_command
from tests.planning.conftest import price_and_energy_lists, series

START = datetime(2023, 6, 1, tzinfo=UTC)


@st.composite
def cases(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(min_value=2, max_value=12))
    return {
        **price_and_energy_lists(draw, n),
        "soc": draw(st.floats(min_value=0, max_value=100)),
        "asked": draw(st.lists(st.floats(0, 100), min_size=n, max_size=n)),
        "battery": BatterySpec(
            capacity_kwh=draw(st.sampled_from([4.2, 10.08])),
            min_soc_pct=draw(st.sampled_from([0.0, 10.0])),
            max_soc_pct=draw(st.sampled_from([90.0, 100.0])),
            max_charge_kw=draw(st.sampled_from([1.0, 3.6])),
            backup_pct=0.0,
        ),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_choice_is_what_the_device_model_does_with_its_command(
    case: dict[str, object],
) -> None:
    # The choice scores its options with array arithmetic; the command it returns, played by
    # the one device model, must do exactly what it scored, from any SOC it is asked at.
    battery = case["battery"]
    assert isinstance(battery, BatterySpec)
    problem = build_problem(
        series(case["imp"]), series(case["exp"]), series(case["load"]),  # type: ignore[arg-type]
        series(case["pv"]), battery, GridSpec(), float(case["soc"]), START,  # type: ignore[arg-type]
        PlanOptions(),
    )  # fmt: skip
    policy = plan_policy(problem, PlanOptions())
    for t, soc_pct in enumerate(case["asked"]):  # type: ignore[arg-type]
        soc = battery.kwh(soc_pct)
        choice = policy.choose(t, soc)
        played = apply_command(
            choice.command, soc, float(problem.load_kwh[t]), float(problem.pv_kwh[t]),
            problem.dt_h, battery, problem.grid,
        )  # fmt: skip
        for name in ("charge_kwh", "discharge_kwh", "import_kwh", "export_kwh", "soc_end_kwh"):
            assert getattr(choice.outcome, name) == pytest.approx(
                getattr(played, name), abs=1e-9
            ), name


def test_a_charge_target_is_reached_at_the_least_power_step() -> None:
    # From the 10 % reserve, storing to 20 % (0.42 kWh, what the dear slot's load needs after
    # the discharge losses) in half an hour takes 0.4565 kWh AC: 0.913 kW, 25.4 % of 3.6 kW,
    # so the least 5 % step is 30 %.
    prices = series([0.05, 0.50])
    load = series([0.0, 0.42 * 0.92])
    battery = BatterySpec()
    problem = build_problem(
        prices, None, load, None, battery, GridSpec(), 10.0, START,
        PlanOptions(terminal_soc_value="none"),
    )  # fmt: skip
    policy = plan_policy(problem, PlanOptions(terminal_soc_value="none"))
    choice = policy.choose(0, battery.kwh(10.0))
    assert choice.command.parameters == {"action": "ACTION_CHARGE", "power": 30, "soc": 20}
    assert choice.outcome.soc_end_kwh == pytest.approx(battery.kwh(20.0))
    assert np.isfinite(choice.score)
