"""The "optimiser enabled" switch: off → the service stops forcing the battery (fallback mode).

The state lives in the store (``service_state``, name ``optimiser_enabled``) so it survives a
restart; a store that cannot be read counts as *on* (the service's normal behaviour) and a
store that cannot be written keeps the new state in memory (logged). ``optimiser_enabled()``
answers for the switch installed in this process (on when none is).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from optimizer.errors import StoreError
from optimizer.store import Store

log = logging.getLogger(__name__)

STATE_NAME = "optimiser_enabled"

Listener = Callable[[bool], None]


class OptimiserSwitch:
    """On/off, persisted in ``store``; ``listeners`` are told of every change (any thread)."""

    def __init__(self, store: Store | None) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._enabled = True
        if store is not None:
            try:
                self._enabled = store.state(STATE_NAME) is not False
            except StoreError as exc:
                log.warning("optimiser switch: cannot read the stored state (%s); on", exc)

    @property
    def enabled(self) -> bool:
        """True while the optimiser may force the battery."""
        return self._enabled

    def listen(self, listener: Listener) -> None:
        """Call ``listener(enabled)`` after every change."""
        self._listeners.append(listener)

    def set(self, enabled: bool, source: str = "") -> None:
        """Switch on or off (from ``source``, for the log); stored, then listeners told."""
        with self._lock:
            changed = enabled != self._enabled
            self._enabled = enabled
            if self._store is not None:
                try:
                    self._store.set_state(STATE_NAME, enabled)
                except StoreError as exc:
                    log.error("optimiser switch: state not stored (%s); kept until restart", exc)
        if changed:
            log.warning("optimiser switched %s%s", "on" if enabled else "off",
                        f" by {source}" if source else "")  # fmt: skip
        for listener in list(self._listeners):
            try:
                listener(enabled)
            except Exception:
                log.exception("optimiser switch: a listener failed")


_installed: OptimiserSwitch | None = None


def install(switch: OptimiserSwitch | None) -> None:
    """Make ``switch`` the one ``optimiser_enabled()`` answers for (``None``: always on)."""
    global _installed
    _installed = switch


def optimiser_enabled() -> bool:
    """Whether the optimiser may force the battery now (True when no switch is installed)."""
    switch = _installed
    return True if switch is None else switch.enabled
