"""The migration history: one head, and every way to reach it ends at the schema the tables declare."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import POSTGRES_URL

from printfarm.db.base import Base
from printfarm.db.migrate import alembic_config, current_revision, upgrade
from printfarm.db.session import make_engine

#: Where `upgrade heads` left a database before 0019 merged the branches (0018 came after 0008).
OLD_HEADS = ("0005", "0007", "0018")


def test_the_history_has_exactly_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://")))
    assert script.get_heads() == ["0023"]
    # linear from the merge on: every revision after 0019 has one parent
    for revision in script.walk_revisions("0019", "heads"):
        if revision.revision != "0019":
            assert isinstance(revision.down_revision, str), revision.revision


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases of one kind: (a, b)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
        return
    server = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    names = [f"printfarm_migrations_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    try:
        with server.connect() as connection:
            for name in names:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        base = sa.make_url(POSTGRES_URL)
        yield tuple(base.set(database=name).render_as_string(hide_password=False) for name in names)  # type: ignore[misc]
    finally:
        with server.connect() as connection:
            for name in names:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _schema(url: str) -> dict[str, Any]:
    """Tables with their columns, indexes, unique constraints and foreign keys, as comparable data."""
    engine = make_engine(url)
    try:
        inspector = sa.inspect(engine)
        schema: dict[str, Any] = {}
        for table in sorted(inspector.get_table_names()):
            schema[table] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in inspector.get_columns(table)
                ],
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)
                ),
                "uniques": sorted(
                    (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)
                ),
                "foreign_keys": sorted(
                    (f["name"], tuple(f["constrained_columns"]), f["referred_table"])
                    for f in inspector.get_foreign_keys(table)
                ),
            }
        return schema
    finally:
        engine.dispose()


def _differences_from_tables(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()


def test_db_upgrade_from_empty_and_from_the_old_heads_ends_at_one_schema(
    empty_database_urls: tuple[str, str],
) -> None:
    from_empty, from_old_heads = empty_database_urls
    environment = {**os.environ, "PRINTFARM_DATABASE_URL": from_empty}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("printfarm")), "db", "upgrade"],
        env=environment, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "schema up to date" in done.stdout

    # a database deployed before the merge, as `upgrade heads` left it
    engine = make_engine(from_old_heads)
    try:
        for head in OLD_HEADS:
            command.upgrade(alembic_config(engine), head)
        with engine.connect() as connection:
            assert set(MigrationContext.configure(connection).get_current_heads()) == set(OLD_HEADS)
        upgrade(engine)
        assert current_revision(engine) == "0023"
    finally:
        engine.dispose()

    assert _schema(from_old_heads) == _schema(from_empty)
    assert _differences_from_tables(from_empty) == []
