"""``[web]`` and ``[mqtt]``: defaults, the loopback rule for the page, the secrets from the env."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.config import load_settings, parse_settings
from optimizer.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def problems(raw: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    return caught.value.problems


def test_shipped_defaults() -> None:
    settings = load_settings(ROOT / "config.toml")
    assert settings.web.listen == "127.0.0.1:8765" and settings.web.loopback
    assert settings.web.token() == ""
    assert settings.mqtt.url == ""
    assert (settings.mqtt.discovery_prefix, settings.mqtt.topic_prefix) == (
        "homeassistant",
        "xstorage",
    )


def test_off_loopback_needs_a_token_env() -> None:
    assert problems({"web": {"listen": "0.0.0.0:8765"}}) == [
        "web.token_env = '': must name the environment variable holding the bearer token when "
        'listen = "0.0.0.0:8765" (not a loopback address): every request must then carry it'
    ]
    settings = parse_settings({"web": {"listen": "0.0.0.0:8765", "token_env": "XSO_TOKEN"}})
    assert not settings.web.loopback
    assert parse_settings({"web": {"listen": ""}}).web.listen == ""
    assert parse_settings({"web": {"listen": "[::1]:9000"}}).web.loopback


def test_token_and_password_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = parse_settings(
        {"web": {"listen": "0.0.0.0:1", "token_env": "XSO_T"}, "mqtt": {"password_env": "XSO_P"}}
    )
    monkeypatch.delenv("XSO_T", raising=False)
    monkeypatch.delenv("XSO_P", raising=False)
    with pytest.raises(ConfigError, match="XSO_T"):
        settings.web.token()
    with pytest.raises(ConfigError, match="XSO_P"):
        settings.mqtt.password()
    monkeypatch.setenv("XSO_T", "tok")
    monkeypatch.setenv("XSO_P", "pw")
    assert (settings.web.token(), settings.mqtt.password()) == ("tok", "pw")
    assert parse_settings({}).mqtt.password() is None


def test_bad_values_are_named() -> None:
    assert problems(
        {"web": {"listen": "8765"}, "mqtt": {"url": "http://x", "topic_prefix": "a/#"}}
    ) == [
        'web.listen = \'8765\': must be "host:port" (e.g. "127.0.0.1:8765") or "" to switch it off',
        'mqtt.url = \'http://x\': must look like "mqtt://host:1883" or "mqtts://host:8883", or ""',
        "mqtt.topic_prefix = 'a/#': must be a topic without wildcards, spaces or leading/"
        "trailing /",
    ]
