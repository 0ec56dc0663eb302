"""Find strategies by name without importing them statically.

Names resolve, in order, to: a module path ``package.module:ClassName``; a strategy class listed
in ``extra_modules`` (module paths from the settings file, found by their ``name``); an entry
point in the ``xstorage_optimizer.strategies`` group (how installed plug-ins register); the
built-in ``strategies`` package (also listed as entry points, repeated here as strings so a
checkout works before it is installed). The class is called without arguments.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

from optimizer.backtest.strategy import Strategy
from optimizer.errors import InvalidInput

ENTRY_POINT_GROUP = "xstorage_optimizer.strategies"

BUILTIN: dict[str, str] = {
    "lp": "strategies.lp:LpStrategy",
    "perfect": "strategies.lp:PerfectForesight",
    "cheapest-slots": "strategies.heuristics:CheapestSlots",
    "self-use": "strategies.heuristics:SelfUse",
    "none": "strategies.heuristics:NoBattery",
}


def load_object(path: str) -> Any:
    """The object at ``package.module:attribute``; ``InvalidInput`` naming what is missing."""
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidInput(f"strategy {path!r}: a module path must look like package.module:Class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInput(f"strategy {path!r}: cannot import {module_name} ({exc})") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise InvalidInput(f"strategy {path!r}: {module_name} has no {attribute}") from None


def _instantiate(factory: Any, origin: str) -> Strategy:
    strategy = factory() if callable(factory) else factory
    if not isinstance(strategy, Strategy):
        raise InvalidInput(
            f"strategy {origin!r}: {type(strategy).__name__} lacks name/foresight/decide()"
        )
    return strategy


def available(extra_modules: Iterable[str] = ()) -> dict[str, str]:
    """Every known strategy name and where it comes from (a module path)."""
    found = dict(BUILTIN)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        found[point.name] = point.value
    for path in extra_modules:
        found[str(getattr(load_object(path), "name", path))] = path
    return found


def resolve(name: str, extra_modules: Iterable[str] = ()) -> Strategy:
    """A fresh strategy object for ``name`` (a registered name or a module path)."""
    if ":" in name:
        return _instantiate(load_object(name), name)
    known = available(extra_modules)
    if name not in known:
        raise InvalidInput(f"strategy {name!r} is not known; known: {', '.join(sorted(known))}")
    return _instantiate(load_object(known[name]), known[name])
