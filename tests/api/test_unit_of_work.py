"""The request's unit of work (api/deps.py SessionDep): commit before the response, rollback on error."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from printfarm.api.deps import ActorDep, SessionDep, get_session
from printfarm.auth.rules import SYSTEM
from printfarm.db.session import after_commit
from printfarm.db.tables import Site
from printfarm.errors import NotFound
from printfarm.registry.schemas import SiteCreate

#: What the framework would do without scope="function": end the unit of work after the response.
LateSession = Annotated[Session, Depends(get_session)]


@pytest.fixture
def world(new_world):
    world = new_world()
    world.ok("admin", "POST", "/api/sites", json={"name": "acme"})
    world.events = []
    _add_probe_routes(world)
    return world


def _site_exists(world, name: str) -> bool:
    """Asked on a connection of its own, as a second client would."""
    with world.services.db.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Site).where(Site.name == name)) == 1


def _add_probe_routes(world) -> None:
    app: FastAPI = world.client.app
    registry, events = world.services.registry, world.events

    def create_with_callback(session: Session, name: str) -> None:
        registry.create_site(session, SYSTEM, SiteCreate(name=name))
        after_commit(session, lambda: events.append(("after_commit", _site_exists(world, name))))

    @app.post("/api/probe/create/{name}")
    def create(name: str, actor: ActorDep, session: SessionDep) -> dict[str, str]:
        create_with_callback(session, name)
        return {"name": name}

    @app.post("/api/probe/create-late/{name}")
    def create_late(name: str, session: LateSession) -> dict[str, str]:
        create_with_callback(session, name)
        return {"name": name}

    @app.post("/api/probe/create-then-fail/{name}")
    def create_then_fail(name: str, actor: ActorDep, session: SessionDep) -> dict[str, str]:
        create_with_callback(session, name)
        raise NotFound(f"thing {name} does not exist")

    @app.post("/api/probe/clash-at-commit")
    def clash_at_commit(actor: ActorDep, session: SessionDep) -> dict[str, bool]:
        # Added, never flushed: the unique name clashes only when the commit flushes it.
        session.add(Site(name="acme", created_at=world.services.clock.now()))
        after_commit(session, lambda: events.append(("after_commit", True)))
        return {"saved": True}


def _watching(world, app: ASGIApp) -> ASGIApp:
    """app, noting in world.events whether the site "probe" is committed when the response starts."""

    async def watched(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                world.events.append(("response_start", _site_exists(world, "probe")))
            await send(message)

        await app(scope, receive, send_and_note)

    return watched


def _post(world, path: str, **kwargs: Any) -> Any:
    client = TestClient(_watching(world, world.client.app), raise_server_exceptions=False)
    return client.post(path, headers=world.headers("admin"), **kwargs)


def test_a_write_is_committed_and_its_callbacks_run_before_the_response_starts(world):
    response = _post(world, "/api/probe/create/probe")
    assert response.status_code == 200, response.text
    assert world.events == [("after_commit", True), ("response_start", True)]


def test_a_real_route_commits_before_its_response_starts(world):
    response = _post(world, "/api/sites", json={"name": "probe"})
    assert response.status_code == 201, response.text
    assert world.events == [("response_start", True)]


def test_the_probe_sees_the_difference_under_the_frameworks_default_scope(world):
    # The default scope commits after the response has gone: the probe above would catch that.
    response = _post(world, "/api/probe/create-late/probe")
    assert response.status_code == 200, response.text
    assert world.events == [("response_start", False), ("after_commit", True)]


def test_an_error_in_the_route_rolls_back_and_reaches_the_error_handlers(world):
    response = _post(world, "/api/probe/create-then-fail/probe")
    assert response.status_code == 404
    assert response.json() == {"error": "NotFound", "detail": "thing probe does not exist"}
    assert not _site_exists(world, "probe")
    assert world.events == [("response_start", False)]  # no after_commit callback


def test_an_error_at_commit_is_a_conflict_not_a_silent_success(world):
    response = _post(world, "/api/probe/clash-at-commit")
    assert response.status_code == 409, response.text
    assert response.json() == {"error": "Conflict", "detail": "the request clashes with a concurrent change; retry"}
    assert [s["name"] for s in world.ok("admin", "GET", "/api/sites")] == ["acme"]
    assert world.events == [("response_start", False)]  # no after_commit callback


def test_an_unknown_token_is_refused_before_the_route_writes(world):
    response = TestClient(world.client.app).post(
        "/api/probe/create/probe", headers={"Authorization": "Bearer pf_unknown"}
    )
    assert response.status_code == 401
    assert response.json() == {"error": "AuthError", "detail": "unknown token"}
    assert not _site_exists(world, "probe")
    assert world.events == []
