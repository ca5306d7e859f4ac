"""Periodic tasks on APScheduler (dispatch, printer health) and the wake-up that runs a pass now.

The queue lives in our tables; APScheduler only holds ticks (max_instances=1, coalesce=True).
Each task catches and logs its own failures, since APScheduler would only log them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)


class SerialTask:
    """Runs work on one thread at a time; a call while it runs makes it run once more after."""

    def __init__(self, name: str, work: Callable[[], object]) -> None:
        self.name = name
        self._work = work
        self._lock = threading.Lock()
        self._again = threading.Event()
        self.runs = 0
        self.failures = 0

    def __call__(self) -> None:
        self._again.set()
        while self._again.is_set():
            if not self._lock.acquire(blocking=False):
                return  # the running call sees _again and loops
            try:
                self._again.clear()
                self._work()
                self.runs += 1
            except Exception:
                self.failures += 1
                log.exception("task %s failed; it runs again at its next tick", self.name)
            finally:
                self._lock.release()


class TaskScheduler:
    """APScheduler with printfarm's ticks; `wake(name)` runs a task now on the scheduler's pool."""

    def __init__(self) -> None:
        self._scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"max_instances": 1, "coalesce": True})
        self._tasks: dict[str, SerialTask] = {}

    def every(self, name: str, seconds: float, work: Callable[[], object]) -> SerialTask:
        task = SerialTask(name, work)
        self._tasks[name] = task
        self._scheduler.add_job(task, "interval", seconds=seconds, id=name, name=name)
        return task

    def wake(self, name: str) -> None:
        """Run the task as soon as a worker is free (not waiting for its interval)."""
        if not self._scheduler.running:
            return
        # SerialTask keeps runs apart, so woken runs may overlap a tick: the later one only flags "again".
        self._scheduler.add_job(self._tasks[name], name=f"{name} (woken)", max_instances=100)

    def once(self, name: str, work: Callable[[], object]) -> None:
        task = SerialTask(name, work)
        self._scheduler.add_job(task, name=name, max_instances=100)

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
