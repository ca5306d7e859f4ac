"""Write and read audit events; every mutation calls record()."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from printfarm.auth.rules import Action, Actor, require
from printfarm.db.tables import AuditEvent


def record(
    session: Session,
    actor: Actor,
    now: dt.datetime,
    action: str,
    object_type: str,
    object_id: int | None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            at=now,
            actor_token_id=actor.token_id,
            actor=actor.label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail,
        )
    )


def list_events(session: Session, actor: Actor, limit: int = 100, before_id: int | None = None) -> list[AuditEvent]:
    require(actor, Action.READ_AUDIT)
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(session.scalars(query))
