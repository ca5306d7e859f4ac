"""`printfarm ...`: thin commands that parse, call a service and print."""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
from typing import Annotated

import typer

from printfarm.auth.rules import SYSTEM, Role
from printfarm.cli.common import database_errors, open_engine, open_services, prepare, reported_errors, settings_or_exit
from printfarm.cli.help import plain_help
from printfarm.cli.terminal import LinesNotRedraws
from printfarm.errors import PrintfarmError

app = typer.Typer(
    help="printfarm: orchestrate face-shield printing across many sites' OctoPrint printers.\n\n"
    "Start with `printfarm demo` to watch a simulated farm print a hospital's batch.\n\n"
    "Commands keep their database, secret key and files in PRINTFARM_DATA_DIR (default "
    "~/.local/share/printfarm), or use the database PRINTFARM_DATABASE_URL names; settings come from "
    "PRINTFARM_* variables and the TOML file PRINTFARM_CONFIG names.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")


def _logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("amqtt", "transitions", "apscheduler.executors", "apscheduler.scheduler", "uvicorn.access",
                  "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest revision.

    The database is PRINTFARM_DATABASE_URL's, else a SQLite file in PRINTFARM_DATA_DIR.
    """
    from printfarm.db.migrate import upgrade

    engine = open_engine(settings_or_exit())
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    typer.echo(f"schema up to date on {engine.url.render_as_string(hide_password=True)}")


@token_app.command("create")
def token_create(
    role: Annotated[Role, typer.Option(
        help="admin (everything), coordinator (parts, batches, deliveries), operator (one site's printers: "
        "--site), hospital (one hospital's requests: --hospital) or viewer (read only)"
    )],
    site: Annotated[int | None, typer.Option(help="Site id (operators only)")] = None,
    hospital: Annotated[int | None, typer.Option(help="Hospital id (hospital tokens only)")] = None,
    name: Annotated[str, typer.Option(help="Who or what the token is for")] = "cli",
    expires_in_days: Annotated[int | None, typer.Option(help="Days until it expires")] = None,
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    services = open_services()
    try:
        with reported_errors(), services.db.unit_of_work() as session:
            plain, row = services.tokens.create(
                session, SYSTEM, role=role, name=name, site_id=site, expires_in_days=expires_in_days,
                hospital_id=hospital,
            )
    finally:
        services.db.dispose()  # a pooled connection left open outlives the command
    typer.echo(plain)
    typer.echo(
        f"token {row.id}: role {role.value}" + (f", site {site}" if site else "")
        + (f", hospital {hospital}" if hospital else ""),
        err=True,
    )


def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, routes, schemas, SQL caches) out of every later garbage collection.

    A full collection otherwise walks all of it: 65-105 ms each in bench/dashboard.py, one every ten
    requests of the sites page, and a request that meets one is that page's p95 (p50 15 ms, p95
    84-118 ms on a quiet machine). After the freeze a full collection takes 5-7 ms (p95 21 ms).
    """
    gc.collect()
    gc.freeze()


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: PRINTFARM_HTTP_HOST, else 127.0.0.1)")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default: PRINTFARM_HTTP_PORT, else 8000)")
    ] = None,
) -> None:
    """Run the service: REST API, dashboard, dispatch and MQTT tracking."""
    import uvicorn

    from printfarm.app import create_app

    settings = settings_or_exit()
    _logging(settings.log_level)
    with database_errors(settings):
        app_ = create_app(settings)
    services = prepare(app_.state.services, SYSTEM)  # an unreachable database stops here, before listening
    with services.db.unit_of_work() as session:
        if not services.tokens.has_tokens(session):
            plain, _ = services.tokens.create(session, SYSTEM, role=Role.ADMIN, name="first admin")
            typer.echo(f"First start: admin token (shown once, keep it): {plain}")
    freeze_startup_objects()
    uvicorn.run(app_, host=host or settings.http_host, port=port or settings.http_port, log_level="info")


@app.command()
def demo(
    units: Annotated[int, typer.Option(min=1, max=10_000, help="Good units the first hospital's batch asks for")] = 96,
    exit_when_done: Annotated[bool, typer.Option(help="Print one batch, deliver it and exit (otherwise: until Ctrl-C)")] = False,
    sites: Annotated[int, typer.Option(min=1, max=20, help="Simulated sites")] = 3,
    printers_per_site: Annotated[int, typer.Option(min=1, max=20, help="Simulated printers per site")] = 3,
    time_scale: Annotated[float, typer.Option(min=1, help="How much faster than real time the printers print")] = 900,
    reject_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of plates with one rejected unit")] = 0.0,
    timeout_seconds: Annotated[float, typer.Option(min=10, help="With --exit-when-done: give up (exit 1) after this long")] = 600,
    operator_wait: Annotated[float, typer.Option(
        min=0, help="Until Ctrl-C: seconds a finished plate waits for you to clear it before the simulated operators do",
    )] = 20,
    gateway_site: Annotated[bool, typer.Option(
        "--gateway-site", help="Put one site's printers behind a site gateway (printfarm gateway, in-process; needs "
        "mosquitto installed, or PRINTFARM_MQTT_URL)",
    )] = False,
) -> None:
    """Run printfarm on embedded defaults with a simulated farm printing hospitals' face-shield frames until Ctrl-C."""
    from printfarm.demo import DemoOptions, run_demo

    options = DemoOptions(
        units=units, exit_when_done=exit_when_done, sites=sites, printers_per_site=printers_per_site,
        time_scale=time_scale, reject_rate=reject_rate, timeout_seconds=timeout_seconds,
        operator_wait_seconds=operator_wait, gateway_site=gateway_site,
    )
    _logging("WARNING")
    stdout = sys.stdout if sys.stdout.isatty() else LinesNotRedraws(sys.stdout)
    with reported_errors(), contextlib.redirect_stdout(stdout):
        code = run_demo(options)
    raise typer.Exit(code)


def _register_optional_commands() -> None:
    """Sub-apps owned by feature modules."""
    from printfarm.cli import backup, secrets

    app.add_typer(secrets.app, name="secrets")
    app.command("backup")(backup.backup)
    app.command("restore")(backup.restore)
    from printfarm.cli import parts, stl

    app.add_typer(stl.app, name="stl")
    app.add_typer(parts.parts_app, name="parts")
    app.add_typer(parts.printfiles_app, name="printfiles")
    from printfarm.cli import health, jobs, notify

    app.add_typer(notify.app, name="notify")
    app.add_typer(jobs.jobs_app, name="jobs")
    app.add_typer(jobs.printers_app, name="printers")
    jobs.printers_app.command("acknowledge")(health.acknowledge)
    app.add_typer(jobs.sites_app, name="sites")
    from printfarm.cli import setup

    setup.register(app)  # sites add|list, hospitals add|list, printers add
    from printfarm.cli import broker_users

    broker_users.register()  # sites gateway-config, sites central-broker-user
    from printfarm.cli import gateway

    app.command("gateway", help=gateway.HELP)(gateway.gateway)


def main() -> None:
    _register_optional_commands()
    command = typer.main.get_command(app)
    plain_help(command)
    try:
        command()
    except PrintfarmError as err:
        typer.echo(f"printfarm: {type(err).__name__}: {err}", err=True)
        sys.exit(1)
