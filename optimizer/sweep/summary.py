"""A sweep's summary: the best settings per home and tariff, the tariffs ranked per home, the
runs that failed; ``summary.json`` and two PNG plots.

"Best" is the lowest net cost — the bill less the end energy credit (``net_cost`` = ``cost`` −
``end_energy_credit``, ``optimizer.sweep.work``), so a run that ends the period with a fuller
battery is not ranked below one that emptied it on the last day — among the strategies chosen
in the SPEC (``none`` included: no battery at all can win when wear costs more than the
spread); ``perfect`` is the bound, never a choice. Money is in the sweep's currency over the
period.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.sweep.plan import REFERENCES, Run, SweepPlan


def _number(value: Any) -> float | None:
    number = float(value) if value not in (None, "") else math.nan
    return None if math.isnan(number) else number


def _choices(plan: SweepPlan) -> list[str]:
    chosen = [s for s in plan.strategies if s not in REFERENCES]
    return [*chosen, "none"] if "none" in plan.strategies else chosen


def frame_of(rows: Sequence[dict[str, str]], runs: Sequence[Run]) -> pd.DataFrame:
    """The CSV rows of ``runs`` as a frame (figures as floats, ``run_id`` → its run)."""
    ids = {run.run_id for run in runs}
    frame = pd.DataFrame([r for r in rows if r["run_id"] in ids])
    if frame.empty:
        return frame
    for column in ("cost", "no_battery_cost", "savings", "end_energy_credit", "savings_credited",
                   "captured_share"):  # fmt: skip
        frame[column] = [_number(v) for v in frame[column]]
    frame["net_cost"] = frame["cost"] - frame["end_energy_credit"]
    return frame


def _best(frame: pd.DataFrame, plan: SweepPlan, by_id: dict[str, Run]) -> list[dict[str, Any]]:
    ok = frame[(frame["status"] == "ok") & frame["strategy"].isin(_choices(plan))]
    found = []
    for (home, tariff), group in ok.groupby(["home", "tariff"], sort=False):
        top = group.sort_values(["net_cost", "strategy"], key=_none_last).iloc[0]
        found.append({
            "home": home, "tariff": tariff, "strategy": top["strategy"],
            "settings": by_id[top["run_id"]].point, "cost": top["cost"],
            "no_battery_cost": top["no_battery_cost"], "savings": top["savings"],
            "end_energy_credit": top["end_energy_credit"], "net_cost": top["net_cost"],
            "savings_credited": top["savings_credited"], "captured_share": top["captured_share"],
        })  # fmt: skip
    return found


#: Above this share of the credited savings, the end credit weighs too much in a ranking.
END_CREDIT_SHARE = 0.2


def end_credit_note(where: str, credit: float, credited_savings: float) -> str | None:
    """A warning when the energy left at the end (``credit``, currency) is more than
    ``END_CREDIT_SHARE`` of the credited savings: the period is then too short for the net cost
    to rank settings by their bills (a setting that ends fuller can rank first while its bill
    is higher). ``None`` otherwise."""
    if abs(credit) <= END_CREDIT_SHARE * abs(credited_savings):
        return None
    share = abs(credit) / abs(credited_savings) if credited_savings else float("inf")
    weight = f"{share:.0%} of" if math.isfinite(share) else "more than"
    return (
        f"{where}: the end credit ({credit:+.2f}) is {weight} the credited savings: the "
        "period is short for ranking settings (energy left in the battery, not bills, decides "
        "it); a longer period weighs the bills"
    )


def _notes(best: list[dict[str, Any]]) -> list[str]:
    """``end_credit_note`` of each home and tariff's best, where there is one."""
    found = (
        end_credit_note(f"{b['home']} on {b['tariff']}", b["end_energy_credit"],
                        b["savings_credited"])
        for b in best
    )  # fmt: skip
    return [note for note in found if note]


def _none_last(column: pd.Series) -> pd.Series:
    """Sort key: a tie on net cost goes to a strategy that uses the battery."""
    return column.eq("none") if column.name == "strategy" else column


def _ranked(best: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    ranking: dict[str, list[dict[str, Any]]] = {}
    keys = ("tariff", "net_cost", "cost", "end_energy_credit", "no_battery_cost", "strategy",
            "settings")  # fmt: skip
    for item in sorted(best, key=lambda b: b["net_cost"]):
        ranking.setdefault(item["home"], []).append({k: item[k] for k in keys})
    return ranking


def _failed(frame: pd.DataFrame, by_id: dict[str, Run]) -> list[dict[str, Any]]:
    bad = frame[frame["status"] != "ok"]
    return [
        {"home": row["home"], "tariff": row["tariff"], "settings": by_id[row["run_id"]].point,
         "strategy": row["strategy"], "error": row["error"]}
        for _, row in bad.iterrows()
    ]  # fmt: skip


def build_summary(
    rows: Sequence[dict[str, str]], plan: SweepPlan, runs: Sequence[Run]
) -> dict[str, Any]:
    """The summary object (the ``--json`` shape) of ``runs`` from their CSV ``rows``."""
    by_id = {run.run_id: run for run in runs}
    frame = frame_of(rows, runs)
    done = set(frame["run_id"]) if not frame.empty else set()
    failed_ids = set(frame.loc[frame["status"] != "ok", "run_id"]) if not frame.empty else set()
    best = _best(frame, plan, by_id) if not frame.empty else []
    start, end = runs[0].period if runs else (None, None)
    return {
        "currency": plan.currency,
        "period": {"from": start and start.isoformat(), "to": end and end.isoformat()},
        "runs": len(runs),
        "finished": len(done),
        "failed": len(failed_ids),
        "missing": len(runs) - len(done),
        "strategies": list(plan.strategies),
        "grid_keys": plan.grid_keys,
        "best": best,
        "tariffs_ranked": _ranked(best),
        "failed_runs": _failed(frame, by_id) if not frame.empty else [],
        "notes": _notes(best),
    }


def write_summary(
    summary: dict[str, Any], frame: pd.DataFrame, plan: SweepPlan, out: Path
) -> list[Path]:
    """``summary.json`` and the plots under ``out``; the paths written."""
    from optimizer.sweep.plots import settings_plot, tariffs_plot

    path = out / "summary.json"
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    written = [path]
    if summary["best"]:
        written.append(tariffs_plot(summary, out / "tariffs.png"))
        ok = frame[(frame["status"] == "ok") & frame["strategy"].isin(_choices(plan))]
        if plan.grid_keys and not ok.empty:
            written.append(settings_plot(ok, plan.grid_keys, plan.currency, out / "settings.png"))
    return written
