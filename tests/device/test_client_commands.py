"""Commands over real sockets: wire bodies as received, read-back, mismatches, reboots."""

from __future__ import annotations

from datetime import timedelta

import pytest

from optimizer.device.simulator import Simulator
from optimizer.errors import DeviceRefused, InvalidInput, ReadBackMismatch

from .conftest import MakeClient, paths


def received(sim: Simulator) -> list[object]:
    return [entry["body"] for entry in sim.command_log]


@pytest.mark.parametrize(
    ("send", "body"),
    [
        (
            lambda c: c.charge(50, 90, 1),
            {
                "command": "SET_CHARGE",
                "duration": 1,
                "parameters": {"action": "ACTION_CHARGE", "power": 50, "soc": 90},
            },
        ),
        (
            lambda c: c.discharge(40, 20, 2),
            {
                "command": "SET_CHARGE",
                "duration": 2,
                "parameters": {"action": "ACTION_DISCHARGE", "power": 40, "soc": 20},
            },
        ),
        (lambda c: c.basic(3), {"command": "SET_BASIC_MODE", "duration": 3, "parameters": None}),
        (
            lambda c: c.maximize_auto_consumption(1),
            {"command": "SET_MAXIMIZE_AUTO_CONSUMPTION", "duration": 1, "parameters": None},
        ),
        (
            lambda c: c.variable_grid_injection(1500, 1),
            {
                "command": "SET_VARIABLE_GRID_INJECTION",
                "duration": 1,
                "parameters": {"maximumPower": 1500},
            },
        ),
        (
            lambda c: c.frequency_regulation(50, 60, 1),
            {
                "command": "SET_FREQUENCY_REGULATION",
                "duration": 1,
                "parameters": {"powerAllocation": 50, "optimalSoc": 60},
            },
        ),
        (
            lambda c: c.peak_shaving(3000, 1),
            {
                "command": "SET_PEAK_SHAVING",
                "duration": 1,
                "parameters": {"maxHousePeakConsumption": 3000},
            },
        ),
    ],
)
def test_every_command_wire_body_and_confirmation(
    sim: Simulator, make_client: MakeClient, send, body
) -> None:
    if body["command"] == "SET_MAXIMIZE_AUTO_CONSUMPTION":
        sim.config.default_command = "SET_BASIC_MODE"  # so the read-back has to see a change
    result = send(make_client())
    assert received(sim) == [body]
    assert result.confirmed is not None
    assert result.accepted.id == result.confirmed.id


def test_set_discharge_form_is_confirmed_from_the_action(
    sim: Simulator, make_client: MakeClient
) -> None:
    result = make_client(discharge_command="SET_DISCHARGE").discharge(40, 20, 1)
    assert received(sim)[0]["command"] == "SET_DISCHARGE"
    assert result.confirmed is not None
    assert result.confirmed.command == "SET_CHARGE"  # how the device echoes it
    assert result.confirmed.action == "ACTION_DISCHARGE"


def test_read_back_waits_out_the_lag(sim: Simulator, make_client: MakeClient, clock) -> None:
    sim.config.lag = timedelta(seconds=4)
    before = clock.now()
    make_client().charge(50, 90, 1)
    # status reads at +1.5 s and +3.0 s still show the old mode; +4.5 s confirms
    assert paths(sim, "GET", "/api/device/status") == 3
    assert clock.now() - before == timedelta(seconds=4.5)


def test_read_back_mismatch_is_an_error_not_success(
    sim: Simulator, make_client: MakeClient
) -> None:
    sim.config.lag = timedelta(seconds=30)  # the device never shows it within 10 s
    with pytest.raises(
        ReadBackMismatch,
        match="SET_MAXIMIZE_AUTO_CONSUMPTION/None instead of SET_CHARGE/ACTION_CHARGE",
    ):
        make_client().charge(50, 90, 1)
    assert paths(sim, "GET", "/api/device/status") == 7  # polled ~10 s, then gave up
    assert paths(sim, "POST", "/api/device/command") == 1  # and never re-sent


def test_reboot_mid_command_is_reported_as_mismatch(
    sim: Simulator, make_client: MakeClient
) -> None:
    client = make_client()
    sim.device.reboot_on_next_command = True  # accepted, then the controller reboots
    with pytest.raises(ReadBackMismatch):
        client.charge(50, 90, 2)
    assert sim.device.stats.reboots == 1
    assert sim.sign_in_attempts == 2  # the reboot dropped the token: one fresh sign-in
    assert paths(sim, "POST", "/api/device/command") == 1


def test_reboot_after_confirmation_drops_token_and_mode(
    sim: Simulator, make_client: MakeClient, clock
) -> None:
    client = make_client()
    client.charge(50, 90, 2)
    sim.reboot(downtime=timedelta(seconds=1))
    status = client.status()  # refused while down, retried after backoff, 401, fresh sign-in
    assert status.current_mode is not None
    assert status.current_mode.type == "DEFAULT"
    assert sim.sign_in_attempts == 2


def test_invalid_commands_never_reach_the_device(sim: Simulator, make_client: MakeClient) -> None:
    client = make_client()
    with pytest.raises(InvalidInput, match="power_pct"):
        client.charge(3, 90, 1)
    with pytest.raises(InvalidInput, match="duration_h"):
        client.basic(13)
    assert sim.command_log == []


def test_discharge_floor_below_backup_level_is_refused_before_sending(
    sim: Simulator, make_client: MakeClient
) -> None:
    sim.device.battery.backup_pct = 20.0
    with pytest.raises(InvalidInput, match="backup level"):
        make_client().discharge(50, 10, 1)
    assert sim.command_log == []


def test_device_400_is_device_refused_with_its_error(
    sim: Simulator, make_client: MakeClient
) -> None:
    client = make_client()
    with pytest.raises(DeviceRefused, match="set_manual_command"):
        client._call("POST", "/api/device/command", idempotent=False, json={})
    assert sim.command_log[0]["status"] == 400


def test_unknown_path_is_refused_404(sim: Simulator, make_client: MakeClient) -> None:
    with pytest.raises(DeviceRefused, match="404 page not found"):
        make_client()._call("GET", "/api/nope")
