"""Alembic environment: runs migrations on the engine printfarm hands over."""

from __future__ import annotations

from alembic import context

from printfarm.db import tables  # noqa: F401  (registers every table on the metadata)
from printfarm.db.base import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
