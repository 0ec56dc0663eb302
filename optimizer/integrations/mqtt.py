"""Home Assistant over MQTT discovery (``paho-mqtt``): one device, its sensors, an availability
topic with a last will, and the "optimiser enabled" switch.

Topics (``P`` = ``mqtt.topic_prefix``, ``D`` = ``mqtt.discovery_prefix``, ``N`` = the node id):

* ``P/status``: ``online`` / ``offline`` (retained; the broker sends ``offline`` as our last
  will when the connection dies without a goodbye);
* ``P/state``: one retained JSON object every sensor reads with its ``value_template``;
* ``P/enabled`` (retained ``ON``/``OFF``) and ``P/enabled/set`` (Home Assistant's command);
* ``D/sensor/N/<object>/config`` and ``D/switch/N/enabled/config``: retained discovery configs.

The client connects in the background and reconnects by itself; a broker that is down or
refuses us is logged once and never delays the service (``publish`` only queues).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from optimizer.config import MqttSettings
from optimizer.integrations.snapshot import Snapshot, action_label
from optimizer.integrations.switch import OptimiserSwitch

log = logging.getLogger(__name__)

ON, OFF = "ON", "OFF"

#: object id → (name, unit or None ("{cur}" = the currency), device class, state class, icon)
SENSORS: dict[str, tuple[str, str | None, str | None, str | None, str | None]] = {
    "soc": ("Battery SOC", "%", "battery", "measurement", None),
    "planned_soc": ("Planned SOC", "%", None, "measurement", "mdi:battery-clock"),
    "action": ("Current action", None, None, None, "mdi:battery-sync"),
    "next_action": ("Next action", None, None, None, "mdi:battery-arrow-up-outline"),
    "next_action_start": ("Next action start", None, "timestamp", None, None),
    "import_price": ("Import price now", "{cur}/kWh", None, "measurement", "mdi:cash-plus"),
    "export_price": ("Export price now", "{cur}/kWh", None, "measurement", "mdi:cash-minus"),
    "cost_today": ("Cost today", "{cur}", "monetary", "total", None),
    "savings_today": ("Savings today", "{cur}", "monetary", "total", None),
    "plan_status": ("Plan status", None, None, None, "mdi:calendar-check"),
    "pv_forecast_today": ("PV forecast today", "kWh", "energy", None, "mdi:solar-power"),
    "pv_forecast_tomorrow": ("PV forecast tomorrow", "kWh", "energy", None, "mdi:solar-power"),
}


class Topics:
    """Every topic of one installation."""

    def __init__(self, settings: MqttSettings) -> None:
        p = settings.topic_prefix
        self.node = p.replace("/", "_") + "_optimizer"
        self.availability = f"{p}/status"
        self.state = f"{p}/state"
        self.switch_state = f"{p}/enabled"
        self.switch_set = f"{p}/enabled/set"
        self.discovery = settings.discovery_prefix

    def config(self, component: str, object_id: str) -> str:
        """The discovery config topic of one entity."""
        return f"{self.discovery}/{component}/{self.node}/{object_id}/config"


def _device(topics: Topics) -> dict[str, Any]:
    return {
        "identifiers": [topics.node],
        "name": "xStorage optimiser",
        "manufacturer": "xstorage-optimizer",
        "model": "Tariff-aware scheduler for the Eaton xStorage Home",
    }


def discovery_configs(topics: Topics, currency: str) -> dict[str, dict[str, Any]]:
    """Discovery topic → config payload for every sensor and the switch."""
    common = {
        "availability_topic": topics.availability,
        "device": _device(topics),
        "origin": {"name": "xstorage-optimizer"},
    }
    configs: dict[str, dict[str, Any]] = {}
    for object_id, (name, unit, device_class, state_class, icon) in SENSORS.items():
        config: dict[str, Any] = {
            **common, "name": name, "unique_id": f"{topics.node}_{object_id}",
            "state_topic": topics.state, "value_template": f"{{{{ value_json.{object_id} }}}}",
        }  # fmt: skip
        optional = {
            "unit_of_measurement": unit.format(cur=currency) if unit else None,
            "device_class": device_class,
            "state_class": state_class,
            "icon": icon,
        }
        config.update({k: v for k, v in optional.items() if v is not None})
        configs[topics.config("sensor", object_id)] = config
    configs[topics.config("switch", "enabled")] = {
        **common, "name": "Optimiser enabled", "unique_id": f"{topics.node}_enabled",
        "state_topic": topics.switch_state, "command_topic": topics.switch_set,
        "payload_on": ON, "payload_off": OFF, "icon": "mdi:robot",
    }  # fmt: skip
    return configs


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _kwh(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def state_json(snap: Snapshot) -> dict[str, Any]:
    """The ``P/state`` object (``None`` → ``null``: Home Assistant shows *unknown*)."""
    slot = snap.slot_at()
    nxt = snap.next_change()
    today = snap.today
    now = snap.command if snap.plan_status != "active" else snap.wanted
    return {
        "soc": None if snap.soc_pct is None else round(snap.soc_pct, 1),
        "planned_soc": None if snap.planned_soc_pct is None else round(snap.planned_soc_pct, 1),
        "action": action_label(now),
        "next_action": action_label(nxt.command) if nxt else None,
        "next_action_start": nxt.start.isoformat() if nxt else None,
        "import_price": slot.price_import_per_kwh if slot else None,
        "export_price": slot.price_export_per_kwh if slot else None,
        "cost_today": _money(today.cost) if today else None,
        "savings_today": _money(today.savings) if today else None,
        "plan_status": snap.plan_status,
        "pv_forecast_today": _kwh(snap.pv.today_kwh),
        "pv_forecast_tomorrow": _kwh(snap.pv.tomorrow_kwh),
    }


class HomeAssistantBridge:
    """Publishes snapshots for Home Assistant and carries its switch commands to ``switch``."""

    def __init__(
        self, settings: MqttSettings, switch: OptimiserSwitch, currency: str, client_id: str = ""
    ) -> None:
        self.settings = settings
        self.topics = Topics(settings)
        self.switch = switch
        self.currency = currency
        self._last: str | None = None
        self._warned = False
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.will_set(self.topics.availability, "offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=60)
        switch.listen(self._publish_switch)

    def start(self) -> HomeAssistantBridge:
        """Connect in the background (``settings.url``); reconnects by itself."""
        parts = urlsplit(self.settings.url)
        secure = parts.scheme == "mqtts"
        if self.settings.username:
            self.client.username_pw_set(self.settings.username, self.settings.password())
        if secure:
            self.client.tls_set()
        port = parts.port or (8883 if secure else 1883)
        self.client.connect_async(parts.hostname or "127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        return self

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self._warn(f"broker refused the connection: {reason}")
            return
        self._warned = False
        log.info("mqtt: connected to %s", self.settings.url)
        for topic, config in discovery_configs(self.topics, self.currency).items():
            client.publish(topic, json.dumps(config), qos=1, retain=True)
        client.subscribe(self.topics.switch_set, qos=1)
        client.publish(self.topics.availability, "online", qos=1, retain=True)
        self._publish_switch(self.switch.enabled)
        if self._last is not None:
            client.publish(self.topics.state, self._last, qos=0, retain=True)

    def _on_connect_fail(self, _client: mqtt.Client, _u: Any) -> None:
        self._warn(f"cannot reach the broker at {self.settings.url}; retrying")

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning("mqtt: %s (logged once until connected)", message)

    def _on_message(self, _client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        payload = message.payload.decode(errors="replace").strip().upper()
        if message.topic != self.topics.switch_set or payload not in (ON, OFF):
            log.warning("mqtt: ignored %r on %s", payload[:20], message.topic)
            return
        self.switch.set(payload == ON, source="Home Assistant")

    def _publish_switch(self, enabled: bool) -> None:
        self.client.publish(self.topics.switch_state, ON if enabled else OFF, qos=1, retain=True)

    def update(self, snapshot: Snapshot) -> None:
        """Publish the sensors' state when it changed (retained)."""
        payload = json.dumps(state_json(snapshot), sort_keys=True)
        if payload != self._last:
            self._last = payload
            self.client.publish(self.topics.state, payload, qos=0, retain=True)

    def close(self, timeout_s: float = 2.0) -> None:
        """Say ``offline`` (a clean goodbye sends no last will) and disconnect."""
        if self.client.is_connected():
            info = self.client.publish(self.topics.availability, "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout_s)
            except (RuntimeError, ValueError) as exc:
                log.warning("mqtt: offline not published (%s)", exc)
        self.client.disconnect()
        self.client.loop_stop()
