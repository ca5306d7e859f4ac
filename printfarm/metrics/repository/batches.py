"""The batch lists: open batches most urgent first, or all newest first, with their units."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from printfarm.db.tables import Batch, Hospital, OutputByBatch, Part, PrintJob
from printfarm.metrics.repository.states import ACTIVE_STATES


@dataclass(frozen=True)
class BatchLine:
    batch: Batch
    part_name: str
    hospital_name: str
    good_units: int
    rejected_units: int
    in_production_units: int


def _batches_query(open_only: bool) -> Select[Batch, str, str, int, int]:
    query = (
        select(
            Batch, Part.name, Hospital.name,
            func.coalesce(OutputByBatch.good_units, 0), func.coalesce(OutputByBatch.rejected_units, 0),
        )
        .join(Part, Part.id == Batch.part_id)
        .join(Hospital, Hospital.id == Batch.hospital_id)
        .outerjoin(OutputByBatch, OutputByBatch.batch_id == Batch.id)
    )
    if open_only:
        query = query.where(Batch.is_cancelled.is_(False), func.coalesce(OutputByBatch.good_units, 0) < Batch.quantity)
    return query


def count_batches(session: Session, open_only: bool) -> int:
    inner = _batches_query(open_only).with_only_columns(Batch.id).subquery()
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)


def batch_lines(session: Session, open_only: bool, offset: int, limit: int) -> list[BatchLine]:
    """Open batches most urgent first (as dispatch serves them); all batches newest first."""
    # Units on active plates, per batch of the page, from the partial index of active plates (which
    # holds units_per_print) in the same statement: one round trip fewer on a page polled every second.
    running = (
        select(func.coalesce(func.sum(PrintJob.units_per_print), 0))
        .where(PrintJob.batch_id == Batch.id, PrintJob.state.in_(ACTIVE_STATES))
        .scalar_subquery()
    )
    query = _batches_query(open_only).add_columns(running)
    if open_only:
        query = query.order_by(Batch.priority.desc(), Batch.due_at.is_(None), Batch.due_at, Batch.created_at, Batch.id)
    else:
        query = query.order_by(Batch.id.desc())
    rows = session.execute(query.offset(offset).limit(limit))
    return [BatchLine(b, part, hospital, int(g), int(r), int(u)) for b, part, hospital, g, r, u in rows]
