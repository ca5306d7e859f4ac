"""`printfarm demo --gateway-site`: one demo site's printers reached only through an in-process site gateway.

The site's simulated printers are registered with kind gateway (no address, no key centrally); a
`printfarm.gateway.Gateway` holds their URLs and keys, as `printfarm gateway` would at a real site,
answers printfarm's commands over the broker and pulls each plate from the demo's HTTP server.
Their own OctoPrint-MQTT (simulated) still publishes their events, as `has_mqtt_plugin = true`.
"""

from __future__ import annotations

from pathlib import Path

from printfarm.errors import BrokerError
from printfarm.gateway import Gateway
from printfarm.gateway.config import GatewayConfig, GatewayPrinter
from printfarm.printers.rules import slug
from printfarm.sim import SimulatedFarm

CONNECT_SECONDS = 15.0


def gateway_site_name(site_names: list[str]) -> str:
    """The demo site that sits behind a gateway: the last one."""
    return site_names[-1]


def start_gateway(
    farm: SimulatedFarm, farm_site: str, site_name: str, mqtt_url: str, central_url: str, state_dir: Path
) -> Gateway:
    """The gateway of the farm's site farm_site, connected; BrokerError if it cannot reach the broker."""
    config = GatewayConfig(
        site=slug(site_name), mqtt_url=mqtt_url, central_url=central_url, state_dir=state_dir,
        printers=[GatewayPrinter(name=p.name, url=p.base_url, api_key=p.api_key, has_mqtt_plugin=True)
                  for p in farm.listing() if p.site == farm_site],
        log_level="WARNING",
    )
    gateway = Gateway(config)
    if not gateway.start(wait_connected_seconds=CONNECT_SECONDS):
        gateway.stop()
        raise BrokerError(f"demo gateway of site {site_name}: no connection to {mqtt_url} in {CONNECT_SECONDS:g} s")
    return gateway
