"""A simulated printer's MQTT side: the OctoPrint-MQTT plugin's topics and payloads (see DESIGN.md)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from printfarm.errors import BrokerError

logger = logging.getLogger(__name__)

CONNECTED = "connected"
DISCONNECTED = "disconnected"
_RETAINED_SUFFIXES = ("mqtt", "progress/printing", "temperature/tool0", "temperature/bed")


class MqttTelemetry:
    """Publishes under base_topic as the OctoPrint-MQTT plugin does; drops messages while offline.

    `<base>mqtt` carries `connected`, and `disconnected` as the retained last will (QoS 1).
    """

    def __init__(
        self,
        base_topic: str,
        host: str,
        port: int,
        *,
        client_id: str,
        connect_timeout_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_topic = base_topic
        self._host, self._port = host, port
        self._connect_timeout_seconds = connect_timeout_seconds
        self._clock = clock
        self._connected = threading.Event()
        self._online = False
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self._client.will_set(base_topic + "mqtt", DISCONNECTED, qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            logger.warning("sim %s: broker refused the connection: %s", self.base_topic, reason_code)
            return
        client.publish(self.base_topic + "mqtt", CONNECTED, qos=1, retain=True)
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        self._connected.clear()

    # -- life cycle -------------------------------------------------------------------------

    def connect(self) -> None:
        """Connect (blocking up to connect_timeout_seconds) and start the network thread."""
        self._connected.clear()
        try:
            self._client.connect(self._host, self._port, keepalive=30)
        except OSError as err:
            raise BrokerError(f"sim {self.base_topic}: MQTT broker {self._host}:{self._port}: {err}") from err
        self._client.loop_start()
        if not self._connected.wait(self._connect_timeout_seconds):
            self._client.loop_stop()
            raise BrokerError(
                f"sim {self.base_topic}: MQTT broker {self._host}:{self._port} did not accept us within "
                f"{self._connect_timeout_seconds} s"
            )
        self._online = True

    def disconnect(self, *, clear_retained: bool) -> None:
        """Say `disconnected` (the will does not fire on a clean disconnect), or clear our retained topics."""
        self._online = False
        if not self._connected.is_set():
            self._client.loop_stop()
            return
        if clear_retained:
            infos = [self._client.publish(self.base_topic + suffix, b"", qos=1, retain=True)
                     for suffix in _RETAINED_SUFFIXES]
        else:
            infos = [self._client.publish(self.base_topic + "mqtt", DISCONNECTED, qos=1, retain=True)]
        for info in infos:
            try:
                info.wait_for_publish(timeout=5)
            except (RuntimeError, ValueError) as err:
                logger.warning("sim %s: could not publish before disconnecting: %s", self.base_topic, err)
        self._client.disconnect()
        self._client.loop_stop()

    # -- Telemetry ----------------------------------------------------------------------------

    def event(self, name: str, payload: dict[str, Any]) -> None:
        self._publish(f"event/{name}", {"_event": name, **payload}, retain=False)

    def progress(self, path: str, progress_percent: int) -> None:
        self._publish("progress/printing", {"location": "local", "path": path, "progress": progress_percent},
                      retain=True)

    def temperature(self, heater: str, actual_c: float, target_c: float) -> None:
        self._publish(f"temperature/{heater}", {"actual": actual_c, "target": target_c}, retain=True)

    def _publish(self, suffix: str, payload: dict[str, Any], *, retain: bool) -> None:
        if not self._online:
            return
        body = json.dumps({**payload, "_timestamp": int(self._clock())})
        self._client.publish(self.base_topic + suffix, body, qos=0, retain=retain)
