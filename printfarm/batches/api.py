"""Routes for batches."""

from __future__ import annotations

from fastapi import APIRouter, status

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.batches.schemas import BatchCreate, BatchRead

router = APIRouter(tags=["batches"])


@router.post("/batches", status_code=status.HTTP_201_CREATED, summary="Queue units of an approved part for a hospital")
def create_batch(data: BatchCreate, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> BatchRead:
    return svc.batches.create(session, actor, data)


@router.get("/batches")
def list_batches(actor: ActorDep, svc: ServicesDep, session: SessionDep) -> list[BatchRead]:
    return svc.batches.list(session, actor)


@router.get("/batches/{batch_id}")
def get_batch(batch_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> BatchRead:
    return svc.batches.get(session, actor, batch_id)


@router.post("/batches/{batch_id}/cancel", summary="Queue no more plates; plates printing finish and count")
def cancel_batch(batch_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> BatchRead:
    return svc.batches.cancel(session, actor, batch_id)
