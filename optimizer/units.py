"""Units of the numbers users give us (standard library only, so the CLI can load it cheaply).

Prices are stored and planned in currency units per kWh; each unit a file may be in maps to a
factor and to the currency it is in. ``PLAUSIBLE_PER_KWH`` is the range real retail and spot
prices fall in once converted; a file outside it was almost always read with the wrong unit.
"""

from __future__ import annotations

import re

from optimizer.errors import InvalidInput

PRICE_UNITS: dict[str, float] = {
    "p/kWh": 0.01,
    "GBP/kWh": 1.0,
    "EUR/kWh": 1.0,
    "EUR/MWh": 0.001,
    "c/kWh": 0.01,
}
#: The currency each price unit is in.
PRICE_CURRENCY: dict[str, str] = {
    "p/kWh": "GBP",
    "GBP/kWh": "GBP",
    "EUR/kWh": "EUR",
    "EUR/MWh": "EUR",
    "c/kWh": "EUR",
}
#: Energy units of load and PV files, to kWh.
ENERGY_UNITS: dict[str, float] = {"kWh": 1.0, "Wh": 0.001}
#: (low, high) currency units per kWh that a price series may reach once converted: EU spot
#: prices have touched -0.5 and 4 per kWh at their extremes; beyond that the unit is wrong.
PLAUSIBLE_PER_KWH = (-1.0, 5.0)
#: (low, high) of the median absolute price per kWh of real tariffs (spot without taxes to
#: retail with them, crises included); outside it a wrong unit is likely (a warning).
TYPICAL_MEDIAN_PER_KWH = (0.002, 0.75)
_GENERIC = re.compile(r"([A-Z]{3})/(kWh|MWh)")


def price_factor(unit: str) -> float:
    """Multiplier from ``unit`` to currency units per kWh (any ``XXX/kWh`` or ``XXX/MWh`` with a
    three-letter currency code too)."""
    if unit in PRICE_UNITS:
        return PRICE_UNITS[unit]
    match = _GENERIC.fullmatch(unit)
    if match:
        return 1.0 if match.group(2) == "kWh" else 0.001
    allowed = ", ".join(PRICE_UNITS)
    raise InvalidInput(
        f"price unit {unit!r} is not known; use one of {allowed} (or CUR/kWh, CUR/MWh)"
    )


def price_currency(unit: str) -> str:
    """The currency ``unit`` is in (``p/kWh`` → GBP, ``EUR/MWh`` → EUR, ``CHF/kWh`` → CHF)."""
    price_factor(unit)
    return PRICE_CURRENCY.get(unit) or unit.partition("/")[0]


def energy_factor(unit: str) -> float:
    """Multiplier from ``unit`` (kWh or Wh) to kWh."""
    try:
        return ENERGY_UNITS[unit]
    except KeyError:
        raise InvalidInput(f"energy unit {unit!r} is not known; use kWh or Wh") from None


def typical_level(median_abs: float, unit: str, option: str, what: str) -> str | None:
    """A warning when the median absolute converted price is outside ``TYPICAL_MEDIAN_PER_KWH``
    (EUR/MWh read as p/kWh: 10x too high), naming ``what``, the unit and ``option``."""
    lo, hi = TYPICAL_MEDIAN_PER_KWH
    if lo <= median_abs <= hi:
        return None
    factor = PRICE_UNITS.get(unit, 1.0)
    return (
        f"{what}: the median price is {median_abs / factor:g} {unit} = {median_abs:g} per kWh, "
        f"unlike any real tariff ({lo:g}..{hi:g} per kWh): is {option} {unit} right?"
    )


def check_magnitude(low: float, high: float, unit: str, option: str, what: str) -> None:
    """Refuse converted prices from ``low`` to ``high`` per kWh outside ``PLAUSIBLE_PER_KWH``:
    the message names ``what`` (the file), the unit and ``option`` (where the unit was set)."""
    lo, hi = PLAUSIBLE_PER_KWH
    if low < lo or high > hi:
        factor = PRICE_UNITS.get(unit, 1.0)
        raise InvalidInput(
            f"{what}: prices from {low / factor:g} to {high / factor:g} {unit} are "
            f"{low:g} to {high:g} per kWh, outside {lo:g}..{hi:g}: is {option} {unit} right?"
        )
