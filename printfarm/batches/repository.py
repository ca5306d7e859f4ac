"""Batch queries: progress is derived from jobs and outputs, never stored."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from printfarm.db.tables import Batch, Output, PrintJob
from printfarm.jobs.rules import ACTIVE


@dataclass(frozen=True)
class BatchProgress:
    good_units: int
    rejected_units: int
    in_production_units: int

    def remaining(self, quantity: int) -> int:
        return max(0, quantity - self.good_units - self.in_production_units)


def progress_by_batch(session: Session, batch_ids: list[int] | None = None) -> dict[int, BatchProgress]:
    outputs = select(Output.batch_id, func.sum(Output.good_units), func.sum(Output.rejected_units)).group_by(
        Output.batch_id
    )
    active = (
        select(PrintJob.batch_id, func.sum(PrintJob.units_per_print))
        .where(PrintJob.state.in_(ACTIVE))
        .group_by(PrintJob.batch_id)
    )
    if batch_ids is not None:
        outputs = outputs.where(Output.batch_id.in_(batch_ids))
        active = active.where(PrintJob.batch_id.in_(batch_ids))
    done = {bid: (int(good or 0), int(bad or 0)) for bid, good, bad in session.execute(outputs)}
    running = {bid: int(units or 0) for bid, units in session.execute(active)}
    return {
        bid: BatchProgress(done.get(bid, (0, 0))[0], done.get(bid, (0, 0))[1], running.get(bid, 0))
        for bid in set(done) | set(running) | set(batch_ids or ())
    }


def open_batches(session: Session) -> list[Batch]:
    """Batches not cancelled, most urgent first: priority, then due date (none last), then age."""
    return list(
        session.scalars(
            select(Batch)
            .where(Batch.is_cancelled.is_(False))
            .order_by(Batch.priority.desc(), Batch.due_at.is_(None), Batch.due_at, Batch.created_at, Batch.id)
        )
    )
