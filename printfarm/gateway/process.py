"""The site gateway in one object: its printers' clients, the request handler, the MQTT link and the event bridge.

`printfarm gateway` runs one; the demo and the benchmark run them in-process (start()/stop()),
over simulated printers through the same OctoPrint adapter, or through a client factory they pass.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from printfarm.adapters.gateway.link import BrokerEndpoint, GatewayLink
from printfarm.adapters.gateway.plates import fetch_plate
from printfarm.adapters.octoprint.octorest_client import make_octorest_client_factory
from printfarm.gateway.bridge import EventBridge
from printfarm.gateway.config import GatewayConfig
from printfarm.gateway.handler import PlateFetcher, RequestHandler
from printfarm.gateway.ledger import RequestLedger
from printfarm.printers.port import PrinterClientFactory
from printfarm.printers.rules import suggested_base_topic

log = logging.getLogger(__name__)

#: The ledger's file in state_dir, per site (several in-process gateways may share a state_dir).
LEDGER_FILE = "requests-{site}.sqlite3"


class Gateway:
    """One site's gateway. start() connects out to the broker (and keeps reconnecting); stop() says offline.

    In-process (the demo, bench/gateway.py), over simulated printers::

        config = GatewayConfig(site=slug(site.name), mqtt_url="mqtt://127.0.0.1:1883", central_url=central,
                               state_dir=tmp / "gw", printers=[GatewayPrinter(name=p.name, url=p.base_url,
                               api_key=p.api_key, has_mqtt_plugin=True) for p in sim_printers])
        gateway = Gateway(config)   # or client_factory=... to drive them without HTTP
        gateway.start(wait_connected_seconds=10); ...; gateway.stop()

    With printfarm's embedded broker (amqtt, MQTT 3.1.1 only) pass mqtt_protocol="3.1.1".
    """

    def __init__(
        self, config: GatewayConfig, *, client_factory: PrinterClientFactory | None = None,
        fetch: PlateFetcher | None = None, client_id: str | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        """client_factory replaces the OctoPrint adapter (a simulated printer's client, say); fetch the plate pull."""
        self.config = config
        factory = client_factory or make_octorest_client_factory(config.printer_timeout_seconds)
        clients = {p.name: factory(p.url, p.api_key.get_secret_value()) for p in config.printers}
        self.ledger = RequestLedger(config.state_dir / LEDGER_FILE.format(site=config.site))
        self.handler = RequestHandler(
            clients, self.ledger, fetch or self._fetch, **({"now": now} if now is not None else {})
        )
        endpoint = BrokerEndpoint.from_url(
            config.mqtt_url, username=config.mqtt_username,
            password=config.mqtt_password.get_secret_value() if config.mqtt_password else None,
            ca_file=config.mqtt_ca_file, protocol=config.mqtt_protocol,
        )
        self.link = GatewayLink(
            endpoint, config.site, self.handler.handle,
            client_id=client_id or f"printfarm-gateway-{config.site}-{secrets.token_hex(3)}",
        )
        bridged = {
            p.name: (clients[p.name], self.base_topic(p.name)) for p in config.printers if not p.has_mqtt_plugin
        }
        self.bridge = EventBridge(
            bridged, lambda topic, payload, retain: self.link.publish(topic, payload, retain=retain, qos=1),
            config.poll_interval_seconds,
        )

    def base_topic(self, printer_name: str) -> str:
        """The printer's base topic: printfarm/<site>/<printer>/, as registration suggests it."""
        return suggested_base_topic(self.config.site, printer_name)

    def _fetch(self, file_name: str, credential: str, sha256: str) -> bytes:
        return fetch_plate(self.config.central_url, file_name, credential, sha256)

    def start(self, wait_connected_seconds: float | None = None) -> bool:
        """Connect out and start bridging; with wait_connected_seconds, wait that long for the broker (True: connected)."""
        log.info("gateway of site %s: %d printers (%d bridged), broker %s, central %s", self.config.site,
                 len(self.config.printers), sum(not p.has_mqtt_plugin for p in self.config.printers),
                 self.config.mqtt_url, self.config.central_url)
        self.link.start()
        self.bridge.start()
        if wait_connected_seconds is None:
            return self.link.connected.is_set()
        return self.link.connected.wait(wait_connected_seconds)

    def stop(self) -> None:
        self.bridge.stop()
        self.link.stop()
        self.ledger.close()
