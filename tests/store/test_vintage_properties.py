"""Property: whatever sequence of batches is saved, ``as_of`` reads give exactly what the
batches fetched so far said (the last word per slot), and nothing else."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.store import Store
from optimizer.tariffs import price_frame

T0 = datetime(2023, 3, 25, 23, tzinfo=UTC)
HALF = pd.Timedelta(minutes=30)
slot_values = st.dictionaries(st.integers(0, 11), st.sampled_from([0.0, -0.05, 0.1, 0.25]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(slot_values, min_size=1, max_size=5))
def test_as_of_reads_replay_the_batches(batches: list[dict[int, float]]) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        Store(f"sqlite:///{Path(folder) / 'h.db'}") as store,
    ):
        known: dict[int, float] = {}
        for n, batch in enumerate(batches):
            fetched = T0 - timedelta(days=1) + timedelta(hours=n)
            if batch:
                index = pd.DatetimeIndex([T0 + slot * HALF for slot in sorted(batch)])
                frame = price_frame(index, index + HALF, [batch[s] for s in sorted(batch)])
                result = store.save_prices(frame, "test", "T", fetched)
                changed = {s for s, v in batch.items() if s in known and known[s] != v}
                assert result.revised == len(changed)
                assert result.unchanged == sum(1 for s, v in batch.items() if known.get(s) == v)
            known.update(batch)
            got = store.prices("T", T0, T0 + timedelta(days=1), as_of=fetched)
            expected = {T0 + s * HALF: v for s, v in known.items()}
            assert dict(zip(got.index.to_pydatetime(), got, strict=True)) == expected
