"""Reconciliation: ask printers over REST what became of their plates, and settle the jobs to match.

It runs at start-up, when MQTT reconnects, after the ingest worker lost messages, for printers
whose MQTT went quiet while they print (a PrintDone lost on the way leaves its job printing), and
for one printer as soon as it shows it is back (PrinterOnline: reconcile_printer).

A failed call marks the printer offline at once (printers.health). A plate whose printer has not
answered for ``lost_after_seconds`` (the setting printer_lost_after_seconds) is LOST and its units
are queued again. A lost plate that did finish after all: when its printer comes back and shows
the plate done (PrintDone over MQTT, or its file at 100 % here), the lost job stays LOST and the
plate on the bed becomes a new FINISHED job (jobs.moves.found_finished) that waits for QC like any
plate, so its units count once, at QC (Output is one row per job).
The units re-queued when it was lost may meanwhile have been printed again: the batch then holds
more good units than it asked for, and the surplus is stock, never lost and never counted twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from printfarm.clock import Clock
from printfarm.db.retry import retried
from printfarm.db.session import Database, lock_for_writing
from printfarm.db.tables import Printer, PrintJob
from printfarm.errors import PrinterCommandFailed, PrinterError, PrinterUnreachable
from printfarm.jobs import moves
from printfarm.jobs.repository import jobs_to_reconcile, printer_jobs_to_reconcile
from printfarm.jobs.rules import RUNNING, JobState, can_move, is_found_finished
from printfarm.printers.health import mark_online, mark_seen, mark_unreachable
from printfarm.printers.port import PrinterClient, PrinterSnapshot
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
        self, db: Database, clock: Clock, client_for: Callable[[Printer], PrinterClient], counters: IngestCounters,
        lost_after_seconds: float = 120.0,
    ) -> None:
        self._db = db
        self._clock = clock
        self._client_for = client_for
        self._counters = counters
        self.lost_after_seconds = lost_after_seconds

    def reconcile(self, lost_after_seconds: float | None = None) -> int:
        """Settle every claimed or running job against what its printer says; returns jobs changed."""
        with self._db.unit_of_work() as session:
            checks = [
                self._check(job, printer)
                for job in jobs_to_reconcile(session)
                if (printer := session.get(Printer, job.printer_id)) is not None
            ]
        return self._settle_with_printers(checks, lost_after_seconds)

    def reconcile_printer(self, printer_id: int) -> int:
        """The printer is back: settle its claimed or running plate, or find its lost one finished; jobs changed."""
        with self._db.unit_of_work() as session:
            printer = session.get(Printer, printer_id)
            if printer is None:
                return 0
            checks = [self._check(job, printer) for job in printer_jobs_to_reconcile(session, printer_id)]
        if checks:
            log.info("printer %s is back: reconciling job %s", printer_id, ", ".join(str(c.job_id) for c in checks))
        return self._settle_with_printers(checks, None, mark_seen=True)

    def poll_silent_printers(self, silent_after_seconds: float, lost_after_seconds: float | None = None) -> int:
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

    def _settle_with_printers(
        self, checks: list[PlateCheck], lost_after_seconds: float | None, *, mark_seen: bool = False
    ) -> int:
        lost_after = self.lost_after_seconds if lost_after_seconds is None else lost_after_seconds
        changed = 0
        for check in checks:
            try:
                status = check.client.status()
            except PrinterError as err:
                if not isinstance(err, PrinterCommandFailed):  # it answered a refusal: reachable
                    self._unreachable(check.printer_id, str(err))
                now = self._clock.now()
                gone_for = (now - check.last_seen_at).total_seconds() if check.last_seen_at else float("inf")
                if isinstance(err, PrinterUnreachable) and gone_for > lost_after and check.state is not JobState.LOST:
                    changed += self._settle(check, JobState.LOST, f"printer unreachable for {gone_for:.0f} s: {err}")
                continue
            if mark_seen:
                self._answered(check.printer_id, status)
            target, reason = settled_state(check.state, check.remote_filename, status)
            if check.state is JobState.LOST and target is not JobState.FINISHED:
                continue  # a lost plate is only ever found finished
            if target is not check.state:
                changed += self._settle(check, target, reason)
        return changed

    def _unreachable(self, printer_id: int, reason: str) -> None:
        with self._db.unit_of_work() as session:
            printer = session.get(Printer, printer_id, with_for_update=True)
            if printer is not None:
                mark_unreachable(session, printer, self._clock.now(), reason)

    def _answered(self, printer_id: int, status: PrinterSnapshot) -> None:
        """It answered over REST: seen now, and online if its board works."""
        with self._db.unit_of_work() as session:
            printer = session.get(Printer, printer_id, with_for_update=status.is_operational)
            if printer is None:
                return
            if status.is_operational:
                mark_online(session, printer, self._clock.now(), f"answered over REST: {status.state_text}")
            else:
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
            if is_found_finished(job.state, target):
                return self._found_finished(session, job, now)
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

    @staticmethod
    def _found_finished(session: Session, lost: PrintJob, now: dt.datetime) -> int:
        found = moves.found_finished(session, lost, now)
        if found is None:
            return 0
        log.info("lost job %s found finished on printer %s: job %s waits for QC", lost.id, lost.printer_id, found.id)
        printer = session.get(Printer, lost.printer_id)
        if printer is not None:
            plate_finished(session, found, printer, now)
        return 1
