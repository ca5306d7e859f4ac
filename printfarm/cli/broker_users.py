"""`printfarm sites gateway-config SITE`, `printfarm sites central-broker-user`: broker logins, issued in one step.

Each writes a fresh random password into the broker's Mosquitto password file (config/mosquitto-sites.conf
names it) and the matching configuration into a file of its own (mode 0600): a site's gateway TOML, or
the central service's PRINTFARM_MQTT_URL. Passwords are never printed; the commands say where they
wrote them. Both are audited as `cli:<user>`, like every command that changes something.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy.orm import Session

from printfarm.adapters.mqtt.address import BrokerAddress
from printfarm.adapters.mqtt.passwords import replace_file, set_password
from printfarm.auth.rules import Actor
from printfarm.cli import jobs
from printfarm.cli.common import EXIT_USAGE, settings_or_exit
from printfarm.registry.broker_access import CENTRAL_USERNAME, central_env, gateway_config_toml, new_password
from printfarm.services import Services

#: Where the shipped config/mosquitto-sites.conf reads its users from.
DEFAULT_PASSWORD_FILE = Path("/etc/mosquitto/printfarm.passwd")
RELOAD_HINT = "the broker reads it on reload: `systemctl reload mosquitto` (or `kill -HUP` its process)"

PasswordFileOption = Annotated[Path, typer.Option(
    envvar="PRINTFARM_BROKER_PASSWORD_FILE",
    help="The broker's Mosquitto password file (made if missing; the user's line is replaced)",
)]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite the output file if it exists")]


def register() -> None:
    """Add the commands to `printfarm sites`."""
    jobs.sites_app.command("gateway-config")(gateway_config)
    jobs.sites_app.command("central-broker-user")(central_broker_user)


def gateway_config(
    site: Annotated[str, typer.Argument(help="Site id, name or slug (printfarm sites list)")],
    broker_url: Annotated[str | None, typer.Option(
        help="The broker as the site reaches it, e.g. mqtts://broker.example.org:8883 "
        "(default: PRINTFARM_MQTT_URL without its login)",
    )] = None,
    central_url: Annotated[str | None, typer.Option(
        envvar="PRINTFARM_PUBLIC_URL",
        help="printfarm's address as the site reaches it, e.g. https://printfarm.example.org",
    )] = None,
    password_file: PasswordFileOption = DEFAULT_PASSWORD_FILE,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Where to write the gateway's TOML (default: gateway-SLUG.toml here)",
    )] = None,
    ca_file: Annotated[str | None, typer.Option(help="CA file path on the gateway's machine, for a private CA")] = None,
    force: ForceOption = False,
) -> None:
    """Give a site's gateway a new broker password and write its configuration (the old password stops working).

    The site's broker user is its slug; the shipped ACL lets it use printfarm/SLUG/# and nothing else.
    """
    broker = _broker(broker_url)
    if central_url is None or not central_url.startswith(("https://", "http://")):
        _usage("--central-url: give printfarm's address as the site reaches it, https://... (or set PRINTFARM_PUBLIC_URL)")
    password = new_password()

    def work(s: Services, session: Session, actor: Actor) -> tuple[int, str, str, Path, bool]:
        found = s.registry.find_site(session, actor, site)
        username = s.registry.record_site_broker_user(session, actor, found, str(password_file))
        target = output or Path(f"gateway-{username}.toml")
        _refuse_overwrite(target, force)
        was_there = set_password(password_file, username, password)
        replace_file(target, gateway_config_toml(
            site_name=found.name, broker_url=broker.public_url, password=password, central_url=central_url,
            ca_file=ca_file,
        ))
        return found.id, found.name, username, target, was_there

    site_id, name, username, target, was_there = jobs._run(work)
    typer.echo(f"site {site_id} ({name}): broker user {username!r} "
               f"{'has a new password' if was_there else 'added'} in {password_file}; {RELOAD_HINT}")
    typer.echo(f"gateway configuration (with the password; mode 0600) written to {target}: send it to the site "
               "privately; they list their printers in it and run `printfarm gateway --config "
               f"{target.name}`, and printers are registered here with kind gateway")


def central_broker_user(
    broker_url: Annotated[str | None, typer.Option(
        help="The broker as printfarm reaches it, e.g. mqtt://127.0.0.1:1883 (default: PRINTFARM_MQTT_URL's)",
    )] = None,
    password_file: PasswordFileOption = DEFAULT_PASSWORD_FILE,
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="Environment file to write PRINTFARM_MQTT_URL (with the login) into",
    )] = Path("printfarm-mqtt.env"),
    force: ForceOption = False,
) -> None:
    """Give the central service's broker user (printfarm.central, allowed every topic) a new password.

    Writes PRINTFARM_MQTT_URL with that login into an environment file (systemd EnvironmentFile=, or
    `set -a; . FILE`); every printfarm replica then uses it. The old password stops working.
    """
    broker = _broker(broker_url)
    _refuse_overwrite(output, force)
    password = new_password()

    def work(s: Services, session: Session, actor: Actor) -> bool:
        s.registry.record_central_broker_user(session, actor, str(password_file))
        was_there = set_password(password_file, CENTRAL_USERNAME, password)
        replace_file(output, central_env(broker.url_with(CENTRAL_USERNAME, password)))
        return was_there

    was_there = jobs._run(work)
    typer.echo(f"broker user {CENTRAL_USERNAME!r} {'has a new password' if was_there else 'added'} in "
               f"{password_file}; {RELOAD_HINT}")
    typer.echo(f"PRINTFARM_MQTT_URL for {broker.public_url} with that login (mode 0600) written to {output}: "
               "give it to every printfarm replica, then restart them")


def _broker(url: str | None) -> BrokerAddress:
    if url is None:
        configured = settings_or_exit().mqtt_address
        if configured is None:
            _usage("--broker-url: give the broker's address, mqtt(s)://host:port (PRINTFARM_MQTT_URL is unset)")
        return configured
    try:
        return BrokerAddress.from_url(url)
    except ValueError as err:
        _usage(f"--broker-url: {err}")


def _refuse_overwrite(path: Path, force: bool) -> None:
    if path.exists() and not force:
        _usage(f"{path} exists: give --force to overwrite it, or -o another file")


def _usage(message: str) -> NoReturn:
    typer.echo(f"printfarm: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)
