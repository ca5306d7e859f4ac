"""Ingest counters for /metrics: what MQTT brought, what was written, what was dropped and why."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from printfarm.printers.feed import NOT_USED

log = logging.getLogger(__name__)

#: Distinct (problem, printer) pairs whose first drop is logged; a flood of random topics stops there.
_LOGGED_DROPS_MAX = 100_000


@dataclass
class IngestStats:
    """Counters for /metrics, the one source of them.

    ``received``: messages handed to apply_raw; ``applied``: messages of known printers written;
    ``dropped``: per problem code (see BadMessage, plus ``unknown_printer``); ``batches``: units of
    work committed; ``batch_retries``: batches tried again after a deadlock or a race;
    ``batches_failed``: batches given up (their messages are in ``dropped["batch_failed"]``);
    ``silent_polls``: printers polled over REST because their MQTT went quiet.
    """

    received: int = 0
    applied: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    batch_retries: int = 0
    batches_failed: int = 0
    silent_polls: int = 0

    def snapshot(self) -> dict[str, Any]:
        """A copy safe to read on another thread (take it under the owner's lock)."""
        return {
            "received": self.received,
            "applied": self.applied,
            "dropped": dict(self.dropped),
            "batches": self.batches,
            "batch_retries": self.batch_retries,
            "batches_failed": self.batches_failed,
            "silent_polls": self.silent_polls,
        }

    def add(self, other: IngestStats) -> None:
        """Add another's counters to these (an ingest worker's, say)."""
        self.received += other.received
        self.applied += other.applied
        self.dropped.update(other.dropped)
        self.batches += other.batches
        self.batch_retries += other.batch_retries
        self.batches_failed += other.batches_failed
        self.silent_polls += other.silent_polls


class IngestCounters:
    """IngestStats behind a lock, shared by the threads that apply batches and reconcile.

    ``base_topic_of`` names the printer of a topic (the feed's), so a drop is logged once per printer.
    """

    def __init__(self, base_topic_of: Callable[[str], str | None]) -> None:
        self._base_topic_of = base_topic_of
        self._lock = threading.Lock()
        self._stats = IngestStats()
        self._logged_drops: set[tuple[str, str]] = set()

    def count(self, **increments: int) -> None:
        """Add to the named counters of IngestStats (received=…, applied=…, batches=…)."""
        with self._lock:
            for name, value in increments.items():
                setattr(self._stats, name, getattr(self._stats, name) + value)

    def drop(self, kind: str, topic: str, detail: str, *, base_topic: str | None = None, count: int = 1) -> None:
        """Count dropped messages; log the first of each problem and printer (base topic)."""
        printer = base_topic if base_topic is not None else self._base_topic_of(topic) or topic
        with self._lock:
            self._stats.dropped[kind] += count
            if kind == NOT_USED:
                return
            key = (kind, printer)
            first = key not in self._logged_drops and len(self._logged_drops) < _LOGGED_DROPS_MAX
            if first:
                self._logged_drops.add(key)
        if first:
            log.warning("MQTT message dropped (%s) on %s: %s; further ones of this kind from this printer are only counted",
                        kind, topic, detail)

    def count_dropped(self, kind: str, count: int) -> None:
        """Count messages lost outside tracking (e.g. held by an ingest worker that died); not logged."""
        with self._lock:
            self._stats.dropped[kind] += count

    def failed_batch(self, messages: int) -> None:
        with self._lock:
            self._stats.batches_failed += 1
            self._stats.dropped["batch_failed"] += messages

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self._stats.snapshot()

    def take(self) -> IngestStats:
        """The counters since the last call, which start again from zero (an ingest worker reports them)."""
        with self._lock:
            taken, self._stats = self._stats, IngestStats()
        return taken

    def absorb(self, stats: IngestStats) -> None:
        with self._lock:
            self._stats.add(stats)

    @property
    def stats(self) -> IngestStats:
        """The live counters (read them under no lock only in tests)."""
        return self._stats
