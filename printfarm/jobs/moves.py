"""The one writer of print job state and of the printer's bed-clear flag.

Every move of a PrintJob goes through ``move`` (one job, as tracking, reconciliation, QC and the
job commands make them) or ``move_many`` (a dispatch pass's plates, in set-based statements). Both
apply the transition table of ``jobs.rules``, set the same timestamps, apply the same bed rule
(``rules.bed_clear_after``) and raise the same domain events, published when the unit of work
commits. ``clear_bed`` is the one place a bed becomes clear, ``found_finished`` the one place a lost
plate's units come back.

A move is a compare-and-set on the state column: it changes the row only while the row still
holds the state it was read in, so a move based on a stale read changes nothing (and says so).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from printfarm.db.tables import Printer, PrintJob
from printfarm.errors import InvalidTransition, MovedMeanwhile
from printfarm.events import (
    BedCleared, Event, PlateFailed, PlateFinished, PlateLost, PlateStarted, raise_event,
)
from printfarm.jobs.rules import ACTIVE, ENDINGS, JobState, bed_clear_after, can_move, check_move

_REASON_CHARS = 500


def move(
    session: Session, job: PrintJob, target: JobState, now: dt.datetime, *, reason: str | None = None,
    good_units: int | None = None, rejected_units: int | None = None,
) -> list[Event]:
    """Move job from the state it was read in to target; returns the events raised.

    ``reason`` is kept for a failed, cancelled or lost plate; ``good_units``/``rejected_units`` are
    its QC, with COMPLETED. Raises InvalidTransition when the table does not allow the move, and
    MovedMeanwhile (nothing written, the job refreshed) when another unit of work moved the job
    since it was read. Callers that hold the job's row lock (tracking, reconciliation) never meet it.
    """
    check_move(job.id, job.state, target)
    values: dict[str, Any] = {"state": target, "updated_at": now}
    if target is JobState.PRINTING and job.started_at is None:
        values["started_at"] = now
    if target is JobState.FINISHED:
        values.update(progress_percent=100, finished_at=now)
    if target is JobState.COMPLETED:
        values.update(completed_at=now, good_units=good_units or 0, rejected_units=rejected_units or 0)
    if target in ENDINGS and reason:
        values["failure_reason"] = reason[:_REASON_CHARS]
    moved = session.execute(
        update(PrintJob)
        .where(PrintJob.id == job.id, PrintJob.state == job.state)
        .values(values)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not moved:
        was = job.state
        session.refresh(job)
        raise MovedMeanwhile(f"print job {job.id} moved from {was.value} to {job.state.value} meanwhile; "
                             f"it was not moved to {target.value}")
    was_started = job.started_at is not None
    for key, value in values.items():
        set_committed_value(job, key, value)
    _set_bed(session, job.printer_id, bed_clear_after(target, has_started=was_started))
    events = _events_of(job, target, was_started, reason, now)
    for event in events:
        raise_event(session, event)
    return events


def move_many(
    session: Session, job_ids: list[int], expected: JobState, target: JobState, now: dt.datetime, **values: Any
) -> list[int]:
    """Move the jobs still in ``expected`` to ``target`` in one statement; the ids this call moved.

    The set-based form of ``move`` for a dispatch pass (hundreds of plates): the same table, bed
    rule and events. Rows are locked in id order first, as tracking does, so concurrent units of
    work cannot deadlock. ``values`` are further columns (``failure_reason``).
    """
    if not can_move(expected, target):
        raise InvalidTransition(f"print jobs {job_ids}: cannot go from {expected.value} to {target.value}")
    if not job_ids:
        return []
    rows = session.execute(
        select(PrintJob.id, PrintJob.printer_id, PrintJob.batch_id, PrintJob.started_at)
        .where(PrintJob.id.in_(job_ids), PrintJob.state == expected)
        .order_by(PrintJob.id)
        .with_for_update()
    ).all()
    if not rows:
        return []
    locked = [row.id for row in rows]
    columns: dict[str, Any] = {"state": target, "updated_at": now, **values}
    if target is JobState.PRINTING:
        columns["started_at"] = now  # plates of a pass start here, before any PrintStarted arrived
    if "failure_reason" in columns:
        columns["failure_reason"] = str(columns["failure_reason"])[:_REASON_CHARS]
    session.execute(
        update(PrintJob).where(PrintJob.id.in_(locked), PrintJob.state == expected)
        .values(columns).execution_options(synchronize_session=False)
    )
    for is_started in (False, True):
        bed = bed_clear_after(target, has_started=is_started)
        printers = {row.printer_id for row in rows if (row.started_at is not None) is is_started}
        if bed is not None and printers:
            session.execute(
                update(Printer).where(Printer.id.in_(printers)).values(is_bed_clear=bed)
                .execution_options(synchronize_session=False)
            )
    session.expire_all()
    reason = str(values.get("failure_reason") or "")
    for row in rows:
        for event in _events(row.id, row.printer_id, row.batch_id, target, row.started_at is not None, reason, now):
            raise_event(session, event)
    return locked


def found_finished(session: Session, lost: PrintJob, now: dt.datetime) -> PrintJob | None:
    """A LOST plate whose printer came back and showed it done after all: a new FINISHED job for it.

    LOST stays terminal (its units were queued again when it was lost). The plate that is really on
    the bed becomes its own job, FINISHED, with the lost job's file name (so the printer's later
    events of that file still name the lost job, and change nothing), batch, file and units: it waits
    on the bed for QC like any plate and its units count once, at QC. The batch may then hold more
    good units than it asked for; the surplus is stock. Returns the new job, or None (nothing
    written) when the plate was found already or the printer holds another active job now.
    """
    if lost.state is not JobState.LOST:
        raise InvalidTransition(f"print job {lost.id}: only a lost plate can be found finished (it is {lost.state.value})")
    taken = session.scalar(
        select(PrintJob.id).where(
            PrintJob.printer_id == lost.printer_id, PrintJob.id != lost.id,
            (PrintJob.state.in_(ACTIVE)) | (PrintJob.remote_filename == lost.remote_filename),
        ).limit(1)
    )
    if taken is not None:
        return None
    found = PrintJob(
        batch_id=lost.batch_id, printer_id=lost.printer_id, print_file_id=lost.print_file_id,
        units_per_print=lost.units_per_print, state=JobState.FINISHED, progress_percent=100,
        remote_filename=lost.remote_filename,
        created_at=now, started_at=lost.started_at or now, finished_at=now, updated_at=now,
    )
    session.add(found)
    session.flush()
    _set_bed(session, found.printer_id, bed_clear_after(JobState.FINISHED, has_started=True))
    raise_event(session, PlateFinished(now, found.id, found.printer_id, found.batch_id))
    return found


def clear_bed(
    session: Session, printer: Printer, now: dt.datetime, *, job_id: int | None = None,
    good_units: int = 0, rejected_units: int = 0, is_automatic: bool = False,
) -> BedCleared:
    """The bed is free for the next plate (its plate's QC, if any, was recorded by COMPLETED)."""
    printer.is_bed_clear = True
    event = BedCleared(now, printer.id, job_id, good_units, rejected_units, is_automatic)
    raise_event(session, event)
    return event


def _set_bed(session: Session, printer_id: int, is_clear: bool | None) -> None:
    if is_clear is None:
        return
    session.execute(
        update(Printer).where(Printer.id == printer_id).values(is_bed_clear=is_clear)
        .execution_options(synchronize_session=False)
    )
    loaded = session.identity_map.get(session.identity_key(Printer, printer_id))
    if loaded is not None:
        set_committed_value(loaded, "is_bed_clear", is_clear)


def _events_of(job: PrintJob, target: JobState, was_started: bool, reason: str | None, now: dt.datetime) -> list[Event]:
    return _events(job.id, job.printer_id, job.batch_id, target, was_started, reason or "", now)


def _events(
    job_id: int, printer_id: int, batch_id: int, target: JobState, was_started: bool, reason: str, now: dt.datetime,
) -> list[Event]:
    """What a move into target tells the rest of printfarm (a resume or QC tells nothing here)."""
    if target is JobState.PRINTING and not was_started:
        return [PlateStarted(now, job_id, printer_id, batch_id)]
    if target is JobState.FINISHED:
        return [PlateFinished(now, job_id, printer_id, batch_id)]
    if target in (JobState.FAILED, JobState.CANCELLED):
        return [PlateFailed(now, job_id, printer_id, batch_id, target.value, reason)]
    if target is JobState.LOST:
        return [PlateLost(now, job_id, printer_id, batch_id, reason)]
    return []
