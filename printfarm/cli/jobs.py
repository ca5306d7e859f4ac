"""`printfarm jobs|printers|sites ...`: operate the farm from a shell (cancel, pause, maintenance, drain).

Commands act on the configured database with the full rights of an admin and are audited as
`cli:<user>`; printer calls (cancel, pause, resume) go to the printers as the service's would.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.orm import Session

from printfarm.auth.rules import Actor, Role
from printfarm.cli.common import EXIT_FAILED, EXIT_USAGE, open_services
from printfarm.errors import PrintfarmError
from printfarm.jobs.rules import JobState
from printfarm.services import Services

jobs_app = typer.Typer(help="Print jobs: list, cancel, pause, resume.", no_args_is_help=True)
printers_app = typer.Typer(help="Printers: list, maintenance mode.", no_args_is_help=True)
sites_app = typer.Typer(help="Sites: drain, resume, dispatch settings.", no_args_is_help=True)

T = TypeVar("T")


def _actor() -> Actor:
    return Actor(role=Role.ADMIN, label=f"cli:{getpass.getuser()}")


@contextmanager
def _services() -> Iterator[Services]:
    services = open_services()
    try:
        yield services
    finally:
        services.db.dispose()


def _run(work: Callable[[Services, Session, Actor], T]) -> T:
    """One unit of work; a printfarm error becomes its message and exit code 1 (nothing changed)."""
    with _services() as services:
        try:
            with services.db.unit_of_work() as session:
                return work(services, session, _actor())
        except PrintfarmError as err:
            typer.echo(f"printfarm: {type(err).__name__}: {err}", err=True)
            raise typer.Exit(EXIT_FAILED) from err


def _emit(rows: list[dict[str, Any]], as_json: bool, columns: list[str], *, none: str) -> None:
    """One line per row (or JSON object); no rows says none on stderr, so a pipe still gets no lines."""
    if not rows and not as_json:
        typer.echo(f"printfarm: {none}", err=True)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, default=str))
        return
    for row in rows:
        typer.echo("  ".join(f"{key}={row[key]}" for key in columns if row.get(key) is not None))


def _job_row(job: Any) -> dict[str, Any]:
    return {
        "id": job.id, "state": job.state.value, "printer": job.printer_id, "batch": job.batch_id,
        "progress": job.progress_percent, "file": job.remote_filename, "reason": job.failure_reason,
    }


# -- jobs -------------------------------------------------------------------------------------


@jobs_app.command("list")
def jobs_list(
    state: Annotated[JobState | None, typer.Option(help="Only jobs in this state")] = None,
    printer: Annotated[int | None, typer.Option(help="Only this printer's jobs")] = None,
    batch: Annotated[int | None, typer.Option(help="Only this batch's jobs")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many jobs")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Print jobs (plates on printers), newest first, with state, printer, batch and progress."""
    rows = _run(lambda s, session, actor: [
        _job_row(j) for j in s.jobs.list(session, actor, state=state, printer_id=printer, batch_id=batch, limit=limit)
    ])
    filtered = state is not None or printer is not None or batch is not None
    _emit(rows, as_json, ["id", "state", "printer", "batch", "progress", "file", "reason"],
          none="no print jobs match" if filtered else "no print jobs yet (the scheduler makes them from batches)")


def _job_command(name: str) -> Callable[[int], None]:
    def command(job_id: Annotated[int, typer.Argument(help="Print job id")]) -> None:
        job = _run(lambda s, session, actor: _job_row(getattr(s.jobs, name)(session, actor, job_id)))
        typer.echo(f"job {job['id']}: {job['state']} (printer {job['printer']})")

    command.__doc__ = {
        "cancel": "Cancel a plate (on its printer too); its units go back to the batch.",
        "pause": "Pause a printing plate.",
        "resume": "Resume a paused plate.",
    }[name]
    return command


for _name in ("cancel", "pause", "resume"):
    jobs_app.command(_name)(_job_command(_name))


# -- printers ---------------------------------------------------------------------------------


@printers_app.command("list")
def printers_list(
    site: Annotated[int | None, typer.Option(help="Only this site's printers")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Printers with their state and current job."""
    def work(s: Services, session: Session, actor: Actor) -> list[dict[str, Any]]:
        reads = s.printers.read_models(session, s.printers.list(session, actor, site))
        return [
            {
                "id": p.id, "site": p.site_id, "name": p.name, "connection": p.connection, "enabled": p.is_enabled,
                "bed_clear": p.is_bed_clear, "job": p.current_job.id if p.current_job else None,
                "disabled_reason": p.disabled_reason,
            }
            for p in reads
        ]

    _emit(_run(work), as_json, ["id", "site", "name", "connection", "enabled", "bed_clear", "job", "disabled_reason"],
          none=f"no printers at site {site}" if site is not None else "no printers registered yet")


@printers_app.command("maintenance")
def printers_maintenance(
    printer_id: Annotated[int, typer.Argument(help="Printer id")],
    reason: Annotated[str, typer.Option(help="Why, shown to operators")] = "maintenance",
) -> None:
    """Put a printer in maintenance: it finishes its plate and gets no new ones."""
    from printfarm.printers.schemas import PrinterUpdate

    update = _validated(lambda: PrinterUpdate(is_enabled=False, disabled_reason=reason))
    _run(lambda s, session, actor: s.printers.update(session, actor, printer_id, update))
    typer.echo(f"printer {printer_id}: in maintenance ({reason})")


@printers_app.command("enable")
def printers_enable(printer_id: Annotated[int, typer.Argument(help="Printer id")]) -> None:
    """Take a printer out of maintenance (or re-enable one disabled after failed starts)."""
    from printfarm.printers.schemas import PrinterUpdate

    _run(lambda s, session, actor: s.printers.update(session, actor, printer_id, PrinterUpdate(is_enabled=True)))
    typer.echo(f"printer {printer_id}: enabled")


# -- sites ------------------------------------------------------------------------------------


@sites_app.command("drain")
def sites_drain(site_id: Annotated[int, typer.Argument(help="Site id")]) -> None:
    """Finish the plates on the site's printers and start no new ones."""
    _run(lambda s, session, actor: s.registry.set_site_paused(session, actor, site_id, True))
    typer.echo(f"site {site_id}: draining (no new plates)")


@sites_app.command("resume")
def sites_resume(site_id: Annotated[int, typer.Argument(help="Site id")]) -> None:
    """Start plates at a drained site again."""
    _run(lambda s, session, actor: s.registry.set_site_paused(session, actor, site_id, False))
    typer.echo(f"site {site_id}: taking plates")


@sites_app.command("settings")
def sites_settings(
    site_id: Annotated[int, typer.Argument(help="Site id")],
    allowed_parts: Annotated[str | None, typer.Option(help="Comma-separated part ids, or 'all'")] = None,
    hours: Annotated[str | None, typer.Option(help="Working hours HH:MM-HH:MM (local), or 'always'")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA zone of the hours, e.g. Europe/Stockholm")] = None,
    stagger: Annotated[str | None, typer.Option(help="At most K heat-ups in M seconds as K/M, or 'none'")] = None,
) -> None:
    """Show a site's dispatch settings, or change the ones given (the others stay)."""
    from printfarm.registry.schemas import SiteDispatchSettings

    def work(s: Services, session: Session, actor: Actor) -> dict[str, Any]:
        site = s.registry.get_site(session, actor, site_id)
        current = {key: getattr(site, key) for key in SiteDispatchSettings.model_fields}
        changes = _parse_settings(allowed_parts, hours, timezone, stagger)
        if changes:
            data = _validated(lambda: SiteDispatchSettings(**{**current, **changes}))
            site = s.registry.set_dispatch_settings(session, actor, site_id, data)
        return {key: getattr(site, key) for key in SiteDispatchSettings.model_fields}

    for key, value in _run(work).items():
        typer.echo(f"{key}: {value.isoformat() if isinstance(value, dt.time) else value}")


def _parse_settings(allowed: str | None, hours: str | None, zone: str | None, stagger: str | None) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    try:
        if allowed is not None:
            changes["allowed_part_ids"] = None if allowed == "all" else [int(p) for p in allowed.split(",") if p.strip()]
        if hours is not None:
            if hours == "always":
                changes["work_starts_at"] = changes["work_ends_at"] = None
            else:
                start, end = hours.split("-")
                changes["work_starts_at"], changes["work_ends_at"] = dt.time.fromisoformat(start), dt.time.fromisoformat(end)
        if stagger is not None:
            if stagger == "none":
                changes["heatup_max_starts"] = changes["heatup_window_seconds"] = None
            else:
                count, seconds = stagger.split("/")
                changes["heatup_max_starts"], changes["heatup_window_seconds"] = int(count), int(seconds)
    except ValueError as err:
        typer.echo(f"printfarm: sites settings: {err} (see --help for the formats)", err=True)
        raise typer.Exit(EXIT_USAGE) from err
    if zone is not None:
        changes["timezone"] = zone
    return changes


def _validated(build: Callable[[], T]) -> T:
    try:
        return build()
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in err.errors())
        typer.echo(f"printfarm: {problems}", err=True)
        raise typer.Exit(EXIT_USAGE) from err
