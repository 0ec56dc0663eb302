"""Home Assistant over MQTT against the real Mosquitto broker: discovery payloads, state updates,
the switch round trip (persisted in the store) and the last will when the process is killed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from optimizer.config import MqttSettings
from optimizer.integrations.mqtt import SENSORS, HomeAssistantBridge
from optimizer.integrations.snapshot import PvError, PvView, SlotView, Snapshot
from optimizer.integrations.switch import OptimiserSwitch
from optimizer.store import DayTotals, Store
from tests.integrations.conftest import Listener

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2023, 10, 15, 12, tzinfo=UTC)
CHARGE = {"command": "SET_CHARGE", "duration": 1,
          "parameters": {"action": "ACTION_CHARGE", "power": 50, "soc": 80}}  # fmt: skip
BASIC = {"command": "SET_BASIC_MODE", "duration": 1, "parameters": None}


def settings(broker: str, prefixes: tuple[str, str]) -> MqttSettings:
    return MqttSettings(url=broker, discovery_prefix=prefixes[0], topic_prefix=prefixes[1])


def snapshot() -> Snapshot:
    step = timedelta(minutes=30)
    slots = tuple(
        SlotView(T0 + k * step, T0 + (k + 1) * step, "charge" if k < 2 else "idle",
                 1.8 if k < 2 else 0.0, 0.0, 1.0, 0.0, 40.0 + 10 * k, 50.0 + 10 * k,
                 0.12, 0.05, CHARGE if k < 2 else BASIC)
        for k in range(4)
    )  # fmt: skip
    today = DayTotals(T0.date(), "GBP", 1.25, 2.0, 3.0, 2.0, 6.0, 0.5, 12.0, T0)
    return Snapshot(
        time=T0 + timedelta(minutes=10), currency="GBP", timezone="Europe/London", enabled=True,
        soc_pct=43.2, planned_soc_pct=43.3, wanted=CHARGE, command=CHARGE, plan_id=7,
        plan_status="active", slots=slots, health=None, today=today,
        pv=PvView("open-meteo", "open-meteo", 12.3456, 8.0, PvError(0.1, -0.02, 48)),
    )  # fmt: skip


def test_discovery_state_and_switch_round_trip(
    broker: str, prefixes: tuple[str, str], listener: Listener, tmp_path: Path
) -> None:
    discovery, prefix = prefixes
    store = Store(f"sqlite:///{tmp_path / 'history.db'}")
    switch = OptimiserSwitch(store)
    bridge = HomeAssistantBridge(settings(broker, prefixes), switch, "GBP").start()
    try:
        node = f"{prefix}_optimizer"
        configs = {}
        for object_id in SENSORS:
            topic = f"{discovery}/sensor/{node}/{object_id}/config"
            configs[object_id] = json.loads(listener.wait_for(topic))
        switch_config = json.loads(listener.wait_for(f"{discovery}/switch/{node}/enabled/config"))
        assert listener.wait_for(f"{prefix}/status") == b"online"
        assert listener.wait_for(f"{prefix}/enabled") == b"ON"
        soc = configs["soc"]
        assert soc["state_topic"] == f"{prefix}/state"
        assert soc["availability_topic"] == f"{prefix}/status"
        assert (soc["unit_of_measurement"], soc["device_class"]) == ("%", "battery")
        assert soc["value_template"] == "{{ value_json.soc }}"
        assert configs["cost_today"]["unit_of_measurement"] == "GBP"
        assert configs["import_price"]["unit_of_measurement"] == "GBP/kWh"
        assert configs["next_action_start"]["device_class"] == "timestamp"
        for day in ("today", "tomorrow"):
            pv = configs[f"pv_forecast_{day}"]
            assert (pv["unit_of_measurement"], pv["device_class"]) == ("kWh", "energy")
            assert "state_class" not in pv  # a forecast is not a meter reading
            assert pv["value_template"] == f"{{{{ value_json.pv_forecast_{day} }}}}"
        assert len({c["unique_id"] for c in configs.values()}) == len(SENSORS)
        assert all(c["device"]["identifiers"] == [node] for c in configs.values())
        assert switch_config["command_topic"] == f"{prefix}/enabled/set"
        assert switch_config["state_topic"] == f"{prefix}/enabled"

        bridge.update(snapshot())
        state = json.loads(listener.wait_for(f"{prefix}/state"))
        assert state == {
            "soc": 43.2, "planned_soc": 43.3, "action": "charge", "next_action": "idle",
            "next_action_start": (T0 + timedelta(hours=1)).isoformat(), "import_price": 0.12,
            "export_price": 0.05, "cost_today": 1.25, "savings_today": 0.75,
            "plan_status": "active", "pv_forecast_today": 12.35, "pv_forecast_tomorrow": 8.0,
        }  # fmt: skip

        listener.drain()
        listener.client.publish(f"{prefix}/enabled/set", b"OFF", qos=1)
        assert listener.wait_for(f"{prefix}/enabled", b"OFF") == b"OFF"
        assert switch.enabled is False
        assert OptimiserSwitch(store).enabled is False  # stored: survives a restart
        listener.client.publish(f"{prefix}/enabled/set", b"ON", qos=1)
        assert listener.wait_for(f"{prefix}/enabled", b"ON") == b"ON"
        assert OptimiserSwitch(store).enabled is True
    finally:
        bridge.close()
        store.close()
    assert listener.wait_for(f"{prefix}/status", b"offline") == b"offline"


CHILD = """
import sys, time
from optimizer.config import MqttSettings
from optimizer.integrations.mqtt import HomeAssistantBridge
from optimizer.integrations.switch import OptimiserSwitch
settings = MqttSettings(url=sys.argv[1], discovery_prefix=sys.argv[2], topic_prefix=sys.argv[3])
HomeAssistantBridge(settings, OptimiserSwitch(None), "GBP").start()
while True:
    time.sleep(1)
"""


def test_last_will_when_the_service_is_killed(
    broker: str, prefixes: tuple[str, str], listener: Listener
) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, broker, *prefixes], cwd=ROOT)
    try:
        assert listener.wait_for(f"{prefixes[1]}/status", b"online") == b"online"
        os.kill(child.pid, signal.SIGKILL)  # no goodbye: the broker sends the will
        assert listener.wait_for(f"{prefixes[1]}/status", b"offline") == b"offline"
    finally:
        child.kill()
        child.wait(timeout=30)


def test_a_broker_that_is_not_there_never_raises(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bridge = HomeAssistantBridge(
        MqttSettings(url=f"mqtt://127.0.0.1:{port}"), OptimiserSwitch(None), "GBP"
    ).start()
    try:
        bridge.update(snapshot())  # queued, never blocks or raises
    finally:
        bridge.close()
