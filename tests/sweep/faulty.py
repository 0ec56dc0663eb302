"""Strategies that fail on purpose, found by module path (``tests.sweep.faulty:Raises``).

Each idles (no command) except on a battery of the capacity its environment variable names:
there ``Raises`` raises, ``ExitsWorker`` ends its process at once (as a worker killed by the OOM
killer would), ``Interrupts`` raises ``KeyboardInterrupt`` (Ctrl-C in an in-process sweep).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from optimizer.backtest.strategy import DecisionContext, Foresight
from optimizer.domain import Command


def _chosen(context: DecisionContext, variable: str) -> bool:
    wanted = os.environ.get(variable)
    return wanted is not None and abs(context.battery.capacity_kwh - float(wanted)) < 1e-9


class Raises:
    """Raises ``RuntimeError`` on a battery of ``XSO_TEST_RAISE_KWH`` kWh."""

    name = "raises"
    foresight: Foresight = "realistic"

    def decide(self, context: DecisionContext) -> Sequence[Command]:
        if _chosen(context, "XSO_TEST_RAISE_KWH"):
            raise RuntimeError("planned to fail")
        return []


class ExitsWorker:
    """Ends its process (``os._exit``) on a battery of ``XSO_TEST_EXIT_KWH`` kWh."""

    name = "exits-worker"
    foresight: Foresight = "realistic"

    def decide(self, context: DecisionContext) -> Sequence[Command]:
        if _chosen(context, "XSO_TEST_EXIT_KWH"):
            os._exit(17)
        return []


class Interrupts:
    """Raises ``KeyboardInterrupt`` on a battery of ``XSO_TEST_INTERRUPT_KWH`` kWh."""

    name = "interrupts"
    foresight: Foresight = "realistic"

    def decide(self, context: DecisionContext) -> Sequence[Command]:
        if _chosen(context, "XSO_TEST_INTERRUPT_KWH"):
            raise KeyboardInterrupt
        return []
