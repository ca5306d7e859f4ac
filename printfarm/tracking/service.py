"""Tracking use-cases: apply a batch of MQTT messages in one unit of work; reconcile jobs with printers."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
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
from printfarm.tracking.messages import BadMessage, MessageKind, PrinterMessage, parse_message
from printfarm.tracking.rules import merged_progress, target_for_event

log = logging.getLogger(__name__)


@dataclass
class IngestStats:
    """Counters for /metrics; updated under a lock by the ingest thread."""

    received: int = 0
    applied: int = 0
    dropped: Counter[str] = field(default_factory=Counter)


class TrackingService:
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
        self._logged_drops: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.stats = IngestStats()

    # -- MQTT --------------------------------------------------------------------------------

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

    def _drop(self, kind: str, topic: str, detail: str) -> None:
        with self._lock:
            self.stats.dropped[kind] += 1
            key = (kind, topic.split("/event/")[0])
            first = key not in self._logged_drops
            self._logged_drops.add(key)
        if first:
            log.warning("MQTT message dropped (%s) on %s: %s", kind, topic, detail)

    def _printer_id(self, session: Session, base: str) -> int | None:
        if base not in self._topics:
            self._topics = base_topics(session)
        return self._topics.get(base)

    def apply(self, messages: Sequence[PrinterMessage]) -> None:
        """Apply parsed messages in one unit of work. Idempotent: repeats and reorders change nothing."""
        wake = False
        with self._db.unit_of_work() as session:
            now = self._clock.now()
            by_printer: dict[int, list[PrinterMessage]] = {}
            for message in messages:
                printer_id = self._printer_id(session, message.base_topic)
                if printer_id is None:
                    self._drop("unknown_printer", message.base_topic, "no printer has this base topic")
                    continue
                by_printer.setdefault(printer_id, []).append(message)
            if not by_printer:
                return
            printers = {p.id: p for p in session.scalars(select(Printer).where(Printer.id.in_(by_printer)))}
            job_ids = {
                job_id
                for batch in by_printer.values()
                for m in batch
                if (job_id := job_id_from_filename(m.file_name)) is not None
            }
            jobs = {j.id: j for j in session.scalars(select(PrintJob).where(PrintJob.id.in_(job_ids)))} if job_ids else {}
            for printer_id, printer_messages in by_printer.items():
                printer = printers[printer_id]
                for message in printer_messages:
                    wake |= self._apply_one(session, printer, jobs, message, now)
            with self._lock:
                self.stats.applied += sum(len(b) for b in by_printer.values())
        if wake:
            self._on_printer_ready()

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
            job.progress_percent = 100
            job.finished_at = now
            printer.is_bed_clear = False
            site = session.get(Site, printer.site_id)
            if site is not None and site.auto_accept_qc:
                complete_job(session, job, printer, job.units_per_print, 0, now)
                printer.is_bed_clear = True
                wake = True
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
        changed = 0
        for job_id, state, filename, printer_id, client, last_seen in work:
            try:
                status = client.status()
            except PrinterError as err:
                now = self._clock.now()
                gone_for = (now - last_seen).total_seconds() if last_seen else float("inf")
                if isinstance(err, PrinterUnreachable) and gone_for > lost_after_seconds:
                    changed += self._settle(job_id, JobState.LOST, f"printer unreachable for {gone_for:.0f} s: {err}")
                continue
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
                changed += self._settle(job_id, target, reason)
        if changed:
            self._on_printer_ready()
        return changed

    def _settle(self, job_id: int, target: JobState, reason: str | None) -> int:
        with self._db.unit_of_work() as session:
            job = session.get(PrintJob, job_id)
            if job is None:
                return 0
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
            if target is JobState.FINISHED:
                job.progress_percent = 100
                job.finished_at = now
            return 1
