"""Routes for hospital requests."""

from __future__ import annotations

from fastapi import APIRouter, status

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.hospital_requests.schemas import RequestCreate, RequestRead

router = APIRouter(tags=["requests"])


@router.post("/requests", status_code=status.HTTP_201_CREATED,
             summary="Record what a hospital needs (its own hospital token, or a coordinator)")
def create_request(data: RequestCreate, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> RequestRead:
    return svc.requests.create(session, actor, data)


@router.get("/requests", summary="Requests with requested, in production, QC-passed and delivered units")
def list_requests(
    actor: ActorDep, svc: ServicesDep, session: SessionDep, hospital_id: int | None = None,
    is_closed: bool | None = None,
) -> list[RequestRead]:
    return svc.requests.list(session, actor, hospital_id=hospital_id, is_closed=is_closed)


@router.get("/requests/{request_id}")
def get_request(request_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> RequestRead:
    return svc.requests.get(session, actor, request_id)


@router.post("/requests/{request_id}/close", summary="Nothing more is needed; no new deliveries against it")
def close_request(request_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> RequestRead:
    return svc.requests.close(session, actor, request_id)
