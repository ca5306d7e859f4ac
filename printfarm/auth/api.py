"""Routes for API tokens (admin only) and who-am-I."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.auth.schemas import TokenCreate, TokenCreated, TokenRead

router = APIRouter(tags=["auth"])


class Me(BaseModel):
    role: str
    site_id: int | None
    token_id: int | None
    hospital_id: int | None = None


@router.get("/me", summary="The role and site of the calling token")
def me(actor: ActorDep) -> Me:
    return Me(role=actor.role.value, site_id=actor.site_id, token_id=actor.token_id, hospital_id=actor.hospital_id)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(data: TokenCreate, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> TokenCreated:
    plain, row = svc.tokens.create(
        session, actor, role=data.role, name=data.name, site_id=data.site_id, expires_in_days=data.expires_in_days,
        hospital_id=data.hospital_id,
    )
    return TokenCreated(**TokenRead.model_validate(row).model_dump(), token=plain)


@router.get("/tokens")
def list_tokens(actor: ActorDep, svc: ServicesDep, session: SessionDep) -> list[TokenRead]:
    return [TokenRead.model_validate(t) for t in svc.tokens.list(session, actor)]


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> TokenRead:
    return TokenRead.model_validate(svc.tokens.revoke(session, actor, token_id))
