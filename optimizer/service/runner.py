"""Run the service's jobs: on APScheduler in (scaled) real time, or stepped on a manual clock.

``ScheduledRunner`` is the only place that imports APScheduler. Every job is a one-shot date job
on a single worker thread (so jobs never overlap); when it finishes it is scheduled again at the
real time that corresponds to its next due time on the service clock: with ``speed`` N, a due
time ``d`` seconds ahead on the service clock fires ``d / N`` real seconds from now. A job that
fires a little early waits until the service clock reaches its due time.

Side jobs (``core.SIDE_JOBS``: tariffs, metrics) run on a second single worker, so a tariff
server that hangs never holds up the control jobs; a follow-up they return (a callable: the
re-plan for new prices) runs on the control worker at once. ``step`` runs everything in turn,
a follow-up right after its job. Both stop when the service has a ``fatal`` error (a definite
wrong password): ``run`` then exits 3.

``step`` runs the same jobs on a manual clock (``SimClock(speed=0)``): it jumps the clock to the
earliest due job and runs it — a day of service in a few seconds, for tests.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import SchedulerNotRunningError

from optimizer.device.clock import SimClock, TimeSource
from optimizer.service.core import SIDE_JOBS, Job, Service

log = logging.getLogger(__name__)


def _run_safely(job: Job) -> Callable[[], object] | None:
    """Run ``job``; an unexpected error is logged, never allowed to stop the service. Returns
    the job's follow-up, if it gave one."""
    try:
        result = job.run()
    except Exception:
        log.exception("job %s failed; it runs again when next due", job.name)
        return None
    return result if callable(result) else None


def _fatal(service: Service) -> bool:
    return getattr(service, "fatal", None) is not None


class ScheduledRunner:
    """APScheduler in real time scaled by ``speed`` (1 = real time)."""

    def __init__(self, service: Service, clock: TimeSource, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.service = service
        self.clock = clock
        self.speed = speed
        self.stop_event = threading.Event()
        # Workers add jobs only under this lock and only before ``stop_event``; ``run`` sets
        # the event under it, so no worker waits on the scheduler's locks during shutdown.
        self._adding = threading.Lock()
        self.runs: dict[str, int] = {}
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={
                "default": ThreadPoolExecutor(max_workers=1),
                "side": ThreadPoolExecutor(max_workers=1),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def _real_seconds(self, due: datetime) -> float:
        return max(0.0, (due - self.clock.now()).total_seconds() / self.speed)

    def _schedule(self, job: Job, due: datetime) -> None:
        when = datetime.now(UTC) + timedelta(seconds=self._real_seconds(due))
        executor = "side" if job.name in SIDE_JOBS else "default"
        self._add(self._fire, when, [job, due], executor)

    def _add(self, func: Callable[..., object], when: datetime, args: list[object],
             executor: str = "default") -> None:  # fmt: skip
        with self._adding, contextlib.suppress(SchedulerNotRunningError):
            if not self.stop_event.is_set():  # shutting down: schedule nothing
                self._scheduler.add_job(func, "date", run_date=when, args=args, executor=executor)

    def _fire(self, job: Job, due: datetime) -> None:
        if self.stop_event.is_set():
            return
        wait = self._real_seconds(due)
        if wait > 0 and self.stop_event.wait(wait):  # stopping: end the early wait at once
            return
        follow_up = _run_safely(job)
        if follow_up is not None:
            then = Job(f"{job.name} follow-up", follow_up, lambda now: now)
            self._add(_run_safely, datetime.now(UTC), [then])
        self.runs[job.name] = self.runs.get(job.name, 0) + 1
        if _fatal(self.service):
            self.stop()
        self._schedule(job, job.next_due(self.clock.now()))

    def stop(self) -> None:
        """Ask the runner to stop (safe from a signal handler: sets the event only)."""
        self.stop_event.set()

    def run(self, until: datetime | None = None, poll_real_s: float = 0.2) -> None:
        """Run until ``stop()`` or until the service clock reaches ``until``; the job in
        flight finishes first (``shutdown(wait=True)``)."""
        self._scheduler.start()
        now = self.clock.now()
        for job in self.service.jobs():
            self._schedule(job, now)
        try:
            while not self.stop_event.wait(poll_real_s):
                if until is not None and self.clock.now() >= until:
                    break
        finally:
            with self._adding:
                self.stop_event.set()
            self._scheduler.shutdown(wait=True)
            log.info("service stopped cleanly")


def step(
    service: Service,
    clock: SimClock,
    until: datetime,
    stop: Callable[[], bool] = lambda: False,
) -> dict[str, int]:
    """Run the jobs on a manual ``clock`` until it reaches ``until`` (or ``stop()`` is true
    after a job); return how often each job ran."""
    jobs = service.jobs()
    due = {job.name: clock.now() for job in jobs}
    runs = {job.name: 0 for job in jobs}
    order = {job.name: i for i, job in enumerate(jobs)}
    while True:
        job = min(jobs, key=lambda j: (due[j.name], order[j.name]))
        if due[job.name] >= until:
            clock.advance(max(timedelta(0), until - clock.now()))
            return runs
        if due[job.name] > clock.now():
            clock.advance(due[job.name] - clock.now())
        follow_up = _run_safely(job)
        if follow_up is not None:
            _run_safely(Job(f"{job.name} follow-up", follow_up, lambda now: now))
        runs[job.name] += 1
        due[job.name] = job.next_due(clock.now())
        if stop() or _fatal(service):
            return runs
