"""Print job use-cases: list, get, cancel, pause, resume (each asks the printer first)."""

from __future__ import annotations

import builtins

import logging

from sqlalchemy.orm import Session

from printfarm.audit.service import record
from printfarm.auth.rules import Action, Actor, require
from printfarm.clock import Clock
from printfarm.db.lookup import get_existing
from printfarm.db.tables import Printer, PrintJob
from printfarm.errors import Conflict, InvalidTransition, MovedMeanwhile
from printfarm.jobs import moves, repository
from printfarm.jobs.rules import JobState, check_move
from printfarm.printers.service import PrinterService

log = logging.getLogger(__name__)


class JobService:
    def __init__(self, clock: Clock, printers: PrinterService) -> None:
        self._clock = clock
        self._printers = printers

    def list(
        self, session: Session, actor: Actor, *, state: JobState | None = None,
        printer_id: int | None = None, batch_id: int | None = None, limit: int = 200,
    ) -> builtins.list[PrintJob]:
        require(actor, Action.READ)
        return repository.list_jobs(session, state=state, printer_id=printer_id, batch_id=batch_id, limit=limit)

    def get(self, session: Session, actor: Actor, job_id: int) -> PrintJob:
        require(actor, Action.READ)
        return get_existing(session, PrintJob, job_id, "print job")

    def _job_and_printer(self, session: Session, actor: Actor, job_id: int) -> tuple[PrintJob, Printer]:
        job = get_existing(session, PrintJob, job_id, "print job")
        printer = get_existing(session, Printer, job.printer_id, "printer")
        require(actor, Action.OPERATE_PRINTER, printer.site_id)
        return job, printer

    def cancel(self, session: Session, actor: Actor, job_id: int) -> PrintJob:
        """Cancel a job; a running print is cancelled on the printer first (PrinterError if it cannot).

        Raises Conflict while the dispatcher is starting it, MovedMeanwhile if the printer moved it
        while it was being cancelled there (ask again).
        """
        job, printer = self._job_and_printer(session, actor, job_id)
        check_move(job.id, job.state, JobState.CANCELLED)
        if job.state is JobState.UPLOADING:
            # the dispatcher is sending it right now; cancelling here would leave its print orphaned
            raise Conflict(f"print job {job.id} is being started on printer {printer.id}; cancel it once it prints")
        was = job.state
        if job.state is not JobState.ASSIGNED:
            self._printers.client_for(printer).cancel()
        now = self._clock.now()
        moves.move(session, job, JobState.CANCELLED, now, reason=f"cancelled by {actor.label}")
        record(session, actor, now, "job.cancel", "print_job", job_id, {"was": was.value, "printer_id": printer.id})
        log.info("job %s on printer %s cancelled by %s", job_id, printer.id, actor.label)
        return job

    def pause(self, session: Session, actor: Actor, job_id: int) -> PrintJob:
        job, printer = self._job_and_printer(session, actor, job_id)
        check_move(job.id, job.state, JobState.PAUSED)
        self._printers.client_for(printer).pause()
        return self._moved_by_command(session, actor, job, JobState.PAUSED, "job.pause")

    def resume(self, session: Session, actor: Actor, job_id: int) -> PrintJob:
        job, printer = self._job_and_printer(session, actor, job_id)
        if job.state is not JobState.PAUSED:
            raise InvalidTransition(f"print job {job.id}: cannot go from {job.state.value} to printing (only a paused job resumes)")
        self._printers.client_for(printer).resume()
        return self._moved_by_command(session, actor, job, JobState.PRINTING, "job.resume")

    def _moved_by_command(self, session: Session, actor: Actor, job: PrintJob, target: JobState, action: str) -> PrintJob:
        """Record a pause or resume the printer accepted; its own event may have moved the job already."""
        now = self._clock.now()
        try:
            moves.move(session, job, target, now)
        except MovedMeanwhile:
            if job.state is not target:
                raise
        record(session, actor, now, action, "print_job", job.id, {"printer_id": job.printer_id})
        return job
