"""Route for the audit log (admin only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.audit.service import list_events

router = APIRouter(tags=["audit"])


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: int | None
    detail: dict[str, Any] | None


@router.get("/audit")
def audit_log(
    actor: ActorDep, svc: ServicesDep, session: SessionDep, limit: int = Query(100, ge=1, le=1000),
    before_id: int | None = None,
) -> list[AuditRead]:
    return [AuditRead.model_validate(e) for e in list_events(session, actor, limit, before_id)]
