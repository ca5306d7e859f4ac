"""Dispatch use-cases: a pass (claim, then start); printer health and backoff are printers/health.py.

When printfarm opens a printer's serial port: only here, in ``_send``, to start a plate a pass
claimed for it (PrinterClient.ensure_connected, then start_print). The printer was enabled, online,
bed clear and not in fault when claimed, and is not in fault when the start begins. No health check,
reconciliation or MQTT message ever connects a board; a printer in fault is never connected until
an operator of its site acknowledges the fault.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from printfarm.adapters.storage import FileStore
from printfarm.clock import Clock
from printfarm.db.session import Database
from printfarm.db.tables import Printer, PrintFile, PrintJob
from printfarm.dispatch import repository
from printfarm.dispatch.rules import (
    MAX_CONSECUTIVE_FAILURES,
    Assignment,
    FileChoice,
    SitePolicy,
    file_problems,
    heatups_left,
    match,
    site_is_open,
)
from printfarm.errors import PrinterError, PrinterUnreachable, PrintfarmError
from printfarm.jobs import moves
from printfarm.jobs.rules import RUNNING, JobState, remote_filename, remote_filename_around_id
from printfarm.printers.catalog import ProfileSpec
from printfarm.printers.health import hold_off, mark_unreachable
from printfarm.printers.port import PrinterClient
from printfarm.printers.rules import ConnectionState
from printfarm.printers.repository import locked_printers
from printfarm.printers.service import PrinterService

log = logging.getLogger(__name__)

#: The points of a pass where the `checkpoint` hook is called (the crash test kills the process there):
#: after the claim committed, and after the printers accepted the starts.
CHECKPOINTS = ("after-claim", "after-start")


@dataclass
class PassResult:
    claimed: int = 0
    started: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    claim_seconds: float = 0.0  # match + claim transaction
    start_seconds: float = 0.0  # printer calls and recording their outcome


@dataclass(frozen=True)
class Claim:
    job_id: int
    printer_id: int


@dataclass(frozen=True)
class _Send:
    job_id: int
    printer_id: int
    filename: str
    sha256: str
    client: PrinterClient


class DispatchService:
    """Runs dispatch passes. Each pass claims plates in one transaction, then calls printers.

    The claim (ASSIGNED job rows, guarded by a unique index of one active job per printer and,
    on PostgreSQL, row locks with SKIP LOCKED) commits before any printer is called, so a crash
    never starts a plate twice: reconciliation settles claimed jobs with their printers. The
    claims of one pass are written in one transaction, moved to UPLOADING in one, and their
    outcomes recorded in one; only the printer calls run one per plate, on a small thread pool.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        printers: PrinterService,
        store: FileStore,
        start_workers: int = 8,
        checkpoint: Callable[[str], None] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._printers = printers
        self._store = store
        self._start_workers = start_workers
        self._checkpoint = checkpoint or (lambda point: None)
        self._fits_cache: dict[tuple[int, int, str], bool] = {}
        self._profiles: dict[int, ProfileSpec] = {}

    # -- a pass -------------------------------------------------------------------------------

    def run_pass(self) -> PassResult:
        result = PassResult()
        began = time.perf_counter()
        try:
            claims = self.claim()
        except IntegrityError as err:  # another replica claimed one of these printers first
            log.info("dispatch pass lost a claim race, retrying next pass: %s", err.orig)
            return result
        result.claimed = len(claims)
        result.claim_seconds = time.perf_counter() - began
        if not claims:
            return result
        self._checkpoint("after-claim")
        began = time.perf_counter()
        self.start(claims, result)
        result.start_seconds = time.perf_counter() - began
        return result

    def claim(self) -> list[Claim]:
        """Match idle printers to batches and commit the claims (ASSIGNED jobs); no printer is called.

        Raises IntegrityError when another replica claimed one of the printers first.
        """
        now = self._clock.now()
        with self._db.unit_of_work() as session:
            lock = self._db.is_postgresql
            if lock:
                repository.serialize_claims(session)
            printers = repository.idle_printers(session, now, lock)
            if not printers:
                return []
            batches = repository.batches_needing_units(session)
            if not batches:
                return []
            policies = self._site_policies(session, now)
            files, part_names = repository.print_files(session, {b.part_id for b in batches})
            hospitals = repository.hospital_locations(session, {b.hospital_id for b in batches if b.hospital_id})
            if any(p.profile_id not in self._profiles for p in printers):
                self._profiles = repository.profiles(session)  # a profile is never changed once stored
            assignments = match(printers, batches, files, sites=policies, hospitals=hospitals, fits=self._fits)
            if not assignments:
                return []
            return self._insert_jobs(session, assignments, part_names)

    def _site_policies(self, session: Session, now: dt.datetime) -> dict[int, SitePolicy]:
        sites = repository.sites(session)
        windows = {
            s.id: s.heatup_window_seconds for s in sites if s.heatup_max_starts is not None and s.heatup_window_seconds
        }
        recent = repository.recent_claim_counts(session, windows, now) if windows else {}
        return {
            s.id: SitePolicy(
                is_open=not s.is_paused and site_is_open(now, s.work_starts_at, s.work_ends_at, s.timezone),
                allowed_part_ids=frozenset(s.allowed_part_ids) if s.allowed_part_ids is not None else None,
                starts_left=heatups_left(s.heatup_max_starts, s.heatup_window_seconds, recent.get(s.id, 0)),
                location=(s.latitude, s.longitude) if s.latitude is not None and s.longitude is not None else None,
            )
            for s in sites
        }

    def _fits(self, choice: FileChoice, profile_id: int, material: str) -> bool:
        # print files and profiles do not change once stored, so the verdict is kept for the process
        key = (choice.print_file_id, profile_id, material.upper())
        verdict = self._fits_cache.get(key)
        if verdict is None:
            profile = self._profiles.get(profile_id)
            problems = ["unknown profile"] if profile is None else file_problems(choice, profile, material)
            verdict = not problems
            if problems:
                log.info("print file %s does not suit profile %s with %s: %s", choice.print_file_id, profile_id,
                         material, "; ".join(problems))
            self._fits_cache[key] = verdict
        return verdict

    def _insert_jobs(self, session: Session, assignments: list[Assignment], part_names: dict[int, str]) -> list[Claim]:
        """The claims of a pass, written with their file names by one statement (repository.insert_claims)."""
        names = {file_id: remote_filename_around_id(part_names[file_id]) for file_id in {a.print_file_id for a in assignments}}
        rows = repository.insert_claims(session, assignments, names, JobState.ASSIGNED.value, self._clock.now())
        log.info("dispatch claimed %d plates: %s", len(rows),
                 ", ".join(f"job {job} → printer {printer}" for job, printer in rows[:20]) + (" …" if len(rows) > 20 else ""))
        return [Claim(job, printer) for job, printer in rows]

    def start(self, claims: list[Claim], result: PassResult | None = None) -> PassResult:
        """Upload and start the claimed plates; failures free their plate and count against the printer."""
        result = result if result is not None else PassResult()
        now = self._clock.now()
        with self._db.unit_of_work() as session:
            moved = moves.move_many(session, [c.job_id for c in claims], JobState.ASSIGNED, JobState.UPLOADING, now)
            if not moved:
                return result  # cancelled or reconciled meanwhile
            rows = session.execute(
                select(PrintJob.id, PrintJob.printer_id, PrintJob.remote_filename, PrintFile.sha256)
                .join(PrintFile, PrintFile.id == PrintJob.print_file_id)
                .where(PrintJob.id.in_(moved))
                .order_by(PrintJob.id)
            ).all()
            printers = {p.id: p for p in session.scalars(select(Printer).where(Printer.id.in_({r[1] for r in rows})))}
            # A fault may have come in since the claim: its plate goes back before any call, so the
            # printer's serial port is never opened (ensure_connected) until its operator acknowledges.
            held = [job_id for job_id, printer_id, _, _ in rows if printers[printer_id].connection is ConnectionState.FAULT]
            if held:
                moves.move_many(session, held, JobState.UPLOADING, JobState.FAILED, now,
                                failure_reason="not started: the printer is in fault")
                log.warning("dispatch: jobs %s not started, their printers went into fault", held)
            sends = [
                _Send(job_id, printer_id, name or remote_filename(job_id, "part"), sha, self._printers.client_for(printers[printer_id]))
                for job_id, printer_id, name, sha in rows if job_id not in held
            ]
        if not sends:
            return result
        gcode: dict[str, bytes] = {}
        for send in sends:
            if send.sha256 not in gcode:
                try:
                    gcode[send.sha256] = self._store.get(send.sha256)
                except PrintfarmError as err:
                    log.error("print file %s is missing from the store: %s", send.sha256, err)
        with ThreadPoolExecutor(max_workers=min(self._start_workers, len(sends))) as pool:
            outcomes = list(pool.map(lambda s: (s, self._send(s, gcode.get(s.sha256))), sends))
        self._checkpoint("after-start")
        orphans = self._record_outcomes(outcomes, result)
        for send in orphans:
            try:
                send.client.cancel()
                log.warning("job %s was cancelled or settled while starting: its print on printer %s cancelled",
                            send.job_id, send.printer_id)
            except PrinterError as err:
                log.error("job %s: could not cancel its orphaned print on printer %s: %s", send.job_id, send.printer_id, err)
        return result

    @staticmethod
    def _send(send: _Send, gcode: bytes | None) -> PrintfarmError | None:
        if gcode is None:
            return PrintfarmError(f"job {send.job_id}: print file {send.sha256} is missing from the store")
        try:
            send.client.ensure_connected()
            send.client.start_print(send.filename, gcode)
        except PrinterError as err:
            return err
        return None

    def _record_outcomes(self, outcomes: list[tuple[_Send, PrintfarmError | None]], result: PassResult) -> list[_Send]:
        """One transaction: started plates → PRINTING, failed ones → FAILED; returns orphaned prints.

        Printers that took their plate are updated by one statement, not an ORM object each: a pass
        starts hundreds of plates, and this transaction holds the locks tracking and QC wait for.
        """
        now = self._clock.now()
        orphans: list[_Send] = []
        with self._db.unit_of_work() as session:
            ids = [s.job_id for s, _ in outcomes]
            # jobs, then printers, each in id order: the lock order tracking uses too
            repository.lock_jobs(session, ids)
            repository.lock_printer_rows(session, {s.printer_id for s, _ in outcomes})
            started = [s for s, err in outcomes if err is None]
            moves.move_many(session, [s.job_id for s in started], JobState.UPLOADING, JobState.PRINTING, now)
            states = repository.job_states(session, ids)
            for send in started:
                state = states.get(send.job_id)
                if state in RUNNING or state is JobState.FINISHED:
                    result.started += 1
                    log.info("job %s started on printer %s as %s", send.job_id, send.printer_id, send.filename)
                elif state is not JobState.COMPLETED:
                    orphans.append(send)
            repository.printers_answered(session, [s.printer_id for s in started], now)
            failed = [(send, err) for send, err in outcomes if err is not None]
            for send, err in failed:
                moves.move_many(session, [send.job_id], JobState.UPLOADING, JobState.FAILED, now,
                                failure_reason=f"start failed: {err}")
            # loaded after the moves (move_many expires the session's objects)
            printers = locked_printers(session, {send.printer_id for send, _ in failed}) if failed else {}
            for send, err in failed:
                self._record_failure(session, send, err, printers[send.printer_id], now)
                result.failed += 1
                result.errors.append(f"printer {send.printer_id}, job {send.job_id}: {err}")
        return orphans

    @staticmethod
    def _record_failure(session: Session, send: _Send, err: PrintfarmError, printer: Printer, now: dt.datetime) -> None:
        """Count a failed start against its printer (its job was moved to FAILED already)."""
        log.warning("job %s failed to start on printer %s: %s", send.job_id, send.printer_id, err)
        if not isinstance(err, PrinterError):
            return  # our side failed (the file store): not the printer's fault
        printer.consecutive_failures += 1
        if isinstance(err, PrinterUnreachable):
            mark_unreachable(session, printer, now, str(err))
        else:
            hold_off(printer, now, printer.consecutive_failures)
        if printer.consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
            printer.is_enabled = False
            printer.disabled_reason = f"{printer.consecutive_failures} failed starts in a row; last: {err}"[:500]
            log.warning("printer %s disabled: %s", printer.id, printer.disabled_reason)

