"""Run a sweep's runs: in this process, on a local Dask cluster, or on a remote one.

Without a scheduler address a ``LocalCluster`` of ``workers`` processes (one thread each, on
127.0.0.1, no dashboard) is started and stopped with the sweep; ``workers=1`` runs in this
process with no cluster at all. With an address (or a scheduler file) the same code runs on that
cluster: every node needs the same installed version; nothing is read from files there.

The data travels as tasks: the base settings and each tariff once, each home once while its runs
are in flight (runs are submitted home by home, as many at a time as the cluster has threads,
so the scheduler never holds the whole fleet). A worker that dies takes its data with it; Dask
recomputes that from the task and retries the run that was running (``ALLOWED_FAILURES`` times
on a local cluster; a remote scheduler's own ``distributed.scheduler.allowed-failures``), then
the run is reported failed.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer.errors import InvalidInput
from optimizer.sweep.plan import HomeData, Run, SweepPlan, TariffData
from optimizer.sweep.work import Row, describe, failed_rows, run_one

if TYPE_CHECKING:
    from distributed import Client, Future

#: How many times a local cluster retries a run whose worker died (then it is reported failed).
ALLOWED_FAILURES = 1
#: Seconds to wait for a remote scheduler before giving up (exit 2, nothing run).
CONNECT_TIMEOUT_S = 15.0
OnDone = Callable[[Run, list[Row]], None]


@dataclass(frozen=True, slots=True)
class Where:
    """Where runs execute: ``workers`` local processes, or the cluster at ``scheduler`` (an
    address such as ``tcp://10.0.0.5:8786``) or described by ``scheduler_file``."""

    workers: int | None = None
    scheduler: str | None = None
    scheduler_file: Path | None = None

    @property
    def remote(self) -> bool:
        """A cluster that runs already (an address or a scheduler file)."""
        return self.scheduler is not None or self.scheduler_file is not None

    @property
    def local_workers(self) -> int:
        """The local cluster's processes (default: the machine's cores)."""
        return self.workers or os.cpu_count() or 1

    def describe(self) -> str:
        """Where, for messages: ``2 processes`` or ``the cluster at tcp://...``."""
        if self.remote:
            return f"the cluster at {self.scheduler or self.scheduler_file}"
        count = self.local_workers
        return "this process" if count == 1 else f"{count} processes"


def safe_run(run: Run, base: Any, home: HomeData, tariff: TariffData) -> list[Row]:
    """``run_one`` with a failure to build the run's inputs reported as its rows."""
    try:
        return run_one(run, base, home, tariff)
    except Exception as exc:
        return failed_rows(run, describe(exc))


def _held(value: Any) -> Any:
    """A task that holds ``value`` (so Dask can recompute it if its worker dies)."""
    return value


def execute(plan: SweepPlan, runs: Sequence[Run], where: Where, on_done: OnDone) -> None:
    """Run ``runs`` of ``plan`` and call ``on_done(run, rows)`` as each finishes (any order)."""
    if not runs:
        return
    if not where.remote and where.local_workers == 1:
        for run in runs:
            on_done(run, safe_run(run, plan.base, plan.homes[run.home], plan.tariffs[run.tariff]))
        return
    with client_for(where) as client:
        run_on(client, plan, runs, on_done)


@contextmanager
def client_for(where: Where) -> Iterator[Client]:
    """A Dask client: to ``where``'s cluster, or to a local cluster made for the sweep."""
    import dask
    from distributed import Client, LocalCluster

    if where.remote:
        try:
            client = Client(
                where.scheduler,
                scheduler_file=None if where.scheduler_file is None else str(where.scheduler_file),
                timeout=CONNECT_TIMEOUT_S,
                set_as_default=False,
            )
        except (OSError, TimeoutError, ValueError) as exc:
            raise InvalidInput(f"{where.describe()}: cannot connect ({describe(exc)})") from None
        with client:
            yield client
        return
    settings = {
        "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
        # Dask's statistical profiler samples every worker thread each 10 ms: CPU a sweep
        # spends on nothing it reports (benchmarks/sweep_speed.py measures the difference).
        "distributed.worker.profile.enabled": False,
    }
    cluster: Any = None
    local: Any = None
    try:
        with dask.config.set(settings):
            cluster = LocalCluster(
                n_workers=where.local_workers, threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None, silence_logs=logging.CRITICAL,
                # workers log nothing below CRITICAL: a failed run is reported from its future,
                # and a Ctrl-C must not end in their connection tracebacks
                # no dashboard; the scheduler's small HTTP server (health, metrics) on a free
                # loopback port instead of 8787 (two sweeps at once do not collide)
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            )  # fmt: skip
            with cluster, Client(cluster, set_as_default=False) as local:
                yield local
    except KeyboardInterrupt:
        _close_quietly(local, cluster)
        raise


def _close_quietly(client: Any, cluster: Any) -> None:
    """Ctrl-C (also while the cluster starts): close the client and the local cluster now,
    without Dask's shutdown noise; Dask's own exit hook, which would try again on a cluster
    stopped half-way and print a traceback, is taken off."""
    from distributed.deploy.spec import close_clusters

    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    for closing in (client, cluster):
        if closing is not None:
            with contextlib.suppress(Exception):
                closing.close(timeout=5)
    atexit.unregister(close_clusters)


def _lost(future: Future[Any]) -> str:
    """Why a run's future did not finish: its worker died (retried), or it was cancelled."""
    try:
        exc = future.exception()
    except Exception as cancelled:  # the future was cancelled: exception() raises
        return describe(cancelled)
    if type(exc).__name__ == "KilledWorker":
        return f"its worker died running it: {describe(exc)}"
    return describe(exc) if exc is not None else f"run {future.status}"


class _Feeder:
    """Submits runs home by home, each home's data while its runs are in flight."""

    def __init__(self, client: Client, plan: SweepPlan, runs: Sequence[Run]) -> None:
        self.client, self.plan, self.tag = client, plan, uuid.uuid4().hex[:8]
        self.queue = list(reversed(runs))
        self.left = {name: 0 for name in plan.homes}
        for run in runs:
            self.left[run.home] += 1
        self.homes: dict[str, Future[Any]] = {}
        self.base = self._hold(plan.base, "base")
        self.tariffs = {n: self._hold(t, f"tariff-{n}") for n, t in plan.tariffs.items()}
        self.running: dict[Any, Run] = {}

    def _hold(self, value: Any, name: str) -> Future[Any]:
        return self.client.submit(_held, value, key=f"sweep-{self.tag}-{name}")

    def next(self) -> Future[Any] | None:
        """Submit the next run (``None``: all submitted)."""
        if not self.queue:
            return None
        run = self.queue.pop()
        if run.home not in self.homes:
            self.homes[run.home] = self._hold(self.plan.homes[run.home], f"home-{run.home}")
        future = self.client.submit(
            safe_run, run, self.base, self.homes[run.home], self.tariffs[run.tariff],
            key=f"sweep-{self.tag}-run-{run.run_id}",
        )  # fmt: skip
        self.running[future.key] = run
        return future

    def finished(self, future: Future[Any]) -> Run:
        """The run ``future`` ran; its home's data is let go after its last run."""
        run = self.running.pop(future.key)
        self.left[run.home] -= 1
        if self.left[run.home] == 0:
            self.homes.pop(run.home).release()
        return run


def run_on(client: Client, plan: SweepPlan, runs: Sequence[Run], on_done: OnDone) -> None:
    """As many runs in flight as the cluster has threads (asked again as each run finishes, so
    workers that join or leave count): a worker holds only the run it executes, so a worker that
    dies takes no innocent run's retries with it."""
    from distributed import as_completed

    feeder = _Feeder(client, plan, runs)
    done = as_completed([], loop=client.loop)

    def top_up() -> None:
        threads = max(1, sum(client.nthreads().values()))
        while len(feeder.running) < threads:
            following = feeder.next()
            if following is None:
                return
            done.add(following)

    top_up()
    for future in done:
        run = feeder.finished(future)
        rows = future.result() if future.status == "finished" else failed_rows(run, _lost(future))
        future.release()
        on_done(run, rows)
        top_up()
