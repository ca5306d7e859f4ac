"""Batch use-cases: queue, list with progress, cancel."""

from __future__ import annotations

import builtins


from sqlalchemy import select
from sqlalchemy.orm import Session

from printfarm.audit.service import record
from printfarm.auth.rules import Action, Actor, require
from printfarm.batches import repository
from printfarm.batches.repository import BatchProgress
from printfarm.batches.schemas import BatchCreate, BatchRead
from printfarm.clock import Clock
from printfarm.db.tables import Batch, Hospital, HospitalRequest, Part
from printfarm.errors import Conflict
from printfarm.db.lookup import get_existing
from printfarm.events import BatchQueued, raise_event


def to_read(batch: Batch, progress: BatchProgress | None) -> BatchRead:
    progress = progress or BatchProgress(0, 0, 0)
    return BatchRead(
        id=batch.id,
        part_id=batch.part_id,
        hospital_id=batch.hospital_id,
        request_id=batch.request_id,
        quantity=batch.quantity,
        priority=batch.priority,
        due_at=batch.due_at,
        is_cancelled=batch.is_cancelled,
        created_at=batch.created_at,
        good_units=progress.good_units,
        rejected_units=progress.rejected_units,
        in_production_units=progress.in_production_units,
        remaining_units=0 if batch.is_cancelled else progress.remaining(batch.quantity),
        is_done=progress.good_units >= batch.quantity,
    )


class BatchService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def create(self, session: Session, actor: Actor, data: BatchCreate) -> BatchRead:
        require(actor, Action.MANAGE_BATCHES)
        part = get_existing(session, Part, data.part_id, "part")
        get_existing(session, Hospital, data.hospital_id, "hospital")
        if not part.is_approved:
            raise Conflict(f"part {part.id} ({part.name}) is not approved for hospitals yet")
        if data.request_id is not None:
            request = get_existing(session, HospitalRequest, data.request_id, "hospital request")
            if request.hospital_id != data.hospital_id or request.part_id != data.part_id:
                raise Conflict(
                    f"hospital request {request.id} is for hospital {request.hospital_id} and part "
                    f"{request.part_id}, not hospital {data.hospital_id} and part {data.part_id}"
                )
        if data.due_at is not None and data.due_at.tzinfo is None:
            data = data.model_copy(update={"due_at": data.due_at.replace(tzinfo=self._clock.now().tzinfo)})
        batch = Batch(**data.model_dump(), is_cancelled=False, created_at=self._clock.now())
        session.add(batch)
        session.flush()
        record(session, actor, batch.created_at, "batch.create", "batch", batch.id, data.model_dump(mode="json"))
        raise_event(session, BatchQueued(batch.created_at, batch.id))
        return to_read(batch, None)

    def cancel(self, session: Session, actor: Actor, batch_id: int) -> BatchRead:
        """Stop queueing plates for this batch; plates already printing finish and count."""
        require(actor, Action.MANAGE_BATCHES)
        batch = get_existing(session, Batch, batch_id, "batch")
        batch.is_cancelled = True
        record(session, actor, self._clock.now(), "batch.cancel", "batch", batch_id)
        return self.get(session, actor, batch_id)

    def get(self, session: Session, actor: Actor, batch_id: int) -> BatchRead:
        require(actor, Action.READ)
        batch = get_existing(session, Batch, batch_id, "batch")
        return to_read(batch, repository.progress_by_batch(session, [batch_id]).get(batch_id))

    def list(self, session: Session, actor: Actor) -> builtins.list[BatchRead]:
        require(actor, Action.READ)
        batches = list(session.scalars(select(Batch).order_by(Batch.id)))
        progress = repository.progress_by_batch(session)
        return [to_read(b, progress.get(b.id)) for b in batches]
