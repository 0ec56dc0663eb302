"""How fast does a sweep go, and what does the engine cost? Prints figures for docs/sweep.md.

Usage: python benchmarks/sweep_speed.py [--runs N] [--days D] [--repeats R] [--year]
    [--skip-throughput] [--skip-overhead]

1. Throughput: N runs (the shipped household on the Agile pair, D days each from 2023-03-01,
   perfect + none + lp; the grid varies battery.capacity_kwh) in this process, on a
   LocalCluster of 1 worker and of 2 workers. Runs per minute counted from the first
   submission to the last result (the cluster's start is reported apart), with the CPU time
   the workers spent (their ``time.process_time``), so a machine loaded by other jobs shows.
   Each worker imports what a run needs before the clock starts (a one-off per worker).
2. Overhead: one one-month run (March 2023) done directly (read the files, build the inputs,
   ``run_strategies``) against the same run through the engine in this process (``build_plan``
   + ``execute`` + a ``runs.csv`` row), wall and CPU; the engine's share is the difference.
   That difference of two ~2.5 s runs is within their run-to-run spread, so the CPU time
   spent inside the replays themselves (``run_backtest``, timed by a wrapper in this script)
   is also subtracted from each: what is left is each path's own work (files, inputs, rows),
   and the engine's overhead is its own work less the direct path's, over the direct run.
   Then the round trip of an empty task on a 1-worker LocalCluster (what a cluster adds per
   run besides shipping the data once per worker).
3. ``--year``: one home-year run on one worker: its time and the worker's memory.
4. Sizes for the on-paper estimate: bytes of a home, a tariff, a run and its rows pickled (what
   crosses the network), and a worker's memory after its runs.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from realdata import FILES

from optimizer.backtest.suite import config_from, inputs_from, read_series, run_strategies
from optimizer.config import Settings
from optimizer.sweep.engine import Where, client_for, execute, run_on
from optimizer.sweep.plan import PlanParts, Run, SweepPlan, build_plan
from optimizer.sweep.results import RunsFile
from optimizer.sweep.spec import HomeSpec, TariffSpec
from optimizer.sweep.work import Row

STRATEGIES = ["lp"]


def plan_for(start: datetime, days: int, capacities: list[float]) -> SweepPlan:
    home = HomeSpec(name="fawkesley", load=FILES.load)
    tariff = TariffSpec(name="agile", prices=FILES.prices, export_prices=FILES.export_prices,
                        price_unit="p/kWh")  # fmt: skip
    parts = PlanParts(Settings(), (start, start + timedelta(days=days)), STRATEGIES,
                      {"battery.capacity_kwh": capacities})  # fmt: skip
    return build_plan(parts, [home], [tariff])


def _warm() -> None:
    """Import what a run needs (a worker does it once, at its first run)."""
    import highspy  # noqa: F401

    import strategies.heuristics
    import strategies.lp  # noqa: F401
    from optimizer.sweep import work  # noqa: F401


def _worker_cpu(client: Any) -> float:
    return float(sum(client.run(time.process_time).values()))


def _worker_rss_mib(client: Any) -> float:
    import psutil  # type: ignore[import-untyped]

    def rss() -> float:
        return float(psutil.Process().memory_info().rss)

    return float(max(client.run(rss).values())) / 2**20


def throughput(plan: SweepPlan, workers: int) -> dict[str, float]:
    """Runs per minute on ``workers`` (0: this process, no cluster)."""
    finished: list[Row] = []

    def done(run: Run, rows: list[Row]) -> None:
        finished.extend(rows)

    if workers == 0:
        _warm()
        wall, cpu = time.perf_counter(), time.process_time()
        execute(plan, plan.runs, Where(1), done)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return {"start_s": 0.0, "wall_s": wall, "cpu_s": cpu, "rss_mib": float("nan"),
                "per_min": 60 * len(plan.runs) / wall}  # fmt: skip
    began = time.perf_counter()
    with client_for(Where(workers)) as client:
        client.wait_for_workers(workers)
        start_s = time.perf_counter() - began
        client.run(_warm)
        cpu0 = _worker_cpu(client)
        wall = time.perf_counter()
        run_on(client, plan, plan.runs, done)
        wall = time.perf_counter() - wall
        cpu = _worker_cpu(client) - cpu0
        rss = _worker_rss_mib(client)
    assert all(r["status"] == "ok" for r in finished), [r["error"] for r in finished]
    return {"start_s": start_s, "wall_s": wall, "cpu_s": cpu, "rss_mib": rss,
            "per_min": 60 * len(plan.runs) / wall}  # fmt: skip


def _direct(settings: Settings, period: tuple[datetime, datetime]) -> list[dict[str, Any]]:
    inputs = inputs_from(read_series(FILES, settings), settings, period)
    return run_strategies(["perfect", "none", *STRATEGIES], inputs, config_from(settings))[1]


def _engine(start: datetime, days: int, capacity: float) -> tuple[SweepPlan, list[Row]]:
    plan = plan_for(start, days, [capacity])
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        runs_file = RunsFile(Path(folder), plan.grid_keys)
        runs_file.start(plan.runs, resume=False)

        def keep(run: Run, found: list[Row]) -> None:
            rows.extend(found)
            runs_file.append(found)

        execute(plan, plan.runs, Where(1), keep)
        runs_file.close()
    return plan, rows


#: CPU seconds spent inside ``run_backtest`` (both paths call it; wrapped in ``_count_replays``).
REPLAY_CPU = [0.0]


def _count_replays() -> None:
    """Wrap ``run_backtest`` where the direct path and the engine call it, adding its CPU time
    to ``REPLAY_CPU`` (this script only)."""
    import optimizer.backtest.suite as suite
    import optimizer.sweep.work as work

    plain = suite.run_backtest

    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            return plain(*args, **kwargs)
        finally:
            REPLAY_CPU[0] += time.process_time() - began

    suite.run_backtest = timed  # type: ignore[assignment]
    work.run_backtest = timed  # type: ignore[assignment]


def _timed(work: Any) -> tuple[float, float, Any, float]:
    """(wall s, CPU s, result, CPU s inside the replays)."""
    wall, cpu, replays = time.perf_counter(), time.process_time(), REPLAY_CPU[0]
    found = work()
    cpu = time.process_time() - cpu
    return time.perf_counter() - wall, cpu, found, REPLAY_CPU[0] - replays


def _round_trip_ms(repeats: int = 50) -> float:
    """Median wall time (ms) of an empty task's submit-to-result on a 1-worker LocalCluster."""
    with client_for(Where(1)) as client:
        client.wait_for_workers(1)
        times = []
        for k in range(repeats):
            began = time.perf_counter()
            client.submit(abs, -k, pure=False).result()
            times.append(1000 * (time.perf_counter() - began))
    return statistics.median(times)


def overhead(start: datetime, days: int, repeats: int) -> None:
    """Direct and engine alternately, ``repeats`` times each after a warm-up; medians."""
    settings = Settings()
    period = (start, start + timedelta(days=days))
    _count_replays()
    _direct(settings, (start, start + timedelta(days=2)))  # imports, caches: a warm-up
    direct, engine = [], []
    for _ in range(repeats):
        direct.append(_timed(lambda: _direct(settings, period)))
        engine.append(_timed(lambda: _engine(start, days, settings.battery.capacity_kwh)))
    summaries, (plan, rows) = direct[0][2], engine[0][2]
    same = all(abs(r["cost"] - s["cost"]) < 1e-3 for r, s in zip(rows, summaries, strict=True))
    d_wall, d_cpu = (statistics.median(t[i] for t in direct) for i in (0, 1))
    e_wall, e_cpu = (statistics.median(t[i] for t in engine) for i in (0, 1))
    print(f"\none {days}-day run (perfect, none, lp), this process, median of {repeats}:")
    print(f"  direct: {d_wall:.2f} s wall, {d_cpu:.2f} s CPU  (CPU each: "
          f"{', '.join(f'{t[1]:.2f}' for t in direct)})")  # fmt: skip
    print(f"  engine: {e_wall:.2f} s wall, {e_cpu:.2f} s CPU  (CPU each: "
          f"{', '.join(f'{t[1]:.2f}' for t in engine)}; same bills: {same})")  # fmt: skip
    print(f"  overhead: {100 * (e_wall / d_wall - 1):+.2f} % wall, "
          f"{100 * (e_cpu / d_cpu - 1):+.2f} % CPU")  # fmt: skip
    d_own = statistics.median(t[1] - t[3] for t in direct)
    e_own = statistics.median(t[1] - t[3] for t in engine)
    replays = statistics.median(t[3] for t in direct)
    print(f"  outside the replays (CPU, median): direct {1000 * d_own:.0f} ms, engine "
          f"{1000 * e_own:.0f} ms (replays {replays:.2f} s); the engine's own overhead "
          f"{1000 * (e_own - d_own):+.0f} ms = {100 * (e_own - d_own) / d_cpu:+.2f} % of the "
          "direct run")  # fmt: skip
    print(f"  a LocalCluster's round trip per run (empty task, median of 50): "
          f"{_round_trip_ms():.1f} ms")  # fmt: skip
    run = plan.runs[0]
    home, tariff = plan.homes[run.home], plan.tariffs[run.tariff]
    exports = 0 if tariff.price_export is None else len(tariff.price_export)
    print("\nbytes pickled (what crosses the network):")
    print(f"  home (the whole load file, {len(home.load_kwh)} rows): {len(pickle.dumps(home)):,}")
    print(f"  tariff ({len(tariff.price_import)} + {exports} rows): {len(pickle.dumps(tariff)):,}")
    print(f"  base settings: {len(pickle.dumps(plan.base)):,}")
    print(f"  run: {len(pickle.dumps(run)):,}; its rows: {len(pickle.dumps(rows)):,}")


def year_run() -> None:
    """One home-year (2022-11-15 → 2023-11-15, hourly re-plans) on a 1-worker LocalCluster:
    its time and the worker's memory after it (the on-paper estimate's unit)."""
    plan = plan_for(datetime(2022, 11, 15, tzinfo=UTC), 365, [4.2])
    rows: list[Row] = []
    with client_for(Where(1)) as client:
        client.wait_for_workers(1)
        client.run(_warm)
        before = _worker_rss_mib(client)
        cpu0, wall = _worker_cpu(client), time.perf_counter()
        run_on(client, plan, plan.runs, lambda run, found: rows.extend(found))
        wall, cpu = time.perf_counter() - wall, _worker_cpu(client) - cpu0
        after = _worker_rss_mib(client)
    print(f"\none home-year run (perfect, none, lp) on 1 worker: {wall:.1f} s wall, {cpu:.1f} s "
          f"CPU; worker RSS {before:.0f} MiB before, {after:.0f} MiB after")  # fmt: skip
    for row in rows:
        print(f"  {row['strategy']:8s} {row['seconds']:6.1f} s  {row['status']}")


def report_throughput(plan: SweepPlan, runs: int, days: int) -> None:
    """Runs per minute in this process, on 1 and on 2 local workers."""
    print(f"{runs} runs of {days} days (perfect, none, lp); the machine is shared, so CPU time "
          "is shown beside wall time")  # fmt: skip
    found = {}
    for workers, name in ((0, "this process"), (1, "LocalCluster, 1 worker"),
                          (2, "LocalCluster, 2 workers")):  # fmt: skip
        found[workers] = figures = throughput(plan, workers)
        print(f"  {name:24s}: {figures['per_min']:6.2f} runs/min, {figures['wall_s']:6.1f} s "
              f"wall, {figures['cpu_s']:6.1f} s CPU, cluster start {figures['start_s']:.1f} s, "
              f"worker RSS {figures['rss_mib']:.0f} MiB")  # fmt: skip
    print(f"  2 workers / 1 worker: {found[2]['per_min'] / found[1]['per_min']:.2f}× throughput; "
          f"CPU per run {found[1]['cpu_s'] / runs:.2f} s (1) vs {found[2]['cpu_s'] / runs:.2f} s "
          "(2)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--year", action="store_true", help="also one home-year on 1 worker")
    parser.add_argument("--repeats", type=int, default=3, help="of the overhead's pair")
    args = parser.parse_args()
    start = datetime(2023, 3, 1, tzinfo=UTC)
    if not args.skip_throughput:
        capacities = [round(4.0 + 0.5 * i, 2) for i in range(args.runs)]
        report_throughput(plan_for(start, args.days, capacities), args.runs, args.days)
    if not args.skip_overhead:
        overhead(start, 31, args.repeats)
    if args.year:
        year_run()


if __name__ == "__main__":
    main()
