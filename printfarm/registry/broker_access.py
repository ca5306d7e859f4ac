"""Who logs in to the broker, and the gateway configuration a site receives (pure: no I/O).

A site's broker user is named after the site's slug: config/mosquitto-sites.acl lets it read and write
only under ``printfarm/<slug>/`` (the ACL pattern ``printfarm/%u/#``). The central service logs in as
CENTRAL_USERNAME, which has the whole tree; a slug never contains a dot, so no site can be named into it.
"""

from __future__ import annotations

import json
import secrets

from printfarm.printers.rules import slug

CENTRAL_USERNAME = "printfarm.central"
#: 32 random bytes, URL-safe: it goes into mqtt:// URLs and TOML files as it is.
_PASSWORD_BYTES = 32


def site_username(site_name: str) -> str:
    """The broker user (and topic level) of a site: its slug."""
    return slug(site_name)


def new_password() -> str:
    return secrets.token_urlsafe(_PASSWORD_BYTES)


def gateway_config_toml(
    *, site_name: str, broker_url: str, password: str, central_url: str, ca_file: str | None = None
) -> str:
    """The gateway's TOML configuration for a site (GATEWAY_SCHEME.md), its printers an example to fill in."""
    username = site_username(site_name)
    ca_line = f"mqtt_ca_file = {_string(ca_file)}" if ca_file else (
        '# mqtt_ca_file = "/etc/printfarm/ca.pem"   # for an mqtts:// broker with a private CA'
    )
    return f"""\
# printfarm site gateway of {_comment(site_name)}: run it with `printfarm gateway --config THIS_FILE`.
# It connects out to the cluster's broker and to {_comment(central_url)}; nothing connects in.
# The password below is this site's alone: keep the file readable by the gateway's user only.
# Issued again (`printfarm sites gateway-config`), the old password stops working.

site = {_string(username)}
mqtt_url = {_string(broker_url)}
mqtt_username = {_string(username)}
mqtt_password = {_string(password)}
central_url = {_string(central_url)}
{ca_line}
# state_dir = "/var/lib/printfarm-gateway"   # the requests it answered (default ./printfarm-gateway-state)

# One [[printers]] table per printer at this site. Register each centrally under the same name with
# kind "gateway"; its URL and API key stay here and never leave the site.
#
# [[printers]]
# name = "mk3s-1"
# url = "http://192.168.1.20"
# api_key = "the printer's OctoPrint application key"
# has_mqtt_plugin = true   # its OctoPrint-MQTT plugin publishes itself, to the broker above as the user
#                          # above, base topic printfarm/{username}/<printer slug>/; false: the gateway bridges
"""


def central_env(broker_url_with_login: str) -> str:
    """The central service's setting, as an environment file line."""
    return f"PRINTFARM_MQTT_URL={broker_url_with_login}\n"


def _string(value: str) -> str:
    # A JSON string is a valid TOML basic string: the same quotes and backslash escapes.
    return json.dumps(value, ensure_ascii=False)


def _comment(text: str) -> str:
    return " ".join(text.split())
