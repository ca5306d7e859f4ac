"""FastAPI dependencies: the services, the request's unit of work and the authenticated actor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from printfarm.auth.rules import Actor
from printfarm.errors import AuthError
from printfarm.services import Services

_bearer = HTTPBearer(auto_error=False, description="An API token: `printfarm token create --role ROLE`")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_session(request: Request) -> Iterator[Session]:
    """The request's one unit of work: commits when the route returns, rolls back when it raises.

    Used through SessionDep, whose scope="function" ends it after the route and its response model
    have run but BEFORE the response is sent: a client that reads right after a write sees it, and an
    error at commit (a constraint the flush meets only then) reaches the error handlers as a 4xx
    instead of following a 200 already on the wire. FastAPI's default scope ("request") would commit
    after the response (tests/api/test_unit_of_work.py shows both). after_commit callbacks run here,
    once the commit is done.

    FastAPI runs this generator's two halves and a sync route each in a worker thread, one after the
    other and never at once: the session changes threads only between those steps, never while in use.
    """
    with get_services(request).db.unit_of_work() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: SessionDep,
) -> Actor:
    """The actor of the bearer token (or the dashboard's cookie), read in the request's unit of work."""
    token = credentials.credentials if credentials else request.cookies.get("printfarm_token")
    if not token:
        raise AuthError("no token: send Authorization: Bearer <token>")
    address = request.client.host if request.client else "unknown"
    return get_services(request).tokens.authenticate_from(session, token, address)


ServicesDep = Annotated[Services, Depends(get_services)]
ActorDep = Annotated[Actor, Depends(get_actor)]
