"""``forecast`` (the PV forecast the next plan would use) and ``forecasts`` (the stored vintages).

``forecast`` fetches the configured weather source now and stores what it got as a vintage
(``store:`` on stderr); with the source unreachable it says so and uses the stored vintages.
Either way it prints the PV forecast the next plan would use on the planner's slots (from the
current slot as far as stored import prices reach, else ``planner.horizon_hours``): the latest
vintage per slot, the history forecast where none covers. Exit 4 when the source is unreachable
(2 when its answer is unusable) and no stored vintage covers any slot.

``forecasts --csv`` prints the stored vintages in the archive shape
``issued_utc,start_utc,end_utc,kwh[,kwh_p10,kwh_p90]`` (what ``backtest --pv-forecast`` and
``read_vintages_csv`` read).
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from optimizer.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_DEVICE,
    err_console,
    errors_to_exit,
    fail,
    out_console,
    settings_from,
    store_note,
)
from optimizer.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.config import Settings
    from optimizer.errors import WeatherError
    from optimizer.service.pvforecast import PlannedPv
    from optimizer.store import Store

ConfigOption = Annotated[Path, typer.Option("--config", help="Settings file (config.toml).")]
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _plan_index(store: Store, settings: Settings, now: datetime) -> pd.DatetimeIndex:
    """The next plan's slots: from the current slot as far as stored import prices reach, or
    ``planner.horizon_hours`` when there are none."""
    import pandas as pd

    from optimizer.service.planner import slot_start, stored_prices

    start = slot_start(now, settings.planner.slot_minutes)
    try:
        imports, _ = stored_prices(store, settings, start)
        return pd.DatetimeIndex(imports.index)
    except InvalidInput:
        minutes = settings.planner.slot_minutes
        slots = int(settings.planner.horizon_hours * 60 // minutes)
        return pd.date_range(start, periods=slots, freq=f"{minutes}min")


def _fetch_and_store(settings: Settings, store: Store, now: datetime) -> WeatherError | None:
    """Fetch the weather source now and store the vintage (as the service does); the error,
    when the source is unreachable or its answer unusable."""
    from contextlib import ExitStack

    from optimizer.errors import WeatherError
    from optimizer.service.pvfeed import ahead
    from optimizer.service.wiring import pv_fetcher

    with ExitStack() as stack:
        made = pv_fetcher(settings, stack)
        if made is None:
            return None
        try:
            forecast = made[0](now)
        except WeatherError as exc:
            return exc
        store_note(settings.store.url)
        store.save_pv_forecast(ahead(forecast))
    return None


def _json(pv: PlannedPv, index: pd.DatetimeIndex, minutes: int) -> str:
    from optimizer.service.pvforecast import HISTORY

    newest = pv.newest_issued
    rows = [
        {"start_utc": _iso(s), "end_utc": _iso(s + timedelta(minutes=minutes)),
         "kwh": round(float(k), 4), "source": pv.source if w else HISTORY}
        for s, k, w in zip(index.to_pydatetime(), pv.kwh, pv.from_weather, strict=True)
    ]  # fmt: skip
    document = {
        "pv_source": pv.source if pv.weather_slots else HISTORY,
        "issued_utc": _iso(newest) if newest else None,
        "pv": rows,
    }
    return json.dumps(document, indent=1)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _table(pv: PlannedPv, index: pd.DatetimeIndex, settings: Settings) -> None:
    from zoneinfo import ZoneInfo

    from rich.table import Table

    from optimizer.service.pvforecast import HISTORY

    zone = ZoneInfo(settings.planner.timezone)
    newest = pv.newest_issued
    said = f"{pv.source}, issued {newest:%Y-%m-%d %H:%M} UTC" if newest else "history forecast"
    table = Table(title=f"PV forecast for the next plan ({said}; {pv.kwh.sum():.2f} kWh)")
    for name, justify in (("start (UTC)", "left"), (settings.planner.timezone, "left"),
                          ("kWh", "right"), ("from", "left")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for start, kwh, weather in zip(index.to_pydatetime(), pv.kwh, pv.from_weather, strict=True):
        table.add_row(f"{start:%Y-%m-%d %H:%M}", f"{start.astimezone(zone):%a %H:%M}",
                      f"{kwh:.3f}", pv.source if weather else HISTORY)  # fmt: skip
    out_console().print(table)


def forecast(
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fetch (or read the stored) PV forecast the next plan would use and print it per slot."""
    from optimizer.errors import WeatherUnreachable
    from optimizer.service.planner import forecasts
    from optimizer.store import Store

    settings = settings_from(config)
    source = settings.pv.forecast
    with errors_to_exit(), Store.from_settings(settings.store) as store:
        now = datetime.now(UTC)
        unreachable = _fetch_and_store(settings, store, now) if source != "history" else None
        index = _plan_index(store, settings, now)
        pv = forecasts(store, settings, index, now).pv_planned
        assert pv is not None
        unmeasured = _no_measured_pv(store, settings, index, pv)
    if source == "history":
        err_console().print("[pv] forecast = \"history\": the lagged mean of the measured PV "
                            "(no weather source configured)", highlight=False,
                            markup=False)  # fmt: skip
    elif unreachable is not None:
        what = "unreachable" if isinstance(unreachable, WeatherUnreachable) else "unusable answer"
        if pv.weather_slots == 0:
            code = EXIT_DEVICE if isinstance(unreachable, WeatherUnreachable) else EXIT_BAD_INPUT
            fail(f"PV forecast source {source}: {what} ({unreachable}) and no stored "
                 "forecast covers the next plan's slots", code)  # fmt: skip
        err_console().print(f"warning: {source}: {what} ({unreachable}); the stored "
                            "forecast", highlight=False, markup=False)  # fmt: skip
    if unmeasured:
        err_console().print(f"note: {unmeasured}", highlight=False, markup=False)
    if as_json:
        typer.echo(_json(pv, index, settings.planner.slot_minutes))
    else:
        _table(pv, index, settings)


def _no_measured_pv(
    store: Store, settings: Settings, index: pd.DatetimeIndex, pv: PlannedPv
) -> str | None:
    """A note when slots take the history forecast and the store holds no measured PV on the
    days it averages (``forecast.pv_lag_days`` before the first slot): those slots are then
    0 kWh for want of data, not because no sun is expected."""
    if pv.weather_slots == len(index):
        return None
    first = index[0].to_pydatetime()
    longest = max(settings.forecast.pv_lag_days)
    measured = store.load_series("pv", first - timedelta(days=longest + 1), first)
    if len(measured) and float(measured.sum()) > 0:
        return None
    where = "every slot" if pv.weather_slots == 0 else "the slots no weather forecast covers"
    return (
        f"the store holds no measured PV from the last {longest} days: the history forecast "
        f"is 0 kWh in {where} until the service has recorded the device's PV "
        "(or import it: import-csv --kind pv)"
    )


def _csv(frame: pd.DataFrame) -> None:
    columns = ["issued_utc", "start_utc", "end_utc", "kwh"]
    columns += [c for c in ("kwh_p10", "kwh_p90") if c in frame.columns]
    out = frame[columns].copy()
    for column in columns[:3]:
        out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(out.itertuples(index=False, name=None))


def forecasts(
    config: ConfigOption,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print the archive CSV (issued_utc,start_utc,...).")
    ] = False,
    start: Annotated[
        str | None, typer.Option("--from", help="Intervals ending after this, ISO-8601 UTC.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Intervals starting before this, ISO-8601 UTC.")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Only this source (default: [pv] forecast's, else all).")
    ] = None,
) -> None:
    """Print the stored PV forecast vintages, one line each (--csv: the archive that
    backtest --pv-forecast reads)."""
    import pandas as pd

    from optimizer.store import Store
    from optimizer.timeseries import parse_utc

    settings = settings_from(config)
    with errors_to_exit():
        lo = parse_utc(start, "--from") if start else EARLIEST
        hi = parse_utc(end, "--to") if end else LATEST
        if hi <= lo:
            raise InvalidInput(f"--to {end} must be after --from {start}")
        chosen = source or (settings.pv.forecast if settings.pv.forecast != "history" else None)
        with Store.from_settings(settings.store) as store:
            frame = store.pv_forecast_frame(lo, hi, source=chosen)
        sources = sorted(set(frame["source"]))
        if len(sources) > 1:
            raise InvalidInput(f"vintages of several sources are stored ({', '.join(sources)}): "
                               "choose one with --source")  # fmt: skip
    if as_csv:
        _csv(frame)
        return
    if frame.empty:
        err_console().print("no stored PV forecasts in this window", highlight=False)
        return
    summary = frame.groupby(["source", "issued_utc"], sort=True).agg(
        first=("start_utc", "min"), last=("end_utc", "max"), kwh=("kwh", "sum")
    )
    for row in summary.reset_index().itertuples(index=False):
        stamps = [_iso(pd.Timestamp(str(t)).to_pydatetime()) for t in (row.issued_utc, row.first,
                                                                         row.last)]  # fmt: skip
        typer.echo(f"{row.source!s:15} issued {stamps[0]}  {stamps[1]} to {stamps[2]}  "
                   f"{float(str(row.kwh)):8.3f} kWh")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``forecast`` and ``forecasts`` to ``app``."""
    app.command("forecast")(forecast)
    app.command("forecasts")(forecasts)
