"""What every CLI command needs: validated settings, migrated services, errors as messages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer

from printfarm.auth.rules import Actor, Role
from printfarm.errors import ConfigError, PrintfarmError
from printfarm.services import Services
from printfarm.settings import Settings, load_settings

#: The CLI runs on the service's own machine with its database: it acts as an administrator.
CLI_ACTOR = Actor(role=Role.ADMIN, label="cli")


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as err:
        typer.echo(f"printfarm: {err}", err=True)
        raise typer.Exit(2) from err


def open_services() -> Services:
    """Services over the configured database, migrated to the newest schema."""
    from printfarm.wiring import build_services
    from printfarm.db.migrate import upgrade

    services = build_services(settings_or_exit())
    upgrade(services.db.engine)
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, CLI_ACTOR)
    return services


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn printfarm errors into a one-line message and exit code 1, never a traceback."""
    try:
        yield
    except PrintfarmError as err:
        typer.echo(f"printfarm: {type(err).__name__}: {err}", err=True)
        raise typer.Exit(1) from err
