"""`printfarm backup PATH` and `printfarm restore PATH`: the database and the file store, online."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from printfarm.cli.common import open_engine, reported_errors, settings_or_exit


def backup(
    path: Annotated[Path, typer.Argument(help="A new (or empty) directory to write the backup into")],
) -> None:
    """Back up the database (SQLite online backup, or pg_dump) and the file store; the service may keep running."""
    from printfarm.db import backup as backups

    settings = settings_or_exit()
    engine = open_engine(settings)
    try:
        with reported_errors():
            summary = backups.backup(engine, settings.file_store_dir, path)
    finally:
        engine.dispose()
    typer.echo(
        f"backup of the {summary.engine} database in {summary.path}: {sum(summary.counts.values())} rows in "
        f"{len(summary.counts)} tables, {summary.files} stored files (the secret key is not included: keep it apart)"
    )


def restore(
    path: Annotated[Path, typer.Argument(help="A directory written by `printfarm backup`")],
    force: Annotated[bool, typer.Option(help="Replace a database that already holds data")] = False,
) -> None:
    """Restore a backup into the configured database and file store, then check every table's row count."""
    from printfarm.db import backup as backups

    settings = settings_or_exit()
    engine = open_engine(settings)
    try:
        with reported_errors():
            summary = backups.restore(engine, settings.file_store_dir, path, force=force)
    finally:
        engine.dispose()
    typer.echo(
        f"restored {summary.path} into the {summary.engine} database: {len(summary.counts)} tables, every row "
        f"count equal to the backup's; {summary.files} stored files added"
    )
