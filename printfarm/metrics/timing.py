"""Durations of repeated work (dispatch passes) for /metrics: a count, a sum, the last and the longest."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class DurationStats:
    """Thread-safe: the scheduler's worker threads record, a /metrics request reads."""

    count: int = 0
    total_seconds: float = 0.0
    last_seconds: float = 0.0
    max_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def observe(self, seconds: float) -> None:
        with self._lock:
            self.count += 1
            self.total_seconds += seconds
            self.last_seconds = seconds
            self.max_seconds = max(self.max_seconds, seconds)

    def snapshot(self) -> tuple[int, float, float, float]:
        """(count, total, last, max) read together."""
        with self._lock:
            return self.count, self.total_seconds, self.last_seconds, self.max_seconds


def timed(stats: DurationStats, work: Callable[[], T]) -> Callable[[], T]:
    """work, recording how long each call took (also when it raises)."""

    def run() -> T:
        started = time.perf_counter()
        try:
            return work()
        finally:
            stats.observe(time.perf_counter() - started)

    return run
