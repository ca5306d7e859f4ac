"""`printfarm notify ...`: who is told what, through which channel (Apprise URLs), and what was sent.

    printfarm notify add --site 3 'mailto://user:password@smtp.example.org?to=workshop@example.org'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.orm import Session

from printfarm.cli.common import CLI_ACTOR, open_services, reported_errors
from printfarm.notifications.service import NotificationService
from printfarm.errors import InputError
from printfarm.notifications.rules import Audience, NotificationKind, NotificationState
from printfarm.notifications.schemas import ChannelCreate, SiteNotifySettings

app = typer.Typer(help="Notifications: channels per site, hospital or coordinators; the record.",
                  no_args_is_help=True)
T = TypeVar("T")


def _run(work: Callable[[NotificationService, Session], T]) -> T:
    """work in one unit of work of the configured (migrated) database; errors become messages."""
    with reported_errors():
        services = open_services()
        try:
            with services.db.unit_of_work() as session:
                return work(services.notifications, session)
        finally:
            services.db.dispose()


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="An Apprise URL: mailto://, json://, ntfy://, tgram://, ... (kept encrypted)")],
    site: Annotated[int | None, typer.Option(help="Tell this site's operators")] = None,
    hospital: Annotated[int | None, typer.Option(help="Tell this hospital")] = None,
    coordinators: Annotated[bool, typer.Option("--coordinators", help="Tell the coordinators")] = False,
    kind: Annotated[list[NotificationKind] | None, typer.Option(help="Only this kind (repeatable)")] = None,
    label: Annotated[str | None, typer.Option(help="A name for the channel")] = None,
) -> None:
    """Add a channel for one audience (exactly one of --site, --hospital, --coordinators)."""
    chosen = [a for a, on in ((Audience.SITE, site is not None), (Audience.HOSPITAL, hospital is not None),
                              (Audience.COORDINATORS, coordinators)) if on]
    if len(chosen) != 1:
        typer.echo("printfarm: give exactly one of --site ID, --hospital ID, --coordinators", err=True)
        raise typer.Exit(2)
    with reported_errors():
        try:
            data = ChannelCreate(url=url, audience=chosen[0], site_id=site, hospital_id=hospital,
                                 kinds=kind or None, label=label)
        except ValidationError as err:
            raise InputError("; ".join(e["msg"] for e in err.errors())) from None  # never echo the URL
    channel = _run(lambda notifications, session: notifications.add_channel(session, CLI_ACTOR, data))
    target = f"site {site}" if site else f"hospital {hospital}" if hospital else "the coordinators"
    typer.echo(f"channel {channel.id}: {channel.display} tells {target}")


@app.command("list")
def list_channels() -> None:
    """Every live channel (scheme and host only: URLs are never shown)."""
    channels = _run(lambda notifications, session: notifications.list_channels(session, CLI_ACTOR))
    for c in channels:
        target = c.site_id or c.hospital_id or ""
        kinds = ",".join(k.value for k in c.kinds) if c.kinds else "all"
        typer.echo(f"{c.id}\t{c.audience.value} {target}\t{c.display}\t{kinds}\t{c.label or ''}")


@app.command("remove")
def remove(channel_id: Annotated[int, typer.Argument(help="The channel's id (see `notify list`)")]) -> None:
    """Stop a channel; its pending notifications are cancelled."""
    _run(lambda notifications, session: notifications.remove_channel(session, CLI_ACTOR, channel_id))
    typer.echo(f"channel {channel_id} removed")


@app.command("site-delay")
def site_delay(
    site: Annotated[int, typer.Argument(help="The site's id")],
    delay_seconds: Annotated[int, typer.Option(help="After a plate finished, before its operators hear")] = 600,
    reminder_seconds: Annotated[int, typer.Option(help="Between the notice and each reminder")] = 1800,
    reminders: Annotated[int, typer.Option(help="Reminders after the first notice")] = 1,
) -> None:
    """When a site's operators hear of a plate waiting on its bed."""
    with reported_errors():
        try:
            data = SiteNotifySettings(bed_wait_delay_seconds=delay_seconds, bed_reminder_seconds=reminder_seconds,
                                      bed_reminders=reminders)
        except ValidationError as err:
            raise InputError(str(err)) from None
    _run(lambda notifications, session: notifications.set_site_settings(session, CLI_ACTOR, site, data))
    typer.echo(f"site {site}: first notice {delay_seconds} s after a plate finishes, "
               f"{reminders} reminder(s) every {reminder_seconds} s")


@app.command("log")
def log(
    state: Annotated[NotificationState | None, typer.Option(help="Only this state")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Notifications, newest first: state, attempts and why the last attempt failed."""
    rows = _run(lambda notifications, session: notifications.list_notifications(
        session, CLI_ACTOR, state=state, limit=limit))
    for n in rows:
        why = f"\t{n.last_error}" if n.last_error else ""
        typer.echo(f"{n.id}\t{n.state.value}\t{n.kind.value}\tchannel {n.channel_id}\t{n.attempts} attempts\t"
                   f"{n.title}{why}")


@app.command("send")
def send() -> None:
    """Send what is due now (a server's task does this every few seconds)."""
    report = _run(lambda notifications, _session: notifications.send_due())
    typer.echo(f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}, "
               f"cancelled {report.cancelled}")
