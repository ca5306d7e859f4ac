"""`printfarm printers acknowledge ID`: an operator looked at a printer in fault (audited)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from printfarm.auth.rules import Actor, Role
from printfarm.cli.common import open_services, reported_errors


def acknowledge(printer_id: Annotated[int, typer.Argument(help="Printer id")]) -> None:
    """Acknowledge a printer's fault: plates may start there again once it answers."""
    services = open_services()
    actor = Actor(role=Role.ADMIN, label=f"cli:{getpass.getuser()}")
    try:
        with reported_errors(), services.db.unit_of_work() as session:
            printer = services.printers.acknowledge_fault(session, actor, printer_id)
            state = printer.connection.value
    finally:
        services.db.dispose()
    typer.echo(f"printer {printer_id}: fault acknowledged; {state} until it answers")
