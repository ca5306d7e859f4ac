"""Tracking: what printers report reaches their jobs — MQTT batches (apply) and REST reconciliation.

TrackingService is the feature's one face to the runtime and the ingest worker: it owns the
ingest counters and hands work to the BatchApplier (tracking/apply.py) and the Reconciler
(tracking/reconcile.py). Job moves go through jobs/moves.py; what they raise is published as
domain events once each unit of work commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from printfarm.clock import Clock
from printfarm.db.session import Database
from printfarm.printers.feed import PrinterFeed, PrinterMessage
from printfarm.printers.service import PrinterService
from printfarm.tracking.apply import BatchApplier
from printfarm.tracking.reconcile import Reconciler
from printfarm.tracking.stats import IngestCounters, IngestStats


class TrackingService:
    """``feed`` reads the printers' MQTT topics (OctoPrint-MQTT: adapters/octoprint/mqtt_feed.py)."""

    def __init__(
        self, db: Database, clock: Clock, printers: PrinterService, feed: PrinterFeed, lost_after_seconds: float = 120.0
    ) -> None:
        """lost_after_seconds: a plate whose printer has not answered this long is lost (settings)."""
        self._counters = IngestCounters(feed.base_topic_of)
        self._applier = BatchApplier(db, clock, self._counters, feed)
        self._reconciler = Reconciler(db, clock, printers.client_for, self._counters, lost_after_seconds)

    # -- MQTT ----------------------------------------------------------------------------------

    def apply_raw(self, batch: Sequence[tuple[str, bytes] | tuple[str, bytes, bool]]) -> None:
        """Parse and apply one batch of (topic, payload[, retained]) in one unit of work."""
        self._applier.apply_raw(batch)

    def apply(self, messages: Sequence[PrinterMessage]) -> None:
        """Apply parsed messages in one unit of work (see BatchApplier.apply)."""
        self._applier.apply(messages)

    def forget_topics(self) -> None:
        """A printer was registered or changed its base topic: read the topics again on next use."""
        self._applier.forget_topics()

    # -- REST ----------------------------------------------------------------------------------

    @property
    def start_grace_seconds(self) -> float:
        return self._reconciler.start_grace_seconds

    def reconcile(self, lost_after_seconds: float | None = None) -> int:
        """Settle every claimed or running job against what its printer says; returns jobs changed.

        lost_after_seconds: None is the service's own (the setting printer_lost_after_seconds).
        """
        return self._reconciler.reconcile(lost_after_seconds)

    def reconcile_printer(self, printer_id: int) -> int:
        """The printer is back: settle its plate (or find its lost one finished); returns jobs changed."""
        return self._reconciler.reconcile_printer(printer_id)

    def poll_silent_printers(self, silent_after_seconds: float, lost_after_seconds: float | None = None) -> int:
        """Ask printers over REST whose running job has been quiet on MQTT; returns jobs changed."""
        return self._reconciler.poll_silent_printers(silent_after_seconds, lost_after_seconds)

    # -- counters ------------------------------------------------------------------------------

    @property
    def stats(self) -> IngestStats:
        """The live counters (see IngestStats); read a consistent copy with stats_snapshot()."""
        return self._counters.stats

    def stats_snapshot(self) -> dict[str, Any]:
        """The ingest counters for /metrics, read consistently."""
        return self._counters.snapshot()

    def take_stats(self) -> IngestStats:
        """The counters since the last call, which start again from zero (an ingest worker reports them)."""
        return self._counters.take()

    def absorb(self, stats: IngestStats) -> None:
        """Add counters measured elsewhere (the ingest worker process) to this service's."""
        self._counters.absorb(stats)

    def count_dropped(self, kind: str, count: int) -> None:
        """Count messages lost outside this service (e.g. held by an ingest worker that died)."""
        self._counters.count_dropped(kind, count)
