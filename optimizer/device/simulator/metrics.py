"""5-minute metrics history of the simulated device (average W per interval, like the device)."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from optimizer.device.simulator.battery import Flows

INTERVAL_S = 300
KEEP = timedelta(days=31)


class MetricsRecorder:
    """Accumulates flows into 5-minute buckets aligned to the epoch and keeps 31 days of them."""

    def __init__(self) -> None:
        self.records: deque[dict[str, Any]] = deque(maxlen=int(KEEP.total_seconds() // INTERVAL_S))
        self._bucket: int | None = None
        self._sums: dict[str, float] = {}
        self._seconds = 0.0
        self._soc = 0.0

    def add(self, start: datetime, seconds: float, flows: Flows, soc_pct: float) -> None:
        """Add ``seconds`` of ``flows`` starting at ``start`` (must not cross a bucket edge)."""
        bucket = int(start.timestamp()) // INTERVAL_S * INTERVAL_S
        if self._bucket is not None and bucket != self._bucket:
            self._flush()
        self._bucket = bucket
        for key, value in (
            ("load", flows.load_w),
            ("pv", flows.pv_w),
            ("export", max(0.0, -flows.grid_w)),
            ("self", min(flows.load_w, flows.pv_w)),
        ):
            self._sums[key] = self._sums.get(key, 0.0) + value * seconds
        self._seconds += seconds
        self._soc = soc_pct

    def _flush(self) -> None:
        if self._bucket is None or self._seconds <= 0:
            return
        avg = {key: value / self._seconds for key, value in self._sums.items()}
        self.records.append(
            {
                "totalHouseConsumption": round(avg["load"], 4),
                "totalGridInjection": round(avg["export"], 4),
                "criticalLoads": 0,
                "nonCriticalLoads": round(avg["load"], 4),
                "photovoltaicProduction": round(avg["pv"], 4),
                "batteryStateOfCharge": round(self._soc),
                "selfConsumption": _pct(avg["self"], avg["pv"]),
                "selfSufficiency": _pct(avg["self"], avg["load"]),
                "time": self._bucket * 1000,
                "month": "",
                "year": "",
                "week": "",
            }
        )
        self._sums, self._seconds = {}, 0.0

    def between(self, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Completed records with ``start_ms <= time < end_ms``."""
        return [r for r in self.records if start_ms <= r["time"] < end_ms]

    def daily(self, start_ms: int, end_ms: int, timezone: str) -> list[dict[str, Any]]:
        """Per local day: ``time`` = local midnight (ms), energies in Wh (simulator's choice)."""
        zone = ZoneInfo(timezone)
        days: dict[int, dict[str, Any]] = {}
        for record in self.between(start_ms, end_ms):
            local = datetime.fromtimestamp(record["time"] / 1000, tz=UTC).astimezone(zone)
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            key = int(midnight.astimezone(UTC).timestamp() * 1000)
            day = days.setdefault(
                key,
                {
                    "time": key,
                    "totalHouseConsumption": 0.0,
                    "photovoltaicProduction": 0.0,
                    "totalGridInjection": 0.0,
                },
            )
            for name in ("totalHouseConsumption", "photovoltaicProduction", "totalGridInjection"):
                day[name] += record[name] * INTERVAL_S / 3600.0
        return [days[key] for key in sorted(days)]


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole > 0 else 0.0
