"""The real Mosquitto broker at 127.0.0.1:1883 (``.ci/mosquitto.sh`` starts it in CI).

Unreachable: the MQTT tests fail when ``CI`` is set and skip, saying why, otherwise. Each test
uses its own topic prefixes, so runs never see each other's retained messages.
"""

from __future__ import annotations

import os
import queue
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

BROKER = ("127.0.0.1", 1883)
WAIT_S = 20.0


def _broker_problem() -> str | None:
    try:
        with socket.create_connection(BROKER, timeout=3):
            return None
    except OSError as exc:
        return f"Mosquitto at {BROKER[0]}:{BROKER[1]} unreachable: {exc}"


@pytest.fixture(scope="session")
def broker() -> str:
    """The broker's URL; fail in CI, skip elsewhere, when it is not there."""
    problem = _broker_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{problem} (CI=true: run .ci/mosquitto.sh first)")
        pytest.skip(problem)
    return f"mqtt://{BROKER[0]}:{BROKER[1]}"


@dataclass
class Listener:
    """A plain MQTT client that records every message under some topics."""

    client: mqtt.Client
    messages: queue.Queue[tuple[str, bytes, bool]] = field(default_factory=queue.Queue)
    seen: list[tuple[str, bytes, bool]] = field(default_factory=list)

    def wait_for(self, topic: str, payload: bytes | None = None) -> bytes:
        """The first message (seen before or arriving within ``WAIT_S``) on ``topic`` (with
        ``payload`` if given); fails the test when none comes."""
        for t, p, _ in self.seen:
            if t == topic and (payload is None or p == payload):
                return p
        while True:
            try:
                t, p, r = self.messages.get(timeout=WAIT_S)
            except queue.Empty:
                pytest.fail(f"no message {payload!r} on {topic} within {WAIT_S:g} s")
            self.seen.append((t, p, r))
            if t == topic and (payload is None or p == payload):
                return p

    def drain(self) -> None:
        """Forget what was seen (new messages only from now)."""
        self.seen.clear()
        while not self.messages.empty():
            self.messages.get_nowait()


@pytest.fixture
def prefixes() -> tuple[str, str]:
    """(discovery prefix, topic prefix), unique to the test."""
    tag = uuid.uuid4().hex[:10]
    return f"xso-test-ha-{tag}", f"xso-test-{tag}"


@pytest.fixture
def listener(broker: str, prefixes: tuple[str, str]) -> Iterator[Listener]:
    """Subscribed to everything under both prefixes before the test starts."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    got = Listener(client)
    subscribed = queue.Queue[int]()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        got.messages.put((message.topic, message.payload, bool(message.retain)))

    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.put(1)
    client.connect(*BROKER)
    client.loop_start()
    client.subscribe([(f"{p}/#", 1) for p in prefixes])
    subscribed.get(timeout=WAIT_S)
    try:
        yield got
    finally:
        while not got.messages.empty():
            got.seen.append(got.messages.get_nowait())
        for topic in {t for t, p, _ in got.seen if p}:  # clear what we left retained
            client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()
