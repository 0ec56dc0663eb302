"""What the simulated device accepts on ``POST /api/device/command``, with Go-validator-like errors.

Returns ``None`` for a valid body, else the ``errCode`` text the real device would put in
``{"error": {"step": "set_manual_command", "errCode": ...}}``.
"""

from __future__ import annotations

from typing import Any

COMMANDS = frozenset(
    {
        "SET_BASIC_MODE",
        "SET_CHARGE",
        "SET_DISCHARGE",
        "SET_MAXIMIZE_AUTO_CONSUMPTION",
        "SET_VARIABLE_GRID_INJECTION",
        "SET_FREQUENCY_REGULATION",
        "SET_PEAK_SHAVING",
    }
)
ACTIONS = frozenset({"ACTION_CHARGE", "ACTION_DISCHARGE"})

# (parameter, low, high) per command that needs parameters
_PARAMETERS: dict[str, tuple[tuple[str, int, int], ...]] = {
    "SET_CHARGE": (("power", 5, 100), ("soc", 0, 100)),
    "SET_DISCHARGE": (("power", 5, 100), ("soc", 0, 100)),
    "SET_VARIABLE_GRID_INJECTION": (("maximumPower", -1000, 30000),),
    "SET_FREQUENCY_REGULATION": (("powerAllocation", 0, 100), ("optimalSoc", 0, 100)),
    "SET_PEAK_SHAVING": (("maxHousePeakConsumption", 1, 30000),),
}


def _field(struct: str, name: str, tag: str) -> str:
    title = name[0].upper() + name[1:]
    return f"Key: '{struct}.{title}' Error:Field validation for '{title}' failed on the '{tag}' tag"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bounded(struct: str, name: str, value: Any, low: int, high: int) -> str | None:
    if value is None:
        return _field(struct, name, "required")
    if not _is_int(value):
        kind = type(value).__name__
        return f"json: cannot unmarshal {kind} into Go struct field {struct}.{name} of type int"
    if value < low:
        return _field(struct, name, "min")
    if value > high:
        return _field(struct, name, "max")
    return None


def command_error(body: Any) -> str | None:
    """``None`` if ``body`` is a valid manual command, else the device's error text."""
    if not isinstance(body, dict):
        return "invalid character in request body"
    command = body.get("command")
    if command is None:
        return _field("ManualCommandReq", "command", "required")
    if command not in COMMANDS:
        return _field("ManualCommandReq", "command", "oneof")
    problem = _bounded("ManualCommandReq", "duration", body.get("duration"), 1, 12)
    if problem:
        return problem
    return _parameters_error(str(command), body.get("parameters"))


def _parameters_error(command: str, params: Any) -> str | None:
    needed = _PARAMETERS.get(command)
    if needed is None:
        return (
            None
            if params in (None, {}) or isinstance(params, dict)
            else "parameters: not an object"
        )
    if not isinstance(params, dict):
        return _field("ManualCommandReq", "parameters", "required")
    if command in ("SET_CHARGE", "SET_DISCHARGE") and params.get("action") not in ACTIONS:
        return _field("Parameters", "action", "oneof")
    for name, low, high in needed:
        problem = _bounded("Parameters", name, params.get(name), low, high)
        if problem:
            return problem
    return None
