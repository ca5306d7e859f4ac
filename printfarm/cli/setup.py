"""`printfarm sites add|list`, `printfarm hospitals add|list`, `printfarm printers add`: set up a farm from a shell.

Thin like every command: parse, call the registry or printer service as the API does, print. They
act as an administrator on the configured database (audited as `cli:<user>`). `printers add` calls
the printer first, as the API and the dashboard do: an unreachable printer or a refused key is
refused with the service's message (exit 1) and nothing is saved.
"""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import SecretStr

from printfarm.cli import jobs
from printfarm.printers.schemas import PrinterCreate
from printfarm.registry.schemas import HospitalCreate, SiteCreate

hospitals_app = typer.Typer(help="Hospitals: add, list.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add these commands to the `printfarm` app: `sites` and `printers` exist, `hospitals` is new."""
    jobs.sites_app.command("add")(sites_add)
    jobs.sites_app.command("list")(sites_list)
    jobs.printers_app.command("add")(printers_add)
    app.add_typer(hospitals_app, name="hospitals")


def sites_add(
    name: Annotated[str, typer.Argument(help="Site name, e.g. 'Makerspace Lund'")],
    city: Annotated[str | None, typer.Option(help="City, shown on the dashboard")] = None,
    latitude: Annotated[float | None, typer.Option(help="Degrees, -90 to 90")] = None,
    longitude: Annotated[float | None, typer.Option(help="Degrees, -180 to 180")] = None,
    auto_accept_qc: Annotated[bool, typer.Option(help="Count finished plates as good without an operator's QC")] = False,
) -> None:
    """Add a site (a workshop with printers); prints its id, which operators' tokens and printers name."""
    data = jobs._validated(lambda: SiteCreate(
        name=name, city=city, latitude=latitude, longitude=longitude, auto_accept_qc=auto_accept_qc,
    ))
    site = jobs._run(lambda s, session, actor: s.registry.create_site(session, actor, data))
    typer.echo(f"site {site.id}: {site.name}" + (f" ({site.city})" if site.city else ""))


def sites_list() -> None:
    """Every site with its id and whether it is drained."""
    rows = jobs._run(lambda s, session, actor: [
        (site.id, site.name, site.city, site.is_paused) for site in s.registry.list_sites(session, actor)
    ])
    if not rows:
        typer.echo("no sites yet: printfarm sites add NAME", err=True)
    for site_id, name, city, is_paused in rows:
        typer.echo(f"{site_id:>4}  {name:<30} {city or '-':<20} {'draining' if is_paused else 'taking plates'}")


@hospitals_app.command("add")
def hospitals_add(
    name: Annotated[str, typer.Argument(help="Hospital name")],
    city: Annotated[str | None, typer.Option(help="City")] = None,
    address: Annotated[str | None, typer.Option(help="Delivery address")] = None,
    contact: Annotated[str | None, typer.Option(help="Who receives deliveries")] = None,
) -> None:
    """Add a hospital that batches are printed for; prints its id."""
    data = jobs._validated(lambda: HospitalCreate(name=name, city=city, address=address, contact=contact))
    hospital = jobs._run(lambda s, session, actor: s.registry.create_hospital(session, actor, data))
    typer.echo(f"hospital {hospital.id}: {hospital.name}" + (f" ({hospital.city})" if hospital.city else ""))


@hospitals_app.command("list")
def hospitals_list() -> None:
    """Every hospital with its id."""
    rows = jobs._run(lambda s, session, actor: [
        (h.id, h.name, h.city) for h in s.registry.list_hospitals(session, actor)
    ])
    if not rows:
        typer.echo("no hospitals yet: printfarm hospitals add NAME", err=True)
    for hospital_id, name, city in rows:
        typer.echo(f"{hospital_id:>4}  {name:<40} {city or '-'}")


def printers_add(
    name: Annotated[str, typer.Argument(help="Printer name, unique at its site")],
    site: Annotated[int, typer.Option(help="Site id (printfarm sites list)")],
    profile: Annotated[str, typer.Option(help="Printer profile, e.g. prusa-mk3s-0.4")],
    url: Annotated[str | None, typer.Option(help="OctoPrint's address, http(s)://host:port (not with --gateway)")] = None,
    api_key: Annotated[str | None, typer.Option(
        envvar="PRINTFARM_PRINTER_API_KEY",
        help="OctoPrint's application key; asked for when not given (keeps it out of the shell history)",
    )] = None,
    gateway: Annotated[bool, typer.Option(
        "--gateway", help="Reached through its site's gateway (`printfarm gateway`): no URL or key here, "
        "they stay in the gateway's config under this name",
    )] = False,
    material: Annotated[str, typer.Option(help="Filament loaded now")] = "PLA",
    mqtt_base_topic: Annotated[str | None, typer.Option(help="Its OctoPrint-MQTT base topic; default printfarm/SITE/PRINTER/")] = None,
) -> None:
    """Add a printer after it answered with this key (directly, or through its site's gateway);
    an unreachable printer or a refused key saves nothing."""
    if not gateway and api_key is None and url is not None:
        api_key = typer.prompt("Api key", hide_input=True)
    data = jobs._validated(lambda: PrinterCreate(
        site_id=site, name=name, base_url=url, api_key=SecretStr(api_key) if api_key is not None else None,
        profile=profile, loaded_material=material, mqtt_base_topic=mqtt_base_topic,
        kind="gateway" if gateway else None,
    ))
    printer = jobs._run(lambda s, session, actor: s.printers.register(session, actor, data))
    typer.echo(f"printer {printer.id}: {printer.name} at site {printer.site_id}, {printer.base_url} answered; "
               f"MQTT base topic {printer.mqtt_base_topic}")
