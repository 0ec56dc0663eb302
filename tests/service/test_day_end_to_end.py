"""A whole day over real sockets: prices from the local Octopus server, the simulator, the store.

Sunday 15 October 2023 (shipped Agile data): below zero at night, about 50 p/kWh from 16:00 to
19:00. The service must charge at night, discharge in the evening, re-send each slot's command,
and the simulator's SOC must follow the plan within ``soc_tolerance_pct`` at every slot end.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from optimizer.domain import Action, DeviceCommand
from optimizer.service.summary import kind, soc_gaps
from tests.service.conftest import MakeHarness, local


def test_cheap_night_dear_evening_day(make_harness: MakeHarness) -> None:
    start = local("2023-10-15 00:00")
    end = start + timedelta(hours=24)
    h = make_harness(start, soc_pct=20.0)
    service = h.start_service()
    h.run_until(end)

    sent = h.commands()
    assert all(c["status"] == 200 for c in sent)
    slots = [service.executed[t] for t in sorted(service.executed) if start <= t < end]
    assert len(slots) == 48  # every slot's command was chosen at its boundary

    # Every slot's command is the one its plan gave, sent at (or within seconds of) its start.
    for slot in slots:
        in_slot = [c for c in sent if slot.start <= c["at"] < slot.end]
        if not in_slot:  # the device's default mode (self-consumption) runs already
            assert slot.command.command is DeviceCommand.SET_MAXIMIZE_AUTO_CONSUMPTION
            continue
        assert in_slot[0]["body"] == slot.command.body()
        assert in_slot[0]["at"] - slot.start < timedelta(seconds=10)
        assert in_slot[0]["body"]["duration"] == 1

    # Cheap night → charge; dear evening → the battery covers the house (self-consumption
    # follows the real load, or a forced discharge); nothing forced in between the two.
    by_hour = {slot.start: kind(slot.command.body()) for slot in slots}
    night = [k for t, k in by_hour.items() if t < local("2023-10-15 06:00")]
    evening = [
        s.action for s in slots if local("2023-10-15 16:00") <= s.start < local("2023-10-15 19:00")
    ]
    assert "charge" in night
    assert evening == [Action.DISCHARGE] * 6
    first_charge = min(t for t, k in by_hour.items() if k == "charge")
    last_discharge = max(s.start for s in slots if s.action is Action.DISCHARGE)
    assert first_charge < local("2023-10-15 06:00") < local("2023-10-15 16:00") <= last_discharge

    # Measured SOC (store readings) within tolerance of the plan at every slot end.
    readings = h.store.readings(start, end + timedelta(minutes=5))
    gaps = soc_gaps(slots, readings)
    assert len(gaps) >= 47  # the last slot ends where the run stops
    assert max(gaps) <= h.settings.service.soc_tolerance_pct
    assert readings["soc_pct"].max() > 80  # it really charged
    soc = readings["soc_pct"]
    at_16 = soc.loc[pd.Timestamp(local("2023-10-15 16:00")) :].iloc[0]
    at_19 = soc.loc[pd.Timestamp(local("2023-10-15 19:00")) :].iloc[0]
    assert at_16 - at_19 >= 20  # and really discharged to cover the evening load

    # Every successful status read became a stored reading; metrics were imported.
    assert len(h.store.readings(start - timedelta(hours=1), end + timedelta(hours=1))) == len(
        set(h.store.readings(start, end + timedelta(hours=1)).index)
    )
    assert len(h.store.metrics(start, end)) > 200
    assert len(h.store.load_series("load", start, end)) >= 40
