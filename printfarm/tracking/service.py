"""Tracking use-cases: apply a batch of MQTT messages in one unit of work; reconcile jobs with printers."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from printfarm.clock import Clock
from printfarm.db.session import Database, lock_for_writing
from printfarm.db.tables import Printer, PrintJob, Site
from printfarm.errors import PrinterError, PrinterUnreachable
from printfarm.jobs.repository import jobs_to_reconcile
from printfarm.jobs.rules import RUNNING, JobState, can_move, job_id_from_filename
from printfarm.output.service import complete_job
from printfarm.printers.repository import base_topics
from printfarm.printers.rules import ConnectionState
from printfarm.printers.service import PrinterService
from printfarm.tracking.messages import BadMessage, MessageKind, PrinterMessage, parse_message, split_topic
from printfarm.tracking.repository import (
    JOBS,
    PRINTERS,
    job_owners_and_states,
    lock_rows,
    raise_progress,
    update_printers,
)
from printfarm.tracking.rules import merged_progress, target_for_event

log = logging.getLogger(__name__)

#: A batch that meets a deadlock or a lost race with another replica is tried this often in all.
_BATCH_ATTEMPTS = 4
_RETRY_FIRST_SECONDS = 0.05
_TOPICS_RELOAD_SECONDS = 1.0


@dataclass
class IngestStats:
    """Counters for /metrics, the one source of them; updated under TrackingService's lock.

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


class TrackingService:
    #: An UPLOADING job younger than this may still be starting in some dispatcher: reconciliation
    #: only settles it as never started after this long (a start found printing settles at once).
    start_grace_seconds: float = 120.0

    def __init__(
        self,
        db: Database,
        clock: Clock,
        printers: PrinterService,
        on_printer_ready: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._printers = printers
        self._on_printer_ready = on_printer_ready
        self._topics: dict[str, int] = {}
        self._topics_loaded_at = -float("inf")
        self._logged_drops: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.stats = IngestStats()

    # -- MQTT --------------------------------------------------------------------------------

    def stats_snapshot(self) -> dict[str, Any]:
        """The ingest counters for /metrics (see IngestStats), read consistently."""
        with self._lock:
            return self.stats.snapshot()

    def take_stats(self) -> IngestStats:
        """The counters since the last call, which start again from zero (an ingest worker reports them)."""
        with self._lock:
            taken, self.stats = self.stats, IngestStats()
        return taken

    def absorb(self, stats: IngestStats) -> None:
        """Add counters measured elsewhere (the ingest worker process) to this service's."""
        with self._lock:
            self.stats.add(stats)

    def count_dropped(self, kind: str, count: int) -> None:
        """Count messages lost outside this service (e.g. held by an ingest worker that died)."""
        with self._lock:
            self.stats.dropped[kind] += count

    def apply_raw(self, batch: Sequence[tuple[str, bytes] | tuple[str, bytes, bool]]) -> None:
        """Parse and apply one batch of (topic, payload[, retained]); bad messages are logged once and counted."""
        messages: list[PrinterMessage] = []
        for item in batch:
            topic, payload = item[0], item[1]
            if not payload:
                continue  # an empty retained message only clears the topic on the broker
            try:
                messages.append(parse_message(topic, payload))
            except BadMessage as err:
                self._drop(err.kind_of_problem, topic, str(err))
        with self._lock:
            self.stats.received += len(batch)
        if messages:
            self.apply(messages)

    def _drop(self, kind: str, topic: str, detail: str, *, base_topic: str | None = None) -> None:
        """Count a dropped message; log it once per problem and printer (base topic)."""
        split = split_topic(topic) if base_topic is None else None
        printer = base_topic if base_topic is not None else split[0] if split is not None else topic
        with self._lock:
            self.stats.dropped[kind] += 1
            key = (kind, printer)
            # bounded: a flood of random topics must not grow this set without end
            first = key not in self._logged_drops and len(self._logged_drops) < 100_000
            if first:
                self._logged_drops.add(key)
        if first:
            log.warning("MQTT message dropped (%s) on %s: %s; further ones of this kind from this printer are only counted",
                        kind, topic, detail)

    def forget_topics(self) -> None:
        """A printer was registered or changed its base topic: read the topics again on next use."""
        self._topics_loaded_at = -float("inf")

    def _printer_id(self, session: Session, base: str) -> int | None:
        # An unknown topic reloads the map at most once a second, so a flood of strangers' topics
        # costs no query per message; forget_topics() makes a new printer known at once.
        if base not in self._topics and time.monotonic() - self._topics_loaded_at > _TOPICS_RELOAD_SECONDS:
            self._topics = base_topics(session)
            self._topics_loaded_at = time.monotonic()
        return self._topics.get(base)

    def apply(self, messages: Sequence[PrinterMessage]) -> None:
        """Apply parsed messages in one unit of work. Idempotent: repeats and reorders change nothing.

        Several replicas may apply messages of one printer at once (a shared subscription spreads
        them): the batch locks its jobs' rows, so every state move reads the committed state. A
        batch that meets a deadlock or loses a race is tried again as a whole; after
        _BATCH_ATTEMPTS it is counted as ``batch_failed`` and the error raised.
        """
        for attempt in range(1, _BATCH_ATTEMPTS + 1):
            try:
                wake, applied = self._apply_once(messages)
            except (OperationalError, IntegrityError) as err:
                if attempt == _BATCH_ATTEMPTS:
                    self._count_failed(len(messages))
                    raise
                with self._lock:
                    self.stats.batch_retries += 1
                log.warning("tracking batch of %d messages: attempt %d failed (%s); trying again",
                            len(messages), attempt, type(err.orig).__name__ if err.orig is not None else err)
                time.sleep(_RETRY_FIRST_SECONDS * 2 ** (attempt - 1))
                continue
            except Exception:  # not worth another try (a value the database refuses, say): counted
                self._count_failed(len(messages))
                raise
            with self._lock:
                self.stats.applied += applied
                self.stats.batches += 1
            if wake:
                self._on_printer_ready()
            return

    def _count_failed(self, messages: int) -> None:
        with self._lock:
            self.stats.batches_failed += 1
            self.stats.dropped["batch_failed"] += messages

    def _apply_once(self, messages: Sequence[PrinterMessage]) -> tuple[bool, int]:
        """One unit of work: coalesced bulk updates for the traffic, the locked ORM path for moves.

        Progress, temperatures and the state text are most of the traffic and move nothing: per
        batch they become one UPDATE per printer (last temperature, last state text, seen now) and
        one per job (its highest progress, raised only, never lowered), sent as executemany. Only
        connection changes and events that may move a job load rows and go through the state
        machine. All job rows the batch touches are locked first, in id order, then its printers in
        id order, as in every replica, so two batches cannot deadlock each other.
        """
        wake = False
        with self._db.unit_of_work() as session:
            # SQLite has no row locks: the batch holds the database's write lock instead, so it reads
            # what reconciliation (maybe in another process) committed, and that waits for it.
            lock_for_writing(session)
            now = self._clock.now()
            printer_rows: dict[int, dict[str, Any]] = {}  # printer id -> coalesced columns
            progress: dict[tuple[int, int], int] = {}  # (job id, printer id) -> highest progress
            moves: dict[int, list[PrinterMessage]] = {}  # printer id -> connection and job-moving events
            applied = 0
            for message in messages:
                printer_id = self._printer_id(session, message.base_topic)
                if printer_id is None:
                    self._drop("unknown_printer", message.base_topic, "no printer has this base topic",
                               base_topic=message.base_topic)
                    continue
                applied += 1
                kind = message.kind
                if kind is MessageKind.CONNECTION:
                    moves.setdefault(printer_id, []).append(message)
                    continue
                row = printer_rows.get(printer_id)
                if row is None:
                    row = printer_rows[printer_id] = {}
                if kind is MessageKind.TEMPERATURE:
                    if message.heater == "bed":
                        row["bed_temp_c"] = message.actual_c
                    elif message.heater == "tool0":
                        row["tool_temp_c"] = message.actual_c
                    continue
                if message.state_string:
                    row["state_text"] = message.state_string[:80]
                job_id = job_id_from_filename(message.file_name)
                if job_id is None:
                    continue
                if kind is MessageKind.PROGRESS:
                    key = (job_id, printer_id)
                    progress[key] = merged_progress(progress.get(key, 0), message.progress_percent)
                elif target_for_event(message.event or "", message.reason) is not None:
                    moves.setdefault(printer_id, []).append(message)
            if not applied:
                return False, 0
            move_job_ids = {
                job_id for batch in moves.values() for m in batch
                if (job_id := job_id_from_filename(m.file_name)) is not None
            }
            if self._db.is_postgresql:  # SQLite takes turns instead (no row locks)
                lock_rows(session, JOBS, move_job_ids | {job_id for job_id, _ in progress})
                lock_rows(session, PRINTERS, set(printer_rows) | set(moves))
            update_printers(session, printer_rows, seen_at=now)
            if move_job_ids:
                moves = _that_can_move(session, moves)
            if moves:
                move_job_ids = {
                    job_id for batch in moves.values() for m in batch
                    if (job_id := job_id_from_filename(m.file_name)) is not None
                }
                jobs = (
                    {j.id: j for j in session.scalars(select(PrintJob).where(PrintJob.id.in_(move_job_ids)))}
                    if move_job_ids else {}
                )
                printers = {p.id: p for p in session.scalars(select(Printer).where(Printer.id.in_(moves)))}
                for printer_id in sorted(moves):
                    printer = printers[printer_id]
                    for message in moves[printer_id]:
                        wake |= self._apply_move(session, printer, jobs, message, now)
                session.flush()  # a job moved into a running state takes this batch's progress below
            raise_progress(session, progress)
        return wake, applied

    def _apply_move(
        self, session: Session, printer: Printer, jobs: dict[int, PrintJob], message: PrinterMessage, now
    ) -> bool:
        """Apply a connection change or a job-moving event; True when the printer became ready for a plate.

        Last-seen, temperatures and state text were written by the batch's bulk update already.
        """
        wake = False
        if message.kind is MessageKind.CONNECTION:
            connected = bool(message.is_connected)
            state = ConnectionState.ONLINE if connected else ConnectionState.OFFLINE
            if printer.connection is not state:
                log.info("printer %s is %s (MQTT)", printer.id, state.value)
                wake = connected
            printer.connection = state
            if connected:
                printer.last_seen_at = now
                printer.offline_checks = 0
                printer.retry_after = None
            return wake
        job_id = job_id_from_filename(message.file_name)
        job = jobs.get(job_id) if job_id is not None else None
        if job is None or job.printer_id != printer.id:
            return False
        target = target_for_event(message.event or "", message.reason)
        if target is None or not can_move(job.state, target):
            return False
        log.info("job %s on printer %s: %s -> %s (%s)", job.id, printer.id, job.state.value, target.value, message.event)
        job.state = target
        job.updated_at = now
        if target is JobState.PRINTING and job.started_at is None:
            job.started_at = now
            printer.is_bed_clear = False
        elif target is JobState.FINISHED:
            wake = _plate_finished(session, job, printer, now)
        elif target in (JobState.FAILED, JobState.CANCELLED):
            job.failure_reason = (message.reason or message.event or "")[:500]
            if job.started_at is not None:
                printer.is_bed_clear = False  # something may be left on the bed
        return wake

    # -- reconciliation ------------------------------------------------------------------------

    def reconcile(self, lost_after_seconds: float = 600) -> int:
        """Settle every claimed or running job against what its printer says; returns jobs changed."""
        with self._db.unit_of_work() as session:
            work = [
                (job.id, job.state, job.remote_filename, job.printer_id, self._printers.client_for(printer), printer.last_seen_at)
                for job in jobs_to_reconcile(session)
                if (printer := session.get(Printer, job.printer_id)) is not None
            ]
        return self._reconcile_with_printers(work, lost_after_seconds)

    def poll_silent_printers(self, silent_after_seconds: float, lost_after_seconds: float = 600) -> int:
        """Ask printers over REST whose running job has had no MQTT message for silent_after_seconds.

        A PrintDone lost on the way (a broker restart, a printer's MQTT client reconnecting) leaves
        its job printing and the printer quiet: this finds it. Returns jobs changed. A printer that
        answers counts as seen, so it is asked again only after another quiet spell.
        """
        now = self._clock.now()
        quiet_since = now - dt.timedelta(seconds=silent_after_seconds)
        with self._db.unit_of_work() as session:
            rows = session.execute(
                select(PrintJob, Printer)
                .join(Printer, Printer.id == PrintJob.printer_id)
                .where(PrintJob.state.in_(RUNNING), PrintJob.updated_at < quiet_since)
                .where(or_(Printer.last_seen_at.is_(None), Printer.last_seen_at < quiet_since))
                .order_by(PrintJob.id)
            ).all()
            work = [
                (job.id, job.state, job.remote_filename, printer.id, self._printers.client_for(printer), printer.last_seen_at)
                for job, printer in rows
            ]
        if work:
            log.info("polling %d printers silent for %.0f s over REST: %s", len(work), silent_after_seconds,
                     ", ".join(str(item[3]) for item in work))
            with self._lock:
                self.stats.silent_polls += len(work)
        return self._reconcile_with_printers(work, lost_after_seconds, mark_seen=True)

    def _reconcile_with_printers(
        self, work: list[tuple[int, JobState, str | None, int, Any, dt.datetime | None]], lost_after_seconds: float,
        *, mark_seen: bool = False,
    ) -> int:
        changed = 0
        for job_id, state, filename, printer_id, client, last_seen in work:
            try:
                status = client.status()
            except PrinterError as err:
                now = self._clock.now()
                gone_for = (now - last_seen).total_seconds() if last_seen else float("inf")
                if isinstance(err, PrinterUnreachable) and gone_for > lost_after_seconds:
                    changed += self._settle(
                        job_id, JobState.LOST, f"printer unreachable for {gone_for:.0f} s: {err}", observed=state
                    )
                continue
            if mark_seen:
                self._mark_seen(printer_id)
            ours = status.file_name is not None and status.file_name.rsplit("/", 1)[-1] == filename
            if ours and status.is_paused:
                target, reason = JobState.PAUSED, None
            elif ours and status.is_printing:
                target, reason = JobState.PRINTING, None
            elif ours and (status.progress_percent or 0) >= 100:
                target, reason = JobState.FINISHED, None
            elif state in (JobState.ASSIGNED, JobState.UPLOADING):
                target, reason = JobState.FAILED, "reconciled: the printer never started this plate"
            else:
                target, reason = JobState.FAILED, f"reconciled: printer is {status.state_text}, plate not found"
            if target is not state:
                changed += self._settle(job_id, target, reason, observed=state)
        if changed:
            self._on_printer_ready()
        return changed

    def _mark_seen(self, printer_id: int) -> None:
        with self._db.unit_of_work() as session:
            printer = session.get(Printer, printer_id)
            if printer is not None:
                printer.last_seen_at = self._clock.now()

    def _settle(self, job_id: int, target: JobState, reason: str | None, observed: JobState | None = None) -> int:
        """Move a job to what its printer says; nothing if the job moved since (observed) or is mid-start.

        A deadlock, a lock wait past the busy timeout (SQLite) or a lost race is tried again.
        """
        for attempt in range(1, _BATCH_ATTEMPTS + 1):
            try:
                return self._settle_once(job_id, target, reason, observed)
            except (OperationalError, IntegrityError):
                if attempt == _BATCH_ATTEMPTS:
                    raise
                time.sleep(_RETRY_FIRST_SECONDS * 2 ** (attempt - 1))
        return 0

    def _settle_once(self, job_id: int, target: JobState, reason: str | None, observed: JobState | None) -> int:
        with self._db.unit_of_work() as session:
            lock_for_writing(session)  # SQLite: the read below sees what an MQTT batch committed
            # locked: an MQTT batch on another thread or replica may be moving the same job
            job = session.get(PrintJob, job_id, with_for_update=True)
            if job is None or (observed is not None and job.state is not observed):
                return 0  # a dispatcher or a message moved it while the printer was asked
            if (
                job.state is JobState.UPLOADING and target is JobState.FAILED
                and (self._clock.now() - job.updated_at).total_seconds() < self.start_grace_seconds
            ):
                return 0  # a dispatcher (maybe another replica) may be uploading it right now
            # a claimed job found printing was uploaded before a crash: it passes through UPLOADING
            current = JobState.UPLOADING if job.state is JobState.ASSIGNED and target in RUNNING | {JobState.FINISHED} else job.state
            if not can_move(current, target):
                return 0
            now = self._clock.now()
            log.info("job %s reconciled: %s -> %s (%s)", job_id, job.state.value, target.value, reason or "")
            job.state = target
            job.updated_at = now
            if reason:
                job.failure_reason = reason[:500]
            printer = session.get(Printer, job.printer_id)
            if printer is not None and target in (JobState.PRINTING, JobState.PAUSED, JobState.FINISHED):
                printer.is_bed_clear = False
            if target is JobState.FINISHED and printer is not None:
                _plate_finished(session, job, printer, now)
            return 1


def _plate_finished(session: Session, job: PrintJob, printer: Printer, now: dt.datetime) -> bool:
    """The plate is done and waits on the bed; a site that accepts QC automatically counts it now.

    Called once per job: only the move into FINISHED calls it. True when the bed is free again.
    """
    job.progress_percent = 100
    job.finished_at = now
    printer.is_bed_clear = False
    site = session.get(Site, printer.site_id)
    if site is None or not site.auto_accept_qc:
        return False
    complete_job(session, job, printer, job.units_per_print, 0, now)
    printer.is_bed_clear = True
    return True


def _that_can_move(session: Session, moves: dict[int, list[PrinterMessage]]) -> dict[int, list[PrinterMessage]]:
    """The moves less the events of jobs none of whose events can move them from their state now.

    Repeated and replayed events (a PrintStarted of a printing job) are common: they load no rows.
    A job's events stay, in order, when any of them can move it from its current state: a later
    one may only apply after an earlier one moved it, and if none can move it now, none ever will.
    """
    wanted: dict[int, list[tuple[int, JobState]]] = {}  # job id -> (printer id, target) of its events
    for printer_id, batch in moves.items():
        for message in batch:
            if message.kind is MessageKind.EVENT and (job_id := job_id_from_filename(message.file_name)) is not None:
                target = target_for_event(message.event or "", message.reason)
                if target is not None:
                    wanted.setdefault(job_id, []).append((printer_id, target))
    movable = {
        job_id for job_id, printer_id, state in job_owners_and_states(session, wanted)
        if any(by == printer_id and can_move(state, target) for by, target in wanted[job_id])
    }
    kept: dict[int, list[PrinterMessage]] = {}
    for printer_id, batch in moves.items():
        left = [
            m for m in batch
            if m.kind is MessageKind.CONNECTION or job_id_from_filename(m.file_name) in movable
        ]
        if left:
            kept[printer_id] = left
    return kept
