"""Apply a batch of printers' MQTT messages in one unit of work: bulk writes for the traffic, moves for events."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from printfarm.clock import Clock
from printfarm.db.retry import retried
from printfarm.db.session import Database, lock_for_writing
from printfarm.db.tables import Printer, PrintJob
from printfarm.jobs import moves
from printfarm.jobs.rules import JobState, can_move, is_found_finished, job_id_from_filename
from printfarm.printers.feed import BadMessage, MessageKind, PrinterFeed, PrinterMessage
from printfarm.printers.health import mark_fault, mark_offline, mark_online
from printfarm.printers.repository import base_topics
from printfarm.tracking.qc import plate_finished
from printfarm.tracking.repository import JOBS, PRINTERS, job_owners_and_states, lock_rows, raise_progress, update_printers
from printfarm.tracking.rules import PRINTER_EVENTS, Liveness, merged_progress, printer_signal, target_for_event
from printfarm.tracking.stats import IngestCounters

log = logging.getLogger(__name__)

_TOPICS_RELOAD_SECONDS = 1.0


class BatchApplier:
    """Parses and applies MQTT batches; idempotent: repeats and reorders change nothing."""

    def __init__(self, db: Database, clock: Clock, counters: IngestCounters, feed: PrinterFeed) -> None:
        self._db = db
        self._parse = feed.parse
        self._clock = clock
        self._counters = counters
        self._topics: dict[str, int] = {}
        self._topics_loaded_at = -float("inf")

    def apply_raw(self, batch: Sequence[tuple[str, bytes] | tuple[str, bytes, bool]]) -> None:
        """Parse and apply one batch of (topic, payload[, retained]); bad messages are logged once and counted."""
        messages: list[PrinterMessage] = []
        for item in batch:
            topic, payload = item[0], item[1]
            if not payload:
                continue  # an empty retained message only clears the topic on the broker
            try:
                messages.append(self._parse(topic, payload))
            except BadMessage as err:
                self._counters.drop(err.kind_of_problem, topic, str(err))
        self._counters.count(received=len(batch))
        if messages:
            self.apply(messages)

    def forget_topics(self) -> None:
        """A printer was registered or changed its base topic: read the topics again on next use."""
        self._topics_loaded_at = -float("inf")

    def apply(self, messages: Sequence[PrinterMessage]) -> None:
        """Apply parsed messages in one unit of work.

        Several replicas may apply messages of one printer at once (a shared subscription spreads
        them): the batch locks its jobs' rows, so every state move reads the committed state. A
        batch that meets a deadlock or loses a race is tried again as a whole (db.retry); one that
        still fails is counted as ``batch_failed`` and the error raised.
        """
        try:
            applied = retried(
                f"tracking batch of {len(messages)} messages", lambda: self._apply_once(messages),
                on_retry=lambda: self._counters.count(batch_retries=1),
            )
        except Exception:
            self._counters.failed_batch(len(messages))
            raise
        self._counters.count(applied=applied, batches=1)

    def _printer_id(self, session: Session, base: str) -> int | None:
        # An unknown topic reloads the map at most once a second, so a flood of strangers' topics
        # costs no query per message; forget_topics() makes a new printer known at once.
        if base not in self._topics and time.monotonic() - self._topics_loaded_at > _TOPICS_RELOAD_SECONDS:
            self._topics = base_topics(session)
            self._topics_loaded_at = time.monotonic()
        return self._topics.get(base)

    def _apply_once(self, messages: Sequence[PrinterMessage]) -> int:
        """One unit of work: coalesced bulk updates for the traffic, the locked ORM path for moves.

        Progress, temperatures and the state text are most of the traffic and move nothing: per
        batch they become one UPDATE per printer (last temperature, last state text, seen now) and
        one per job (its highest progress, raised only, never lowered), sent as executemany. Only
        connection changes and events that may move a job load rows and go through the state
        machine. All job rows the batch touches are locked first, in id order, then its printers in
        id order, as in every replica, so two batches cannot deadlock each other. Returns the
        messages of known printers.
        """
        with self._db.unit_of_work() as session:
            # SQLite has no row locks: the batch holds the database's write lock instead, so it reads
            # what reconciliation (maybe in another process) committed, and that waits for it.
            lock_for_writing(session)
            now = self._clock.now()
            printer_rows: dict[int, dict[str, Any]] = {}  # printer id -> coalesced columns
            progress: dict[tuple[int, int], int] = {}  # (job id, printer id) -> highest progress
            moves_by_printer: dict[int, list[PrinterMessage]] = {}  # connection and job-moving events
            applied = 0
            for message in messages:
                printer_id = self._printer_id(session, message.base_topic)
                if printer_id is None:
                    self._counters.drop("unknown_printer", message.base_topic, "no printer has this base topic",
                                        base_topic=message.base_topic)
                    continue
                applied += 1
                kind = message.kind
                if kind is MessageKind.CONNECTION:
                    moves_by_printer.setdefault(printer_id, []).append(message)
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
                if message.event in PRINTER_EVENTS:  # about the printer itself, and maybe a job (PrintFailed)
                    moves_by_printer.setdefault(printer_id, []).append(message)
                    continue
                job_id = job_id_from_filename(message.file_name)
                if job_id is None:
                    continue
                if kind is MessageKind.PROGRESS:
                    key = (job_id, printer_id)
                    progress[key] = merged_progress(progress.get(key, 0), message.progress_percent)
                elif target_for_event(message.event or "", message.reason) is not None:
                    moves_by_printer.setdefault(printer_id, []).append(message)
            if not applied:
                return 0
            if self._db.is_postgresql:  # SQLite takes turns instead (no row locks)
                lock_rows(session, JOBS, _job_ids(moves_by_printer) | {job_id for job_id, _ in progress})
                lock_rows(session, PRINTERS, set(printer_rows) | set(moves_by_printer))
            update_printers(session, printer_rows, seen_at=now)
            if _job_ids(moves_by_printer):
                moves_by_printer = _that_can_move(session, moves_by_printer)
            if moves_by_printer:
                self._apply_moves(session, moves_by_printer, now)
                session.flush()  # a job moved into a running state takes this batch's progress below
            raise_progress(session, progress)
        return applied

    def _apply_moves(self, session: Session, moves_by_printer: dict[int, list[PrinterMessage]], now: dt.datetime) -> None:
        job_ids = _job_ids(moves_by_printer)
        jobs = {j.id: j for j in session.scalars(select(PrintJob).where(PrintJob.id.in_(job_ids)))} if job_ids else {}
        printers = {p.id: p for p in session.scalars(select(Printer).where(Printer.id.in_(moves_by_printer)))}
        for printer_id in sorted(moves_by_printer):
            printer = printers[printer_id]
            for message in moves_by_printer[printer_id]:
                if message.kind is MessageKind.CONNECTION:
                    _connection_changed(session, printer, bool(message.is_connected), now)
                    continue
                is_stale = _event_moves_job(session, printer, jobs, message, now)
                if message.event in PRINTER_EVENTS and not is_stale:
                    _printer_event(session, printer, message, now)


def _connection_changed(session: Session, printer: Printer, is_connected: bool, now: dt.datetime) -> None:
    """The plugin's ``<base>mqtt`` topic: its client connected, or its last will (disconnected)."""
    if is_connected:
        mark_online(session, printer, now, "mqtt")
    else:
        mark_offline(session, printer, now, "its MQTT client disconnected (last will)")


def _printer_event(session: Session, printer: Printer, message: PrinterMessage, now: dt.datetime) -> None:
    """Connected, Disconnected, a state change, an Error, a failed print: the printer's connection (rules.printer_signal)."""
    signal = printer_signal(
        message.event or "", reason=message.reason, state_id=message.state_id, state_string=message.state_string,
        error=message.error, consequence=message.consequence,
    )
    if signal is None:
        return
    if signal.liveness is Liveness.FAULT:
        mark_fault(session, printer, now, signal.reason)
    elif signal.liveness is Liveness.OFFLINE:
        mark_offline(session, printer, now, signal.reason)
    else:
        mark_online(session, printer, now, signal.reason)


def _event_moves_job(
    session: Session, printer: Printer, jobs: dict[int, PrintJob], message: PrinterMessage, now: dt.datetime
) -> bool:
    """A PrintStarted, PrintDone, PrintFailed, ... of one of our plates moves its job, where the table allows.

    True when the message is stale: about one of our plates, which the table does not let it move (a
    replay, or a message that arrived after the plate's end); it then says nothing of the printer now.
    """
    job_id = job_id_from_filename(message.file_name)
    job = jobs.get(job_id) if job_id is not None else None
    if job is None or job.printer_id != printer.id:
        return False
    target = target_for_event(message.event or "", message.reason)
    if target is not None and is_found_finished(job.state, target):
        found = moves.found_finished(session, job, now)
        if found is not None:
            log.info("lost job %s reports %s on printer %s: job %s waits for QC", job.id, message.event, printer.id, found.id)
            plate_finished(session, found, printer, now)
        return found is None
    if target is None:
        return False
    if not can_move(job.state, target):
        return True
    log.info("job %s on printer %s: %s -> %s (%s)", job.id, printer.id, job.state.value, target.value, message.event)
    moves.move(session, job, target, now, reason=message.reason or message.event)
    if target is JobState.FINISHED:
        plate_finished(session, job, printer, now)
    return False


def _job_ids(moves_by_printer: dict[int, list[PrinterMessage]]) -> set[int]:
    return {
        job_id for batch in moves_by_printer.values() for m in batch
        if (job_id := job_id_from_filename(m.file_name)) is not None
    }


def _that_can_move(session: Session, moves_by_printer: dict[int, list[PrinterMessage]]) -> dict[int, list[PrinterMessage]]:
    """The moves less the events of jobs none of whose events can move them from their state now.

    Repeated and replayed events (a PrintStarted of a printing job) are common: they load no rows.
    A job's events stay, in order, when any of them can move it from its current state: a later
    one may only apply after an earlier one moved it, and if none can move it now, none ever will.
    """
    wanted: dict[int, list[tuple[int, JobState]]] = {}  # job id -> (printer id, target) of its events
    for printer_id, batch in moves_by_printer.items():
        for message in batch:
            if message.kind is MessageKind.EVENT and (job_id := job_id_from_filename(message.file_name)) is not None:
                target = target_for_event(message.event or "", message.reason)
                if target is not None:
                    wanted.setdefault(job_id, []).append((printer_id, target))
    movable = {
        job_id for job_id, printer_id, state in job_owners_and_states(session, wanted)
        if any(by == printer_id and (can_move(state, target) or is_found_finished(state, target))
               for by, target in wanted[job_id])
    }
    kept: dict[int, list[PrinterMessage]] = {}
    for printer_id, batch in moves_by_printer.items():
        left = [
            m for m in batch
            if m.kind is MessageKind.CONNECTION or m.event in PRINTER_EVENTS
            or job_id_from_filename(m.file_name) in movable
        ]
        if left:
            kept[printer_id] = left
    return kept
