"""Routes for the cooperation board."""

from __future__ import annotations

from fastapi import APIRouter, status

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.exchange.rules import PostCategory, PostKind
from printfarm.exchange.schemas import PostClose, PostCreate, PostRead

router = APIRouter(tags=["exchange"])


@router.post("/exchange", status_code=status.HTTP_201_CREATED, summary="Post an offer or a need")
def post(data: PostCreate, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> PostRead:
    return PostRead.model_validate(svc.exchange.post(session, actor, data))


@router.get("/exchange", summary="The board: open posts by default, newest first")
def board(
    actor: ActorDep, svc: ServicesDep, session: SessionDep, is_closed: bool | None = False,
    kind: PostKind | None = None, category: PostCategory | None = None,
) -> list[PostRead]:
    posts = svc.exchange.list(session, actor, is_closed=is_closed, kind=kind, category=category)
    return [PostRead.model_validate(p) for p in posts]


@router.post("/exchange/{post_id}/close")
def close(post_id: int, data: PostClose, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> PostRead:
    return PostRead.model_validate(svc.exchange.close(session, actor, post_id, data))


@router.post("/exchange/{post_id}/make-available", summary="Enable a capacity offer's printers for dispatch")
def make_available(post_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> PostRead:
    return PostRead.model_validate(svc.exchange.make_available(session, actor, post_id))
