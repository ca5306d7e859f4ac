"""Dispatch use-cases: a pass (claim, then start), printer health checks, and reconciliation."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from printfarm.adapters.storage import FileStore
from printfarm.clock import Clock
from printfarm.db.session import Database
from printfarm.db.tables import Part, Printer, PrintFile, PrintJob
from printfarm.dispatch import repository
from printfarm.dispatch.rules import MAX_CONSECUTIVE_FAILURES, Assignment, match, retry_delay
from printfarm.errors import PrinterError, PrinterUnreachable
from printfarm.jobs import repository as jobs
from printfarm.jobs.rules import JobState, remote_filename
from printfarm.printers.rules import ConnectionState
from printfarm.printers.service import PrinterService

log = logging.getLogger(__name__)


@dataclass
class PassResult:
    claimed: int = 0
    started: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    job_id: int
    printer_id: int


class DispatchService:
    """Runs dispatch passes. Each pass claims plates in one transaction, then calls printers.

    The claim (an ASSIGNED job row, guarded by a unique index of one active job per printer and,
    on PostgreSQL, row locks with SKIP LOCKED) commits before any printer is called, so a crash
    never starts a plate twice: start-up reconciliation settles claimed jobs with their printers.
    """

    def __init__(
        self, db: Database, clock: Clock, printers: PrinterService, store: FileStore, start_workers: int = 8
    ) -> None:
        self._db = db
        self._clock = clock
        self._printers = printers
        self._store = store
        self._start_workers = start_workers

    # -- a pass -------------------------------------------------------------------------------

    def run_pass(self) -> PassResult:
        result = PassResult()
        try:
            claims = self._claim()
        except IntegrityError as err:  # another replica claimed one of these printers first
            log.info("dispatch pass lost a claim race, retrying next pass: %s", err.orig)
            return result
        result.claimed = len(claims)
        if not claims:
            return result
        with ThreadPoolExecutor(max_workers=min(self._start_workers, len(claims))) as pool:
            for ok, message in pool.map(self._start, claims):
                if ok:
                    result.started += 1
                elif message:
                    result.failed += 1
                    result.errors.append(message)
        return result

    def _claim(self) -> list[_Claim]:
        now = self._clock.now()
        with self._db.unit_of_work() as session:
            lock = self._db.is_postgresql
            printers = repository.idle_printers(session, now, lock)
            if not printers:
                return []
            batches = repository.batches_needing_units(session, lock)
            if not batches:
                return []
            files = repository.latest_print_files(session, {b.part_id for b in batches})
            assignments = match(printers, batches, files)
            return self._insert_jobs(session, assignments)

    def _insert_jobs(self, session: Session, assignments: list[Assignment]) -> list[_Claim]:
        now = self._clock.now()
        rows = [
            PrintJob(
                batch_id=a.batch_id,
                printer_id=a.printer_id,
                print_file_id=a.print_file_id,
                units_per_print=a.units_per_print,
                state=JobState.ASSIGNED,
                progress_percent=0,
                created_at=now,
                updated_at=now,
            )
            for a in assignments
        ]
        session.add_all(rows)
        session.flush()
        part_names = dict(
            session.execute(
                select(PrintFile.id, Part.name)
                .join(Part, Part.id == PrintFile.part_id)
                .where(PrintFile.id.in_({a.print_file_id for a in assignments}))
            ).all()
        )
        for row in rows:
            row.remote_filename = remote_filename(row.id, part_names[row.print_file_id])
            log.info("job %s claimed: printer %s, batch %s", row.id, row.printer_id, row.batch_id)
        return [_Claim(row.id, row.printer_id) for row in rows]

    def _start(self, claim: _Claim) -> tuple[bool, str | None]:
        """Upload and start one claimed plate; a failure frees the plate and counts against the printer."""
        now = self._clock.now()
        with self._db.unit_of_work() as session:
            if not jobs.move_if(session, claim.job_id, {JobState.ASSIGNED}, JobState.UPLOADING, now):
                return False, None  # cancelled or reconciled meanwhile
            job = session.get(PrintJob, claim.job_id)
            printer = session.get(Printer, claim.printer_id)
            print_file = session.get(PrintFile, job.print_file_id) if job else None
            assert job is not None and printer is not None and print_file is not None
            client = self._printers.client_for(printer)
            name = job.remote_filename or remote_filename(job.id, "part")
            sha = print_file.sha256
        try:
            gcode = self._store.get(sha)
            client.ensure_connected()
            client.start_print(name, gcode)
        except PrinterError as err:
            self._record_start_failure(claim, err)
            return False, f"printer {claim.printer_id}, job {claim.job_id}: {err}"
        now = self._clock.now()
        with self._db.unit_of_work() as session:
            jobs.move_if(session, claim.job_id, {JobState.UPLOADING}, JobState.PRINTING, now, started_at=now)
            printer = session.get(Printer, claim.printer_id)
            assert printer is not None
            printer.is_bed_clear = False
            printer.consecutive_failures = 0
            printer.connection = ConnectionState.ONLINE
            printer.last_seen_at = now
        log.info("job %s started on printer %s as %s", claim.job_id, claim.printer_id, name)
        return True, None

    def _record_start_failure(self, claim: _Claim, err: PrinterError) -> None:
        now = self._clock.now()
        with self._db.unit_of_work() as session:
            jobs.move_if(
                session, claim.job_id, {JobState.UPLOADING}, JobState.FAILED, now,
                failure_reason=f"start failed: {err}"[:500],
            )
            printer = session.get(Printer, claim.printer_id)
            assert printer is not None
            printer.consecutive_failures += 1
            if isinstance(err, PrinterUnreachable):
                printer.connection = ConnectionState.OFFLINE
                printer.offline_checks += 1
                printer.retry_after = now + retry_delay(printer.offline_checks)
            if printer.consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                printer.is_enabled = False
                printer.disabled_reason = f"{printer.consecutive_failures} failed starts in a row; last: {err}"[:500]
                log.warning("printer %s disabled: %s", printer.id, printer.disabled_reason)
        log.warning("job %s failed to start on printer %s: %s", claim.job_id, claim.printer_id, err)

    # -- health --------------------------------------------------------------------------------

    def check_printers(self, batch_size: int = 20) -> int:
        """Ask printers not known online whether they are back; a few per tick, with backoff.

        Returns how many came online.
        """
        now = self._clock.now()
        with self._db.unit_of_work() as session:
            targets = [(p.id, self._printers.client_for(p)) for p in repository.printers_to_check(session, now, batch_size)]
        came_online = 0
        for printer_id, client in targets:
            try:
                client.check()
                online = True
            except PrinterError as err:
                online = False
                log.info("printer %s still unreachable: %s", printer_id, err)
            with self._db.unit_of_work() as session:
                printer = session.get(Printer, printer_id)
                if printer is None:
                    continue
                now = self._clock.now()
                if online:
                    if printer.connection is not ConnectionState.ONLINE:
                        log.info("printer %s is online", printer_id)
                    printer.connection = ConnectionState.ONLINE
                    printer.offline_checks = 0
                    printer.retry_after = None
                    printer.last_seen_at = now
                    came_online += 1
                else:
                    printer.connection = ConnectionState.OFFLINE
                    printer.offline_checks += 1
                    printer.retry_after = now + retry_delay(printer.offline_checks)
        return came_online
