"""5xx bursts, dropped and refused connections, timeouts, unknown fields: what is retried."""

from __future__ import annotations

import time

import httpx
import pytest

from optimizer.device.client import ClientOptions
from optimizer.device.simulator import Simulator
from optimizer.device.tls import pinned_context
from optimizer.errors import DeviceUnreachable

from .conftest import FAST, MakeClient, paths

STATUS = "/api/device/status"
COMMAND = "/api/device/command"


def test_5xx_burst_on_a_read_is_retried(sim: Simulator, make_client: MakeClient) -> None:
    client = make_client()
    sim.faults.path, sim.faults.fail = STATUS, 2
    assert client.status().energy_flow.soc_pct == 50
    assert paths(sim, "GET", STATUS) == 3


def test_persistent_5xx_is_unreachable_after_three_attempts(
    sim: Simulator, make_client: MakeClient
) -> None:
    client = make_client()
    sim.faults.path, sim.faults.fail = STATUS, 10
    with pytest.raises(DeviceUnreachable, match="HTTP 503"):
        client.status()
    assert paths(sim, "GET", STATUS) == 3


def test_5xx_on_a_command_is_not_retried(sim: Simulator, make_client: MakeClient) -> None:
    client = make_client()
    sim.faults.path, sim.faults.fail = COMMAND, 1
    with pytest.raises(DeviceUnreachable):
        client.basic(1)
    assert paths(sim, "POST", COMMAND) == 1


def test_dropped_connection_on_a_read_is_retried(sim: Simulator, make_client: MakeClient) -> None:
    client = make_client()
    client.status()
    sim.faults.path, sim.faults.drop = STATUS, 1
    client.status()
    assert paths(sim, "GET", STATUS) == 3


def test_dropped_command_is_not_resent(sim: Simulator, make_client: MakeClient) -> None:
    """The device may have acted on it: sending again could double a command."""
    client = make_client()
    sim.faults.path, sim.faults.drop = COMMAND, 1
    with pytest.raises(DeviceUnreachable, match="RemoteProtocolError"):
        client.charge(50, 90, 1)
    assert paths(sim, "POST", COMMAND) == 1


def test_command_on_a_refused_connection_is_retried_once(
    sim: Simulator, make_client: MakeClient
) -> None:
    """A connection closed before TLS provably carried nothing: one retry is safe."""
    http = httpx.Client(
        verify=pinned_context(sim.fingerprint), limits=httpx.Limits(max_keepalive_connections=0)
    )
    client = make_client(http=http)
    client.status()
    sim.faults.refuse = 1
    assert client.charge(50, 90, 1).confirmed is not None
    assert paths(sim, "POST", COMMAND) == 1
    assert len(sim.command_log) == 1


def test_command_refused_twice_is_unreachable(sim: Simulator, make_client: MakeClient) -> None:
    http = httpx.Client(
        verify=pinned_context(sim.fingerprint), limits=httpx.Limits(max_keepalive_connections=0)
    )
    client = make_client(http=http)
    client.status()
    sim.faults.refuse = 2
    with pytest.raises(DeviceUnreachable, match="ConnectError"):
        client.basic(1)
    assert sim.command_log == []


def test_read_timeout_on_a_command_is_not_retried(sim: Simulator, make_client: MakeClient) -> None:
    options = ClientOptions(
        timeout=httpx.Timeout(0.3), readback_interval_s=FAST.readback_interval_s
    )
    client = make_client(options=options)
    client.status()
    sim.faults.latency_path, sim.faults.latency_s = COMMAND, 0.6
    with pytest.raises(DeviceUnreachable, match="ReadTimeout"):
        client.basic(1)
    assert paths(sim, "POST", COMMAND) == 1
    deadline = time.monotonic() + 2.0
    while not sim.command_log and time.monotonic() < deadline:
        time.sleep(0.02)  # the server is still sleeping out its latency
    assert len(sim.command_log) == 1  # the device did act on it: exactly why it is not re-sent


def test_read_timeouts_on_reads_are_retried_then_unreachable(
    sim: Simulator, make_client: MakeClient
) -> None:
    client = make_client(options=ClientOptions(timeout=httpx.Timeout(0.2), read_attempts=2))
    client.status()
    sim.faults.latency_path, sim.faults.latency_s = STATUS, 0.4
    with pytest.raises(DeviceUnreachable, match="ReadTimeout"):
        client.status()
    assert paths(sim, "GET", STATUS) == 3  # the first good read, then two timed out


def test_nothing_listening_is_unreachable(make_client: MakeClient, sim: Simulator) -> None:
    port = sim.port
    sim.stop()
    client = make_client(url=f"https://127.0.0.1:{port}")
    with pytest.raises(DeviceUnreachable, match="could not reach"):
        client.status()


def test_unknown_fields_and_enum_values_over_the_wire(
    sim: Simulator, make_client: MakeClient
) -> None:
    sim.device.overrides[STATUS] = {
        "energyFlow": {
            "batteryStatus": "BAT_BALANCING",
            "operationMode": "MIN_COST_ELECTRICITY",
            "gridRole": "SUPPLYING",
            "brandNewCounter": {"nested": [1, 2]},
        },
        "currentMode": {"command": "SET_SOMETHING_NEW", "status": "ACTIVE"},
        "anotherBlock": True,
    }
    status = make_client().status()
    assert status.energy_flow.battery_status == "BAT_BALANCING"
    assert status.energy_flow.operation_mode == "MIN_COST_ELECTRICITY"
    assert status.current_mode is not None
    assert status.current_mode.command == "SET_SOMETHING_NEW"
    assert status.current_mode_raw is not None
    assert status.current_mode_raw["status"] == "ACTIVE"
