"""What every CLI command needs: validated settings, a reachable migrated database, errors as messages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from sqlalchemy import Engine

from printfarm.auth.rules import Actor, Role
from printfarm.errors import ConfigError, DatabaseUnreachable, PrintfarmError
from printfarm.services import Services
from printfarm.settings import Settings, load_settings

#: The CLI runs on the service's own machine with its database: it acts as an administrator.
CLI_ACTOR = Actor(role=Role.ADMIN, label="cli")

EXIT_FAILED = 1
EXIT_USAGE = 2


def settings_or_exit() -> Settings:
    """The settings, with their data directory in place; a bad value is a message and exit code 2."""
    try:
        settings = load_settings()
    except ConfigError as err:
        typer.echo(f"printfarm: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from err
    _ensure_data_dir(settings)
    return settings


def _ensure_data_dir(settings: Settings) -> None:
    """Create the data directory the first time, and say where it is: data never appears unannounced."""
    if settings.data_dir.is_dir():
        return
    try:
        settings.data_dir.mkdir(parents=True)
    except FileExistsError:
        if settings.data_dir.is_dir():
            return  # another command made it meanwhile
        typer.echo(f"printfarm: PRINTFARM_DATA_DIR={settings.data_dir}: exists and is not a directory", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as err:
        typer.echo(f"printfarm: PRINTFARM_DATA_DIR={settings.data_dir}: cannot create it: {err.strerror}", err=True)
        raise typer.Exit(EXIT_USAGE) from err
    typer.echo(
        f"printfarm: new data directory {settings.data_dir.resolve()} (database, secret key, stored files; "
        "PRINTFARM_DATA_DIR chooses another)",
        err=True,
    )


@contextlib.contextmanager
def database_errors(settings: Settings) -> Iterator[None]:
    """A database that cannot be used becomes one line naming the setting (password hidden), exit code 1."""
    try:
        yield
    except DatabaseUnreachable as err:
        where = (
            "PRINTFARM_DATABASE_URL=" if settings.database_url
            else "PRINTFARM_DATABASE_URL unset, so SQLite in PRINTFARM_DATA_DIR: "
        )
        typer.echo(f"printfarm: {where}{err}", err=True)
        raise typer.Exit(EXIT_FAILED) from err


def open_engine(settings: Settings) -> Engine:
    """An engine over the configured database, connected once (so an unreachable one stops here)."""
    from printfarm.db.session import check_connection, make_engine

    with database_errors(settings):
        engine = make_engine(settings.effective_database_url)
        check_connection(engine)
    return engine


def prepare(services: Services, actor: Actor = CLI_ACTOR) -> Services:
    """Reach services' database, migrate it to the newest schema and add the shipped printer profiles."""
    from printfarm.db.migrate import upgrade
    from printfarm.db.session import check_connection

    with database_errors(services.settings):
        check_connection(services.db.engine)
    upgrade(services.db.engine)
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, actor)
    return services


def open_services() -> Services:
    """Services over the configured database, reached and migrated to the newest schema."""
    from printfarm.wiring import build_services

    settings = settings_or_exit()
    with database_errors(settings):
        services = build_services(settings)
    return prepare(services)


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn printfarm errors into a one-line message and exit code 1, never a traceback."""
    try:
        yield
    except PrintfarmError as err:
        typer.echo(f"printfarm: {type(err).__name__}: {err}", err=True)
        raise typer.Exit(EXIT_FAILED) from err
