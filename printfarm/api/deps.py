"""FastAPI dependencies: the services and the authenticated actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from printfarm.auth.rules import Actor
from printfarm.errors import AuthError
from printfarm.services import Services

_bearer = HTTPBearer(auto_error=False, description="An API token: `printfarm token create --role ROLE`")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    token = credentials.credentials if credentials else request.cookies.get("printfarm_token")
    if not token:
        raise AuthError("no token: send Authorization: Bearer <token>")
    services = get_services(request)
    with services.db.unit_of_work() as session:
        address = request.client.host if request.client else "unknown"
        return services.tokens.authenticate_from(session, token, address)


ServicesDep = Annotated[Services, Depends(get_services)]
ActorDep = Annotated[Actor, Depends(get_actor)]
