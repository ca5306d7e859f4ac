"""Print job queries and conditional state moves (safe with several replicas)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from printfarm.db.tables import PrintJob
from printfarm.jobs.rules import ACTIVE, JobState


def move_if(
    session: Session, job_id: int, expected: frozenset[JobState] | set[JobState], target: JobState,
    now: dt.datetime, **values: Any,
) -> bool:
    """Move job to target only if it is still in one of expected; True when this call moved it."""
    result = session.execute(
        update(PrintJob)
        .where(PrintJob.id == job_id, PrintJob.state.in_(expected))
        .values(state=target, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return bool(result.rowcount)  # type: ignore[attr-defined]


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


def jobs_to_reconcile(session: Session) -> list[PrintJob]:
    """Jobs that may be moving on a printer (FINISHED plates wait for QC and need no printer)."""
    unfinished = ACTIVE - {JobState.FINISHED}
    return list(session.scalars(select(PrintJob).where(PrintJob.state.in_(unfinished)).order_by(PrintJob.id)))
