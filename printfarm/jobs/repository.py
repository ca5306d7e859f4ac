"""Print job queries (state moves are written by jobs/moves.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from printfarm.db.tables import PrintJob
from printfarm.jobs.rules import ACTIVE, JobState


def list_jobs(
    session: Session, *, state: JobState | None = None, printer_id: int | None = None,
    batch_id: int | None = None, site_printer_ids: list[int] | None = None, limit: int = 200,
) -> list[PrintJob]:
    query = select(PrintJob).order_by(PrintJob.id.desc()).limit(limit)
    if state is not None:
        query = query.where(PrintJob.state == state)
    if printer_id is not None:
        query = query.where(PrintJob.printer_id == printer_id)
    if batch_id is not None:
        query = query.where(PrintJob.batch_id == batch_id)
    return list(session.scalars(query))


def printer_jobs_to_reconcile(session: Session, printer_id: int) -> list[PrintJob]:
    """The printer's claimed or running plate; with none, its latest plate if that one was lost
    (it may have finished after all)."""
    unfinished = ACTIVE - {JobState.FINISHED}
    jobs = list(session.scalars(
        select(PrintJob).where(PrintJob.printer_id == printer_id, PrintJob.state.in_(ACTIVE)).order_by(PrintJob.id)
    ))
    if jobs:
        return [job for job in jobs if job.state in unfinished]
    latest = session.scalar(select(PrintJob).where(PrintJob.printer_id == printer_id).order_by(PrintJob.id.desc()).limit(1))
    return [latest] if latest is not None and latest.state is JobState.LOST else []


def jobs_to_reconcile(session: Session) -> list[PrintJob]:
    """Jobs that may be moving on a printer (FINISHED plates wait for QC and need no printer)."""
    unfinished = ACTIVE - {JobState.FINISHED}
    return list(session.scalars(select(PrintJob).where(PrintJob.state.in_(unfinished)).order_by(PrintJob.id)))
