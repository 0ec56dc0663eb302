"""Make the two derived inputs of the fleet example (docs/sweep.md) from the shipped data.

- ``lcl-MAC000060-moved-522-weeks-2023-04_06.csv``: the Low Carbon London household's load
  (data/household-consumption-london-LCL-MAC000060-2011-12_2014-02.csv) moved 522 whole weeks
  later, so weekdays are kept (2013-04-06 + 522 weeks = 2023-04-01, both Saturdays; the season
  within two days),
  cut to 2023-04-01 → 2023-07-01 UTC (a month to replay and two before it for the forecasts).
  Values are unchanged; the file's own gaps stay gaps.
- ``tou-import-2023-04_06.csv`` and ``flat-export-2023-04_06.csv``: a static time-of-use tariff
  in the shape of the data/ price files (p/kWh, with a unit column), made by the project's own
  static tariff code (``optimizer.tariffs.static.static_frame``): import 8.5 p/kWh 00:30–05:30
  UK clock time, 30 p/kWh otherwise (an Octopus-Go-like shape); export a flat 15 p/kWh.

Run from the repository root: ``.venv/bin/python docs/examples/sweep/derive_inputs.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from optimizer.config import TouBand
from optimizer.csvdata import read_energy_csv
from optimizer.tariffs.model import PRICE
from optimizer.tariffs.static import static_frame

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2] / "data"
START, END = datetime(2023, 4, 1, tzinfo=UTC), datetime(2023, 7, 1, tzinfo=UTC)
WEEKS = 522


def _stamp(index: pd.DatetimeIndex) -> pd.Index:
    return index.strftime("%Y-%m-%dT%H:%M:%SZ")


def lcl_load() -> Path:
    load = read_energy_csv(DATA / "household-consumption-london-LCL-MAC000060-2011-12_2014-02.csv",
                           "load")  # fmt: skip
    load.index = load.index + pd.Timedelta(weeks=WEEKS)
    load = load[(load.index >= START) & (load.index < END)]
    index = pd.DatetimeIndex(load.index)
    frame = pd.DataFrame({"start_utc": _stamp(index),
                          "end_utc": _stamp(index + pd.Timedelta(minutes=30)),
                          "kwh": load.to_numpy()})  # fmt: skip
    path = HERE / "lcl-MAC000060-moved-522-weeks-2023-04_06.csv"
    frame.to_csv(path, index=False)
    return path


def tou(name: str, bands: tuple[TouBand, ...], default_p: float) -> Path:
    frame = static_frame(bands, default_p / 100, "Europe/London", START, END, 30)
    index = pd.DatetimeIndex(frame.index)
    out = pd.DataFrame({"start_utc": _stamp(index),
                        "end_utc": _stamp(index + pd.Timedelta(minutes=30)),
                        "price": (frame[PRICE].to_numpy() * 100).round(4),
                        "unit": "p/kWh"})  # fmt: skip
    path = HERE / name
    out.to_csv(path, index=False)
    return path


if __name__ == "__main__":
    cheap = (TouBand(start="00:30", end="05:30", price=0.085),)
    for made in (lcl_load(), tou("tou-import-2023-04_06.csv", cheap, 30.0),
                 tou("flat-export-2023-04_06.csv", (), 15.0)):  # fmt: skip
        print(made.relative_to(Path.cwd()) if made.is_relative_to(Path.cwd()) else made)
