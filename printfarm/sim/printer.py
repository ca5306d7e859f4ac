"""SimulatedPrinter: one fake OctoPrint host, answering REST on 127.0.0.1 and publishing to MQTT."""

from __future__ import annotations

import logging
import random
import secrets

from printfarm.sim.http import SimulatedOctoPrintServer
from printfarm.sim.machine import PrintTiming, SimulatedMachine
from printfarm.sim.mqtt import MqttTelemetry

logger = logging.getLogger(__name__)


class SimulatedPrinter:
    """An OctoPrint with a board that prints in compressed time (see PrintTiming).

    Knobs: fail_probability (per print), fail_next_print(at_percent), go_offline() (HTTP drops
    every connection, MQTT says `disconnected`; a running print carries on unseen) and
    come_back(). start()/stop() or use it as a context manager; stop() clears its retained topics
    unless clear_retained_on_stop is False.
    """

    def __init__(
        self,
        name: str,
        *,
        mqtt_host: str,
        mqtt_port: int,
        site: str = "sim",
        base_topic: str | None = None,
        api_key: str | None = None,
        timing: PrintTiming = PrintTiming(),
        fail_probability: float = 0.0,
        seed: int | None = None,
        is_connected: bool = False,
        clear_retained_on_stop: bool = True,
    ) -> None:
        self.name = name
        self.site = site
        self.api_key = api_key or secrets.token_hex(16).upper()
        self.base_topic = base_topic or f"printfarm/{site}/{name}/"
        self.clear_retained_on_stop = clear_retained_on_stop
        self._mqtt_host, self._mqtt_port = mqtt_host, mqtt_port
        self._client_id = f"printfarm-sim-{site}-{name}-{secrets.token_hex(3)}"
        self.telemetry = self._new_telemetry()
        self.machine = SimulatedMachine(
            self.telemetry,
            timing=timing,
            fail_probability=fail_probability,
            rng=random.Random(seed),
            is_connected=is_connected,
        )
        self._server: SimulatedOctoPrintServer | None = None
        self._is_running = False

    def _new_telemetry(self) -> MqttTelemetry:
        return MqttTelemetry(self.base_topic, self._mqtt_host, self._mqtt_port, client_id=self._client_id)

    def __repr__(self) -> str:
        return f"SimulatedPrinter({self.site}/{self.name} at {self.base_url if self._server else 'not started'})"

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"sim {self.site}/{self.name}: not started")
        return self._server.base_url

    @property
    def state_text(self) -> str:
        return self.machine.state

    @property
    def is_offline(self) -> bool:
        return self._server is not None and self._server.is_offline

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> SimulatedPrinter:
        self.telemetry.connect()
        self._server = SimulatedOctoPrintServer(self.machine, self.api_key, f"{self.site}/{self.name}")
        self._server.start()
        self.machine.start(f"{self.site}/{self.name}")
        self.machine.publish_current()
        self._is_running = True
        logger.info("sim %s/%s: serving %s, publishing under %s", self.site, self.name, self.base_url, self.base_topic)
        return self

    def stop(self) -> None:
        if not self._is_running:
            return
        self._is_running = False
        self.machine.stop()
        if self._server is not None:
            self._server.stop()
        self.telemetry.disconnect(clear_retained=self.clear_retained_on_stop)

    def __enter__(self) -> SimulatedPrinter:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- knobs ----------------------------------------------------------------------------

    def fail_next_print(self, at_percent: float = 50.0) -> None:
        """The next (or the running) print fails with PrintFailed reason `error` at at_percent."""
        self.machine.fail_next_print(at_percent)

    def go_offline(self) -> None:
        """The host drops off the network: no HTTP answers, MQTT `disconnected`."""
        if self._server is None or self._server.is_offline:
            return
        self._server.is_offline = True
        self.telemetry.disconnect(clear_retained=False)
        logger.info("sim %s/%s: offline", self.site, self.name)

    def come_back(self) -> None:
        """The host is back: HTTP answers, MQTT `connected`, current temperatures and progress again."""
        if self._server is None or not self._server.is_offline:
            return
        # A paho client is not reused after loop_stop; the machine reports to the new one.
        self.telemetry = self._new_telemetry()
        self.telemetry.connect()
        self.machine.set_telemetry(self.telemetry)
        self._server.is_offline = False
        self.machine.publish_current()
        logger.info("sim %s/%s: back online", self.site, self.name)
