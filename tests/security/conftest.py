"""A world whose settings and clock a security test chooses (limits, networks, a frozen clock)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.world import World

from printfarm.adapters.octoprint.fake import FakePrinterFleet
from printfarm.app import create_app
from printfarm.auth.rules import SYSTEM, Role
from printfarm.clock import Clock
from printfarm.settings import Settings


@pytest.fixture
def configured_world(database_url: str, tmp_path: Path) -> Iterator[Callable[..., World]]:
    """configured_world(clock=None, **settings) -> a World with an admin token, over this test's database."""
    worlds: list[World] = []

    def make(clock: Clock | None = None, **settings: Any) -> World:
        fleet = FakePrinterFleet()
        app = create_app(
            Settings(data_dir=tmp_path / f"world-{len(worlds)}", database_url=database_url, **settings),
            run_background=False, printer_clients=fleet, clock=clock,
        )
        world = World(client=TestClient(app, raise_server_exceptions=False), services=app.state.services, fleet=fleet)
        worlds.append(world)
        with world.services.db.unit_of_work() as session:
            world.services.profiles.ensure_catalog(session, SYSTEM)
        world.token_for("admin", Role.ADMIN)
        return world

    yield make
    for world in worlds:
        world.close()
