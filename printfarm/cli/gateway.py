"""`printfarm gateway`: run one site's gateway in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from printfarm.cli.common import EXIT_USAGE
from printfarm.errors import ConfigError

HELP = (
    "Run a site gateway: one small process next to a site's printers, reached by outbound connections only.\n\n"
    "The central service never calls the site: the gateway connects out to the cluster's MQTT broker (TLS with "
    "mqtts://) as the site's own broker user, answers printfarm's commands for its printers (check, status, "
    "upload-and-start, pause, resume, cancel), pulls each plate's G-code from the central service over HTTP(S) "
    "with a short-lived single-plate credential, and publishes the events of printers without the OctoPrint-MQTT "
    "plugin. It reconnects on its own; while it is gone (its last will), printfarm shows its printers "
    "unreachable. Printer URLs and API keys stay in its config file.\n\n"
    "Register each printer centrally under the same name, as kind gateway: "
    "`printfarm printers add NAME --site ID --profile PROFILE --gateway` "
    "(or POST /api/printers with \"kind\": \"gateway\" and no base_url or api_key).\n\n"
    "The config file (TOML; each top-level key also PRINTFARM_GATEWAY_KEY), for example:\n\n"
    "site = \"utp-bydgoszcz\"          # the site's slug: topics printfarm/SITE/...\n"
    "mqtt_url = \"mqtts://broker.example.org:8883\"   # mqtt:// or mqtts://\n"
    "mqtt_username = \"utp-bydgoszcz\" # the site's broker user\n"
    "mqtt_password = \"...\"\n"
    "central_url = \"https://printfarm.example.org\"  # plates are pulled from here\n"
    "# mqtt_ca_file = \"/etc/printfarm/ca.pem\"  # a private CA for mqtts://\n"
    "# state_dir = \"/var/lib/printfarm-gateway\"  # requests answered (restarts)\n"
    "# poll_interval_seconds = 1.0     # polling printers without the plugin\n\n"
    "\\[\\[printers]]                     # one per printer at the site\n"
    "name = \"mk3s-1\"                  # its name in printfarm (kind gateway)\n"
    "url = \"http://192.168.1.20\"      # its OctoPrint on the LAN\n"
    "api_key = \"...\"\n"
    "has_mqtt_plugin = true           # false: the gateway publishes its events\n\n"
    "`printfarm sites gateway-config SITE` writes this file for a site."
)


def gateway(
    config: Annotated[Path | None, typer.Option(
        "--config", help="The gateway's TOML file (default: PRINTFARM_GATEWAY_CONFIG)", metavar="FILE",
    )] = None,
) -> None:
    from printfarm.gateway import Gateway, load_gateway_config

    try:
        settings = load_gateway_config(config)
    except ConfigError as err:
        typer.echo(f"printfarm gateway: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from err
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        process = Gateway(settings)
    except ConfigError as err:
        typer.echo(f"printfarm gateway: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from err
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    process.start()
    typer.echo(f"printfarm gateway: site {settings.site}, {len(settings.printers)} printers; Ctrl-C stops")
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        process.stop()

