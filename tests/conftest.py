"""Shared fixtures: a clean migrated database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from printfarm.db.base import Base
from printfarm.db.migrate import upgrade
from printfarm.db.session import make_engine

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
POSTGRES_URL = os.environ.get("PRINTFARM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    """The test database, migrated from an empty schema once per session. Absence is a failure."""
    engine = make_engine(POSTGRES_URL)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.OperationalError as err:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {err}. Start it (see README).")
    upgrade(engine)
    engine.dispose()
    return POSTGRES_URL


def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A clean, migrated database: a fresh SQLite file, or the PostgreSQL test database emptied.

    After the test, its printers' timelines are checked: no plate ever started on a printer in fault.
    """
    if request.param == "sqlite":
        path = tmp_path / "printfarm.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_migrated")
        _truncate_all(url)
    yield url
    started_in_fault = plates_started_in_a_fault(url)
    assert not started_in_fault, f"plates started on a printer in fault (printer, job): {started_in_fault}"


def plates_started_in_a_fault(url: str) -> list[tuple[int, int | None]]:
    """(printer, job) of every plate_started between a fault and its acknowledgement, in timeline order."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("printer_timeline"):
                return []
            rows = connection.execute(sa.text(
                "SELECT printer_id, kind, job_id FROM printer_timeline ORDER BY printer_id, id"
            )).all()
    finally:
        engine.dispose()
    in_fault: set[int] = set()
    found = []
    for printer_id, kind, job_id in rows:
        if kind == "fault":
            in_fault.add(printer_id)
        elif kind == "fault_acknowledged":
            in_fault.discard(printer_id)
        elif kind == "plate_started" and printer_id in in_fault:
            found.append((printer_id, job_id))
    return found


@pytest.fixture
def new_world(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """make_world() over this test's database; every world is closed (engine disposed) at teardown."""
    from support.world import World, make_world

    worlds: list[World] = []

    def make() -> World:
        world = make_world(database_url, tmp_path / f"world-{len(worlds)}")
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.close()
