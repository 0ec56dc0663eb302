"""``xstorage-optimizer show``: the current plan and status from the store, for a terminal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from optimizer.cli.common import errors_to_exit, out_console, settings_from


def _local(iso: str | None, zone: str) -> str:
    if iso is None:
        return "-"
    import pandas as pd

    return pd.Timestamp(iso).tz_convert(zone).strftime("%a %d %b %H:%M")


def _money(day: dict[str, Any] | None, cur: str) -> str:
    if day is None:
        return "-"
    return (f"{day['cost']:z.2f} {cur} (without the battery {day['no_battery_cost']:z.2f}, "
            f"saved {day['savings']:z.2f}; charged {day['charged_kwh']:z.2f} kWh, "
            f"discharged {day['discharged_kwh']:z.2f} kWh)")  # fmt: skip


def print_overview(doc: dict[str, Any]) -> None:
    """The document as a few lines and a table of the plan's slots ahead."""
    from rich.table import Table

    zone, cur = doc["timezone"], doc["currency"]
    reading, last, plan = doc["reading"], doc["last_command"], doc["plan"]
    lines = [
        ("optimiser", "enabled" if doc["optimiser_enabled"] else "switched off (fallback mode)"),
        ("SOC", "-" if reading is None else
         f"{reading['soc_pct']:.1f} % at {_local(reading['time'], zone)} ({reading['mode']})"),
        ("last command", "-" if last is None else
         f"{last['body'].get('command')} at {_local(last['sent_utc'], zone)}"
         + (" (ok)" if last["ok"] else f" (failed: {last['error']})")),
        ("prices known until", _local(doc["prices_until_utc"], zone)),
        ("today", _money(doc["today"], cur)),
        ("yesterday", _money(doc["yesterday"], cur)),
        ("saved to date", f"{doc['savings_to_date']:z.2f} {cur}"),
    ]  # fmt: skip
    for name, value in lines:
        out_console().print(f"{name:>20}: {value}", highlight=False, soft_wrap=True)
    if plan is None:
        out_console().print("no plan in the store yet")
        return
    table = Table(title=f"plan {plan['id']} made {_local(plan['made_utc'], zone)} ({plan['why']}),"
                        f" times in {zone}")  # fmt: skip
    for header in ("start", "action", "SOC %", f"import {cur}/kWh", f"export {cur}/kWh"):
        table.add_column(header, justify="left" if header == "action" else "right")
    for s in plan["slots"]:
        table.add_row(
            _local(s["start"], zone),
            s["label"],
            f"{s['soc_start_pct']:.0f} → {s['soc_end_pct']:.0f}",
            f"{s['price_import_per_kwh']:.3f}",
            f"{s['price_export_per_kwh']:.3f}",
        )
    out_console().print(table)


def show(
    config: Annotated[Path | None, typer.Option(help="Settings file (config.toml).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead.")] = False,
    at: Annotated[
        str | None, typer.Option(help="As of this time (ISO-8601 with offset; default now).")
    ] = None,
) -> None:
    """Print the current plan and status from the store (works while `run` goes or not)."""
    from optimizer.integrations.overview import overview
    from optimizer.store import Store
    from optimizer.timeseries import parse_utc

    settings = settings_from(config)
    with errors_to_exit():
        now = parse_utc(at, "--at") if at is not None else datetime.now(UTC)
        with Store.from_settings(settings.store) as store:
            doc = overview(store, settings, now)
    if as_json:
        typer.echo(json.dumps(doc))
        return
    print_overview(doc)


def register(app: typer.Typer) -> None:
    """Add ``show`` to ``app``."""
    app.command("show")(show)
