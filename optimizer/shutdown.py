"""A process-wide "stop waiting" flag: once a stop is requested, backoff waits end at once.

``run`` requests a stop from its SIGTERM/SIGINT handler; a tariff fetch sleeping between retries
on the side worker (tenacity's ``sleep`` is ``pause``) then wakes at once and gives up instead of
waiting out its real-time backoffs, so the service stops within the job in flight's current
request. Standard library only: any layer may wait through it.
"""

from __future__ import annotations

import threading

_STOP = threading.Event()


class Interrupted(Exception):
    """A wait was cut short because the process is stopping."""


def request() -> None:
    """Ask every ``pause`` (now and later) to end at once (safe from a signal handler)."""
    _STOP.set()


def reset() -> None:
    """Allow waits again (a service starting in a process that stopped one before)."""
    _STOP.clear()


def requested() -> bool:
    """True once a stop was requested (until ``reset``)."""
    return _STOP.is_set()


def pause(seconds: float) -> None:
    """Wait ``seconds`` (real time); raise ``Interrupted`` at once if a stop is or gets
    requested."""
    if _STOP.wait(max(0.0, seconds)):
        raise Interrupted("stopping: the wait was cut short")
