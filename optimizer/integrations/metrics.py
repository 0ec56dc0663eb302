"""Prometheus metrics from the latest ``Snapshot``, via ``prometheus_client``.

A custom collector reads the snapshot at scrape time, so every scrape sees one consistent
state; counters are cumulative since the service started. Names carry the ``xstorage_`` prefix
and their unit; money and prices carry a ``currency`` label (currency units, per kWh).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from optimizer.integrations.snapshot import SOLVE_BUCKETS_S, Snapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _gauge(
    name: str, doc: str, value: float | None, labels: dict[str, str] | None = None
) -> Metric:
    labels = labels or {}
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    if value is not None:
        family.add_metric(list(labels.values()), value)
    return family


class SnapshotCollector(Collector):
    """Collects from ``latest()`` (``None`` before the first snapshot: nothing but ``up``);
    ``clock()`` is the service clock, for the age of the last reading."""

    def __init__(
        self, latest: Callable[[], Snapshot | None], clock: Callable[[], datetime]
    ) -> None:
        self._latest = latest
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        """One family per metric."""
        snap = self._latest()
        if snap is None:
            yield _gauge("xstorage_device_up", "1 when the device answered the last read.", 0)
            return
        yield from self._state(snap)
        yield from self._money(snap)
        yield from self._pv(snap)
        yield from self._counters(snap)

    def _state(self, snap: Snapshot) -> Iterator[Metric]:
        age = None
        if snap.last_reading_utc is not None:
            age = max(0.0, (self._clock() - snap.last_reading_utc).total_seconds())
        yield _gauge("xstorage_soc_percent", "Measured state of charge, %.", snap.soc_pct)
        yield _gauge("xstorage_planned_soc_percent", "Planned state of charge now, %.",
                     snap.planned_soc_pct)  # fmt: skip
        yield _gauge("xstorage_device_up", "1 when the device answered the last read.",
                     1.0 if snap.device_reachable else 0.0)  # fmt: skip
        yield _gauge(
            "xstorage_last_reading_age_seconds", "Seconds since the last good reading.", age
        )
        yield _gauge("xstorage_optimiser_enabled", "1 while the optimiser may force the battery.",
                     1.0 if snap.enabled else 0.0)  # fmt: skip
        yield _gauge("xstorage_in_control", "1 while the service is in control (see /healthz).",
                     1.0 if snap.health is None else 0.0)  # fmt: skip

    def _money(self, snap: Snapshot) -> Iterator[Metric]:
        cur = {"currency": snap.currency}
        slot = snap.slot_at()
        yield _gauge("xstorage_import_price_per_kwh", "Import price of the current slot.",
                     slot.price_import_per_kwh if slot else None, cur)  # fmt: skip
        yield _gauge("xstorage_export_price_per_kwh", "Export price of the current slot.",
                     slot.price_export_per_kwh if slot else None, cur)  # fmt: skip
        today = snap.today
        yield _gauge("xstorage_cost_today", "Measured cost today (import minus export).",
                     today.cost if today else None, cur)  # fmt: skip
        yield _gauge("xstorage_no_battery_cost_today", "Measured cost today without the battery.",
                     today.no_battery_cost if today else None, cur)  # fmt: skip
        yield _gauge("xstorage_savings_today", "No-battery cost minus cost, today.",
                     today.savings if today else None, cur)  # fmt: skip

    def _pv(self, snap: Snapshot) -> Iterator[Metric]:
        pv = snap.pv
        error = pv.error
        yield _gauge("xstorage_pv_forecast_mae_kwh",
                     "PV forecast the plans used vs PV measured, last 24 h: mean absolute error, "
                     "kWh per slot.", error.mae_kwh if error else None)  # fmt: skip
        yield _gauge("xstorage_pv_forecast_bias_kwh",
                     "PV forecast the plans used minus PV measured, last 24 h: mean, kWh per slot "
                     "(+ = too high).", error.bias_kwh if error else None)  # fmt: skip
        yield _gauge(
            "xstorage_pv_forecast_error_slots",
            "Slots behind the PV forecast error gauges.",
            error.slots if error else 0,
        )
        yield _gauge("xstorage_pv_forecast_today_kwh", "PV forecast for today (local day), kWh.",
                     pv.today_kwh)  # fmt: skip
        yield _gauge(
            "xstorage_pv_forecast_tomorrow_kwh",
            "PV forecast for tomorrow (local day), kWh.",
            pv.tomorrow_kwh,
        )
        yield _gauge("xstorage_pv_forecast_weather",
                     "1 when the plan in force uses the weather PV forecast configured "
                     "([pv] forecast, the label), 0 on the history one.",
                     0.0 if pv.source == "history" else 1.0,
                     {"source": pv.configured})  # fmt: skip

    def _counters(self, snap: Snapshot) -> Iterator[Metric]:
        c = snap.counters
        commands = CounterMetricFamily("xstorage_commands", "Commands sent, by kind and result.",
                                       labels=["kind", "result"])  # fmt: skip
        for (kind, result), n in sorted(c.commands.items()):
            commands.add_metric([kind, result], n)
        yield commands
        yield CounterMetricFamily("xstorage_readback_mismatches",
                                  "Commands the device did not confirm on read-back.",
                                  value=c.readback_mismatches)  # fmt: skip
        replans = CounterMetricFamily("xstorage_replans", "Plans attempted, by reason and result.",
                                      labels=["reason", "result"])  # fmt: skip
        for (reason, result), n in sorted(c.replans.items()):
            replans.add_metric([reason, result], n)
        yield replans
        buckets = [
            (str(le), float(n)) for le, n in zip(SOLVE_BUCKETS_S, c.solve.counts, strict=True)
        ]
        buckets.append(("+Inf", float(c.solve.total)))
        yield HistogramMetricFamily("xstorage_plan_solve_seconds",
                                    "Time to make a plan (solve, check, store), s.",
                                    buckets=buckets, sum_value=c.solve.sum_s)  # fmt: skip


def make_registry(
    latest: Callable[[], Snapshot | None], clock: Callable[[], datetime]
) -> CollectorRegistry:
    """A registry of its own (not the process-wide default) with the snapshot collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(latest, clock))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The text exposition format of ``registry``."""
    return generate_latest(registry)
