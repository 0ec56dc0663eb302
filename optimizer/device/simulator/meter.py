"""The simulated house's exact energy counters, per minute: what really flowed, step by step.

The device's own metrics (``metrics.py``) are 5-minute average W rounded like the real unit's;
the meter keeps the exact kWh of every integration step so that a run's cost can be measured
without sampling error. Each step is booked in the bucket (``BUCKET_S`` seconds, aligned to the
epoch) where it starts; the simulator's steps divide the bucket, so none straddles two.

Energies in kWh, AC side. ``idle_import_kwh``/``idle_export_kwh`` are what the meter would have
read with the battery idle (house load minus all the PV available, netted per step).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from optimizer.device.simulator.battery import Flows

BUCKET_S = 60
KEEP = timedelta(days=31)
#: Energy columns of ``Meter.frame`` (kWh per bucket).
ENERGY = (
    "import_kwh",
    "export_kwh",
    "load_kwh",
    "pv_kwh",
    "curtailed_kwh",
    "charge_kwh",
    "discharge_kwh",
    "idle_import_kwh",
    "idle_export_kwh",
)
COLUMNS = (*ENERGY, "seconds", "soc_start_pct", "soc_end_pct")


def step_energies(flows: Flows, seconds: float) -> tuple[float, ...]:
    """The ``ENERGY`` kWh of one step of ``seconds`` with average ``flows`` (W)."""
    kwh = seconds / 3600.0 / 1000.0
    idle_net = flows.load_w - (flows.pv_w + flows.curtailed_w)
    return tuple(
        w * kwh
        for w in (
            max(flows.grid_w, 0.0),
            max(-flows.grid_w, 0.0),
            flows.load_w,
            flows.pv_w,
            flows.curtailed_w,
            max(flows.battery_w, 0.0),
            max(-flows.battery_w, 0.0),
            max(idle_net, 0.0),
            max(-idle_net, 0.0),
        )
    )


class Meter:
    """Per-minute sums of every integration step; keeps the last 31 days. Not thread-safe on
    its own (``SimDevice`` calls it under its lock)."""

    def __init__(self) -> None:
        self._rows: deque[list[float]] = deque(maxlen=int(KEEP.total_seconds() // BUCKET_S))

    def add(
        self,
        start: datetime,
        seconds: float,
        flows: Flows,
        soc_start_pct: float,
        soc_end_pct: float,
    ) -> None:
        """Book one step of ``seconds`` from ``start`` (UTC) with average ``flows`` (W)."""
        if seconds <= 0:
            return
        bucket = float(int(start.timestamp()) // BUCKET_S * BUCKET_S)
        energies = step_energies(flows, seconds)
        if self._rows and self._rows[-1][0] == bucket:
            row = self._rows[-1]
            for i, value in enumerate(energies, start=1):
                row[i] += value
            row[len(ENERGY) + 1] += seconds
            row[-1] = soc_end_pct
            return
        self._rows.append([bucket, *energies, seconds, soc_start_pct, soc_end_pct])

    def frame(self, start: datetime | None = None, end: datetime | None = None) -> pd.DataFrame:
        """Buckets starting in ``[start, end)``: index UTC bucket start, ``COLUMNS`` (kWh,
        seconds covered, SOC % at the bucket's first and last step)."""
        rows = np.array(self._rows, dtype=np.float64).reshape(-1, len(COLUMNS) + 1)
        keep = np.ones(len(rows), dtype=bool)
        if start is not None:
            keep &= rows[:, 0] >= start.timestamp()
        if end is not None:
            keep &= rows[:, 0] < end.timestamp()
        rows = rows[keep]
        index = pd.DatetimeIndex(pd.to_datetime(rows[:, 0], unit="s", utc=True)).as_unit("ns")
        return pd.DataFrame(rows[:, 1:], index=index, columns=list(COLUMNS))
