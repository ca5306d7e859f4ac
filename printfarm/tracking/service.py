"""Tracking use-cases: apply a batch of MQTT messages in one unit of work; reconcile jobs with printers."""

from __future__ import annotations

import contextlib
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
from printfarm.db.session import Database
from printfarm.db.tables import Printer, PrintJob, Site
from printfarm.errors import PrinterError, PrinterUnreachable
from printfarm.jobs.repository import jobs_to_reconcile
from printfarm.jobs.rules import RUNNING, JobState, can_move, job_id_from_filename
from printfarm.output.service import complete_job
from printfarm.printers.repository import base_topics
from printfarm.printers.rules import ConnectionState
from printfarm.printers.service import PrinterService
from printfarm.tracking.messages import BadMessage, MessageKind, PrinterMessage, parse_message, split_topic
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
        # SQLite has no row locks (FOR UPDATE is not rendered) and pysqlite reads outside the write
        # transaction: MQTT batches and reconciliation in one process take turns instead.
        self._sqlite_turns = threading.Lock()
        self.stats = IngestStats()

    # -- MQTT --------------------------------------------------------------------------------

    def stats_snapshot(self) -> dict[str, Any]:
        """The ingest counters for /metrics (see IngestStats), read consistently."""
        with self._lock:
            return self.stats.snapshot()

    def apply_raw(self, batch: Sequence[tuple[str, bytes]]) -> None:
        """Parse and apply one batch of (topic, payload); bad messages are logged once and counted."""
        messages: list[PrinterMessage] = []
        for topic, payload in batch:
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
                    with self._lock:
                        self.stats.batches_failed += 1
                        self.stats.dropped["batch_failed"] += len(messages)
                    raise
                with self._lock:
                    self.stats.batch_retries += 1
                log.warning("tracking batch of %d messages: attempt %d failed (%s); trying again",
                            len(messages), attempt, type(err.orig).__name__ if err.orig is not None else err)
                time.sleep(_RETRY_FIRST_SECONDS * 2 ** (attempt - 1))
                continue
            with self._lock:
                self.stats.applied += applied
                self.stats.batches += 1
            if wake:
                self._on_printer_ready()
            return

    def _turn(self) -> contextlib.AbstractContextManager[object]:
        return contextlib.nullcontext() if self._db.is_postgresql else self._sqlite_turns

    def _apply_once(self, messages: Sequence[PrinterMessage]) -> tuple[bool, int]:
        wake = False
        with self._turn(), self._db.unit_of_work() as session:
            now = self._clock.now()
            by_printer: dict[int, list[PrinterMessage]] = {}
            for message in messages:
                printer_id = self._printer_id(session, message.base_topic)
                if printer_id is None:
                    self._drop("unknown_printer", message.base_topic, "no printer has this base topic",
                               base_topic=message.base_topic)
                    continue
                by_printer.setdefault(printer_id, []).append(message)
            if not by_printer:
                return False, 0
            job_ids = {
                job_id
                for batch in by_printer.values()
                for m in batch
                if (job_id := job_id_from_filename(m.file_name)) is not None
            }
            # Rows are locked in id order (jobs, then printers as they are flushed in id order
            # below), the same order in every replica, so two batches cannot deadlock each other.
            jobs = (
                {j.id: j for j in session.scalars(
                    select(PrintJob).where(PrintJob.id.in_(job_ids)).order_by(PrintJob.id).with_for_update()
                )}
                if job_ids else {}
            )
            printers = {p.id: p for p in session.scalars(select(Printer).where(Printer.id.in_(by_printer)))}
            for printer_id in sorted(by_printer):
                printer = printers[printer_id]
                for message in by_printer[printer_id]:
                    wake |= self._apply_one(session, printer, jobs, message, now)
            applied = sum(len(b) for b in by_printer.values())
        return wake, applied

    def _apply_one(
        self, session: Session, printer: Printer, jobs: dict[int, PrintJob], message: PrinterMessage, now
    ) -> bool:
        """Apply one message to its printer and job; True when the printer became ready for a plate."""
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
        printer.last_seen_at = now
        if message.kind is MessageKind.TEMPERATURE:
            if message.heater == "bed":
                printer.bed_temp_c = message.actual_c
            elif message.heater == "tool0":
                printer.tool_temp_c = message.actual_c
            return False
        if message.state_string:
            printer.state_text = message.state_string[:80]
        job_id = job_id_from_filename(message.file_name)
        job = jobs.get(job_id) if job_id is not None else None
        if job is None or job.printer_id != printer.id:
            return False
        if message.kind is MessageKind.PROGRESS:
            if job.state in RUNNING:
                job.progress_percent = merged_progress(job.progress_percent, message.progress_percent)
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
        """Move a job to what its printer says; nothing if the job moved since (observed) or is mid-start."""
        with self._turn(), self._db.unit_of_work() as session:
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
