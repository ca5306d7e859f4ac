"""Reconciliation: ask printers over REST what became of their plates, and settle the jobs to match.

It runs at start-up, when MQTT reconnects, after the ingest worker lost messages, and for printers
whose MQTT went quiet while they print (a PrintDone lost on the way leaves its job printing).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import or_, select

from printfarm.clock import Clock
from printfarm.db.retry import retried
from printfarm.db.session import Database, lock_for_writing
from printfarm.db.tables import Printer, PrintJob
from printfarm.errors import PrinterError, PrinterUnreachable
from printfarm.jobs import moves
from printfarm.jobs.repository import jobs_to_reconcile
from printfarm.jobs.rules import RUNNING, JobState, can_move
from printfarm.printers.health import mark_seen
from printfarm.printers.port import PrinterClient
from printfarm.tracking.qc import plate_finished
from printfarm.tracking.rules import settled_state
from printfarm.tracking.stats import IngestCounters

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlateCheck:
    """One job to settle, as read before its printer is asked (outside any unit of work)."""

    job_id: int
    state: JobState
    remote_filename: str | None
    printer_id: int
    client: PrinterClient
    last_seen_at: dt.datetime | None


class Reconciler:
    #: An UPLOADING job younger than this may still be starting in some dispatcher: reconciliation
    #: only settles it as never started after this long (a start found printing settles at once).
    start_grace_seconds: float = 120.0

    def __init__(
        self, db: Database, clock: Clock, client_for: Callable[[Printer], PrinterClient], counters: IngestCounters
    ) -> None:
        self._db = db
        self._clock = clock
        self._client_for = client_for
        self._counters = counters

    def reconcile(self, lost_after_seconds: float = 600) -> int:
        """Settle every claimed or running job against what its printer says; returns jobs changed."""
        with self._db.unit_of_work() as session:
            checks = [
                self._check(job, printer)
                for job in jobs_to_reconcile(session)
                if (printer := session.get(Printer, job.printer_id)) is not None
            ]
        return self._settle_with_printers(checks, lost_after_seconds)

    def poll_silent_printers(self, silent_after_seconds: float, lost_after_seconds: float = 600) -> int:
        """Ask printers over REST whose running job has had no MQTT message for silent_after_seconds.

        Returns jobs changed. A printer that answers counts as seen, so it is asked again only after
        another quiet spell.
        """
        quiet_since = self._clock.now() - dt.timedelta(seconds=silent_after_seconds)
        with self._db.unit_of_work() as session:
            rows = session.execute(
                select(PrintJob, Printer)
                .join(Printer, Printer.id == PrintJob.printer_id)
                .where(PrintJob.state.in_(RUNNING), PrintJob.updated_at < quiet_since)
                .where(or_(Printer.last_seen_at.is_(None), Printer.last_seen_at < quiet_since))
                .order_by(PrintJob.id)
            ).all()
            checks = [self._check(job, printer) for job, printer in rows]
        if checks:
            log.info("polling %d printers silent for %.0f s over REST: %s", len(checks), silent_after_seconds,
                     ", ".join(str(check.printer_id) for check in checks))
            self._counters.count(silent_polls=len(checks))
        return self._settle_with_printers(checks, lost_after_seconds, mark_seen=True)

    def _check(self, job: PrintJob, printer: Printer) -> PlateCheck:
        return PlateCheck(job.id, job.state, job.remote_filename, printer.id, self._client_for(printer), printer.last_seen_at)

    def _settle_with_printers(self, checks: list[PlateCheck], lost_after_seconds: float, *, mark_seen: bool = False) -> int:
        changed = 0
        for check in checks:
            try:
                status = check.client.status()
            except PrinterError as err:
                now = self._clock.now()
                gone_for = (now - check.last_seen_at).total_seconds() if check.last_seen_at else float("inf")
                if isinstance(err, PrinterUnreachable) and gone_for > lost_after_seconds:
                    changed += self._settle(check, JobState.LOST, f"printer unreachable for {gone_for:.0f} s: {err}")
                continue
            if mark_seen:
                self._mark_seen(check.printer_id)
            target, reason = settled_state(check.state, check.remote_filename, status)
            if target is not check.state:
                changed += self._settle(check, target, reason)
        return changed

    def _mark_seen(self, printer_id: int) -> None:
        with self._db.unit_of_work() as session:
            printer = session.get(Printer, printer_id)
            if printer is not None:
                mark_seen(printer, self._clock.now())

    def _settle(self, check: PlateCheck, target: JobState, reason: str | None) -> int:
        """Move a job to what its printer says; nothing if the job moved since (check.state) or is mid-start."""
        return retried(f"settling job {check.job_id}", lambda: self._settle_once(check, target, reason))

    def _settle_once(self, check: PlateCheck, target: JobState, reason: str | None) -> int:
        with self._db.unit_of_work() as session:
            lock_for_writing(session)  # SQLite: the read below sees what an MQTT batch committed
            # locked: an MQTT batch on another thread or replica may be moving the same job
            job = session.get(PrintJob, check.job_id, with_for_update=True)
            if job is None or job.state is not check.state:
                return 0  # a dispatcher or a message moved it while the printer was asked
            now = self._clock.now()
            if (
                job.state is JobState.UPLOADING and target is JobState.FAILED
                and (now - job.updated_at).total_seconds() < self.start_grace_seconds
            ):
                return 0  # a dispatcher (maybe another replica) may be uploading it right now
            # a claimed job found printing was uploaded before a crash: it passes through UPLOADING
            passes_uploading = job.state is JobState.ASSIGNED and target in RUNNING | {JobState.FINISHED}
            if not can_move(JobState.UPLOADING if passes_uploading else job.state, target):
                return 0
            log.info("job %s reconciled: %s -> %s (%s)", job.id, job.state.value, target.value, reason or "")
            if passes_uploading:
                moves.move(session, job, JobState.UPLOADING, now)
            moves.move(session, job, target, now, reason=reason)
            if target is JobState.FINISHED:
                printer = session.get(Printer, job.printer_id)
                if printer is not None:
                    plate_finished(session, job, printer, now)
            return 1
