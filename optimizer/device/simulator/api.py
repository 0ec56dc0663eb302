"""The simulated device's REST routes: real paths, envelope, status codes and error bodies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from optimizer.device.simulator.state import Reply, SimDevice, envelope
from optimizer.device.simulator.validation import command_error

NOT_FOUND = Reply(404, "404 page not found")
FIRMWARE = "00.01.0017-0-g72006700"


@dataclass(frozen=True, slots=True)
class Request:
    """What a route sees of an HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    body: Any


Handler = Callable[[SimDevice, Request], Reply]


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _ok(device: SimDevice, path: str, result: dict[str, Any]) -> Reply:
    """Success envelope, with any test overrides for ``path`` merged into ``result``."""
    return Reply(200, envelope(_merge(result, device.overrides.get(path, {}))))


def _role(watts: float, consumer_when_positive: bool = True) -> str:
    if abs(watts) < 1.0:
        return "NONE"
    return "CONSUMER" if (watts > 0) == consumer_when_positive else "PRODUCER"


def _battery_status(watts: float) -> str:
    if watts > 1.0:
        return "BAT_CHARGING"
    return "BAT_DISCHARGING" if watts < -1.0 else "BAT_IDLE"


_OPERATION = {
    "SET_BASIC_MODE": "BASIC",
    "SET_MAXIMIZE_AUTO_CONSUMPTION": "MAXIMIZE_AUTO_CONSUMPTION",
    "SET_VARIABLE_GRID_INJECTION": "GRID_INJECTION",
    "SET_FREQUENCY_REGULATION": "FREQUENCY_REGULATION",
    "SET_PEAK_SHAVING": "PEAK_SHAVING",
}


def _operation_mode(mode: dict[str, Any], battery_w: float) -> str:
    if mode.get("command") in ("SET_CHARGE", "SET_DISCHARGE"):
        return {"BAT_CHARGING": "CHARGING", "BAT_DISCHARGING": "DISCHARGING"}.get(
            _battery_status(battery_w), "IDLE"
        )
    return _OPERATION.get(str(mode.get("command")), "IDLE")


def status(device: SimDevice, request: Request) -> Reply:
    """``GET /api/device/status``. ``batteryEnergyFlow`` is a magnitude, as on the live unit."""
    mode = device.current_mode()
    flows = device.flows()
    energy_flow = {
        "acPvRole": "DISCONNECTED",
        "acPvValue": 0,
        "dcPvRole": "PRODUCER" if flows.pv_w > 1 else "NONE",
        "dcPvValue": round(flows.pv_w),
        "batteryBackupLevel": round(device.battery.backup_pct),
        "batteryStatus": _battery_status(flows.battery_w),
        "batteryEnergyFlow": round(abs(flows.battery_w)),
        "criticalLoadRole": "NONE",
        "criticalLoadValue": 0,
        "nonCriticalLoadRole": _role(flows.load_w),
        "nonCriticalLoadValue": round(flows.load_w),
        "gridRole": _role(flows.grid_w),
        "gridValue": round(abs(flows.grid_w)),
        "operationMode": _operation_mode(mode, flows.battery_w),
        "selfConsumption": 0,
        "selfSufficiency": 0,
        "stateOfCharge": round(device.battery.soc_pct),
        "energySavingModeEnabled": False,
        "energySavingModeActivated": False,
    }
    totals = {
        "gridConsumption": 0,
        "photovoltaicProduction": 0,
        "selfConsumption": 0,
        "selfSufficiency": 0,
    }
    result = {
        "currentMode": mode,
        "energyFlow": energy_flow,
        "today": totals,
        "last30daysEnergyFlow": totals,
    }
    return _ok(device, "/api/device/status", result)


def _device_fields(device: SimDevice) -> dict[str, Any]:
    c = device.config
    start_s = int(device.clock.start.timestamp())
    return {
        "inverterModelName": "XSTH1P036P048V01",
        "inverterVaRating": round(c.rating_w),
        "inverterNominalVpv": 3600,
        "inverterIsSinglePhase": True,
        "bmsCapacity": c.capacity_kwh,
        "bmsBackupLevel": round(device.battery.backup_pct),
        "bmsModel": "RESIDENCIAL",
        "bmsFirmwareVersion": "4004",
        "firmwareVersion": FIRMWARE,
        "inverterFirmwareVersion": "00.06.0069",
        "bundleVersion": "v1.17",
        "inverterSerialNumber": c.inverter_sn,
        "bmsSerialNumber": "SIMBMS0001",
        "hasPv": True,
        "hasBattery": True,
        "powerState": True,
        "connected": False,
        "timezone": {"id": c.timezone, "name": c.timezone},
        "createdAt": start_s,
        "updatedAt": start_s,
    }


def device_info(device: SimDevice, request: Request) -> Reply:
    """``GET /api/device`` (timestamps in seconds)."""
    return _ok(device, "/api/device", _device_fields(device))


def settings(device: SimDevice, request: Request) -> Reply:
    """``GET /api/settings``."""
    c = device.config
    start_s = int(device.clock.start.timestamp())
    default = {
        "id": "00000000-0000-0000-0000-0000000000d0",
        "updatedAt": start_s,
        "createdAt": start_s,
        "user": None,
        "command": c.default_command,
        "parameters": c.default_parameters,
    }
    extra = {
        "defaultMode": default,
        "inverterPowerRating": 0,
        "energySavingMode": {"enabled": False, "houseConsumptionThreshold": 300},
    }
    return _ok(device, "/api/settings", _device_fields(device) | extra)


def config_state(device: SimDevice, request: Request) -> Reply:
    """``GET /api/config/state`` – unwrapped, as in the reference's sample."""
    return Reply(
        200,
        {
            "setupComplete": True,
            "missingSteps": [],
            "version": FIRMWARE,
            "onboardState": "DONE",
            "connected": False,
        },
    )


def _window(request: Request) -> tuple[int, int] | Reply:
    try:
        return int(request.query["from"]), int(request.query["to"])
    except (KeyError, ValueError):
        return Reply(
            400,
            {"error": {"step": "get_metrics", "errCode": "from and to are required (epoch ms)"}},
        )


def metrics(device: SimDevice, request: Request) -> Reply:
    """``GET /api/metrics/?from=&to=`` (epoch ms): 5-minute records."""
    window = _window(request)
    if isinstance(window, Reply):
        return window
    device.advance()
    return _ok(device, "/api/metrics/", {"metrics": device.metrics.between(*window)})


def daily(device: SimDevice, request: Request) -> Reply:
    """``GET /api/metrics/daily?from=&to=``."""
    window = _window(request)
    if isinstance(window, Reply):
        return window
    device.advance()
    days = device.metrics.daily(*window, device.config.timezone)
    return _ok(device, "/api/metrics/daily", {"metrics": days})


def schedule(device: SimDevice, request: Request) -> Reply:
    """``GET /api/schedule/`` (the simulator keeps no device-side schedule)."""
    return _ok(device, "/api/schedule/", {"results": []})


def technical(device: SimDevice, request: Request) -> Reply:
    """``GET /api/technical/status`` (technician)."""
    flows = device.flows()
    soc = round(device.battery.soc_pct)
    result = {
        "operationMode": _operation_mode(device.current_mode(), flows.battery_w),
        "gridVoltage": 240.1,
        "gridFrequency": 50.0,
        "inverterPower": round(flows.battery_w),
        "inverterPowerRating": 0,
        "inverterTemperature": 31,
        "bmsVoltage": 90.5,
        "bmsCurrent": round(flows.battery_w / 90.5, 2),
        "bmsStateOfCharge": soc,
        "bmsState": _battery_status(flows.battery_w),
        "bmsFaultCode": None,
        "bmsTotalCharge": 0,
        "bmsTotalDischarge": 0,
        "gridCode": "UK_G98",
    }
    return _ok(device, "/api/technical/status", result)


def diagnostics(device: SimDevice, request: Request) -> Reply:
    """``GET /api/device/maintenance/diagnostics`` (technician; bytes)."""
    result = {
        "cpuUsage": {"used": 12.5},
        "ramUsage": {"total": 125_829_120, "used": 80_000_000},
        "diskUsage": {
            "partition": [
                {"name": "/", "free": 10_000_000, "used": 90_000_000, "size": 100_000_000}
            ]
        },
        "createdAt": int(device.clock.now().timestamp()),
    }
    return _ok(device, "/api/device/maintenance/diagnostics", result)


def sign_in(device: SimDevice, request: Request) -> Reply:
    """``POST /api/auth/signin`` (no bearer)."""
    return device.sign_in(request.body)


def command(device: SimDevice, request: Request) -> Reply:
    """``POST /api/device/command``: 400 with the validator's text, or the stored mode record."""
    problem = command_error(request.body)
    if problem is not None:
        device.log_command(request.body, 400)
        return Reply(400, {"error": {"step": "set_manual_command", "errCode": problem}})
    return device.command(request.body)


# (method, path) → (handler, needs a token, needs a technician token)
ROUTES: dict[tuple[str, str], tuple[Handler, bool, bool]] = {
    ("POST", "/api/auth/signin"): (sign_in, False, False),
    ("GET", "/api/device"): (device_info, True, False),
    ("GET", "/api/device/"): (device_info, True, False),
    ("GET", "/api/device/status"): (status, True, False),
    ("POST", "/api/device/command"): (command, True, False),
    ("GET", "/api/settings"): (settings, True, False),
    ("GET", "/api/settings/"): (settings, True, False),
    ("GET", "/api/config/state"): (config_state, True, False),
    ("GET", "/api/metrics/"): (metrics, True, False),
    ("GET", "/api/metrics/daily"): (daily, True, False),
    ("GET", "/api/schedule/"): (schedule, True, False),
    ("GET", "/api/technical/status"): (technical, True, True),
    ("GET", "/api/device/maintenance/diagnostics"): (diagnostics, True, True),
}


def dispatch(device: SimDevice, request: Request) -> Reply:
    """Route ``request``: 404 plain text for unknown paths and wrong methods, as the device does."""
    route = ROUTES.get((request.method, request.path))
    if route is None:
        return NOT_FOUND
    handler, needs_token, technician = route
    if needs_token:
        denied = device.authorize(request.authorization, technician)
        if denied is not None:
            return denied
    return handler(device, request)
