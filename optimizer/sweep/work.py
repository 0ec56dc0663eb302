"""One run of a sweep — what a worker does: the backtest of each strategy, and its rows.

A row per strategy: money in the tariff's currency (``cost``, ``no_battery_cost``,
``savings``, unrounded sums of the replay's slots), ``end_energy_credit`` (the stored energy
at the end less at the start, valued as ``backtest`` values it: the base settings'
``planner.terminal_soc_value`` rule, ``optimizer.backtest.report.end_value_per_kwh``, the
same rule for every run of a sweep whatever it overrides), ``savings_credited`` (savings plus
that credit), ``captured_share`` (credited savings over the perfect-foresight credited
savings, ``None`` without them), ``cycles`` (equivalent full cycles, see
``optimizer.backtest.report``), ``soc_end_pct``, ``seconds`` (the replay's own wall time),
``status`` (``ok`` or ``failed``) and ``error``. A strategy that raises fails its own row; the
others still run. Without the credit a strategy that ends the period fuller than it began
would look worse than one that empties the battery on the last day.
"""

from __future__ import annotations

from typing import Any

from optimizer.backtest.engine import BacktestResult, run_backtest
from optimizer.backtest.registry import resolve
from optimizer.backtest.report import end_energy_credit, end_value_per_kwh, summary
from optimizer.backtest.suite import PvArchive, config_from, inputs_from, with_overrides
from optimizer.config import Settings
from optimizer.sweep.plan import HomeData, Run, TariffData, series_for

Row = dict[str, Any]


def describe(exc: BaseException) -> str:
    """An error as one line: its type and message."""
    text = " ".join(str(exc).split()) or repr(exc)
    return f"{type(exc).__name__}: {text}"


def _row(run: Run, strategy: str, **figures: Any) -> Row:
    return {"home": run.home, "tariff": run.tariff, **run.point, "strategy": strategy,
            "cost": None, "no_battery_cost": None, "savings": None, "end_energy_credit": None,
            "savings_credited": None, "captured_share": None,
            "cycles": None, "soc_end_pct": None, "seconds": None, "status": "ok", "error": "",
            "run_id": run.run_id, **figures}  # fmt: skip


def failed_rows(run: Run, error: str) -> list[Row]:
    """The rows of a run that did not finish (its worker died, its inputs failed)."""
    return [_row(run, name, status="failed", error=error) for name in run.strategies]


def _figures(
    result: BacktestResult, settings: Settings, value_per_kwh: float, perfect: BacktestResult | None
) -> Row:
    frame = result.frame
    cost, base = float(frame["cost"].sum()), float(frame["no_battery_cost"].sum())
    credit = end_energy_credit(frame, value_per_kwh)
    reference = None
    if perfect is not None:
        perfect_cost = float(perfect.frame["cost"].sum())
        reference = base - perfect_cost + end_energy_credit(perfect.frame, value_per_kwh)
    facts = summary(result, settings.battery.spec())
    return {
        "cost": cost,
        "no_battery_cost": base,
        "savings": base - cost,
        "end_energy_credit": credit,
        "savings_credited": base - cost + credit,
        "captured_share": (base - cost + credit) / reference if reference else None,
        "cycles": facts["cycles"],
        "soc_end_pct": facts["soc_end_pct"],
        "seconds": round(result.seconds, 3),
    }


def run_one(run: Run, base: Settings, home: HomeData, tariff: TariffData) -> list[Row]:
    """Replay ``run``: one row per strategy, in ``run.strategies`` order. Raises only when the
    run's inputs cannot be built (the caller reports the whole run as failed)."""
    settings = with_overrides(base, run.overrides, "settings") if run.overrides else base
    series = series_for(home, tariff, settings.planner.slot_minutes)
    archive = None
    if home.pv_forecast is not None:  # calibrated as the service does (pv.calibrate)
        archive = PvArchive(home.pv_forecast, calibrate=settings.pv.calibrate)
    inputs = inputs_from(series, settings, run.period, archive)
    config = config_from(settings)
    results: dict[str, BacktestResult | str] = {}
    for name in run.strategies:
        try:
            strategy = resolve(name, settings.backtest.strategy_modules)
            results[name] = run_backtest(strategy, inputs, config)
        except Exception as exc:  # one strategy's failure is its row's, not the run's
            results[name] = describe(exc)
    found = results.get("perfect")
    perfect = found if isinstance(found, BacktestResult) else None
    rows = []
    for name, result in results.items():
        if isinstance(result, str):
            rows.append(_row(run, name, status="failed", error=result))
        else:
            value = end_value_per_kwh(
                result.frame, settings.battery.spec(), base.planner.terminal_soc_value
            )
            rows.append(_row(run, name, **_figures(result, settings, value, perfect)))
    return rows
