"""The gateway's MQTT 5 connections (paho): the site side answers requests, the central side asks.

Both reconnect on their own (paho's loop thread, 1 to 10 s apart) and re-subscribe in on_connect.
paho's callbacks never block: a request is handed to a worker thread, a reply wakes the waiting caller.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from printfarm.adapters.gateway.protocol import (
    ALL_STATUS_TOPICS, OFFLINE, ONLINE, BadMessage, Request, decode_reply, reply_topic, request_topic,
    result_of, site_of_status_topic, status_topic,
)
from printfarm.errors import ConfigError, PrinterUnreachable

log = logging.getLogger(__name__)

_KEEPALIVE_SECONDS = 10  # a half-open link is noticed (and the last will sent) within 1.5 × this


@dataclass(frozen=True)
class BrokerEndpoint:
    """Where and how to reach the broker: mqtt://host:port or mqtts://host:port (TLS), and a user."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    #: "5" (request/response properties) or "3.1.1" for a broker without MQTT 5 (the embedded amqtt):
    #: the reply topic then travels in the request's JSON only.
    protocol: str = "5"

    @classmethod
    def from_url(cls, url: str, *, username: str | None = None, password: str | None = None,
                 ca_file: str | None = None, protocol: str = "5") -> BrokerEndpoint:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp"):
            raise ConfigError("broker URL: must start with mqtt:// or mqtts://")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as err:
            raise ConfigError(f"broker URL of {parts.hostname}: {err}") from err
        if username is None and parts.username is not None:  # mqtt://user:password@host:port
            username, password = unquote(parts.username), unquote(parts.password or "")
        return cls(parts.hostname or "127.0.0.1", port, tls, username, password, ca_file, protocol)

    @property
    def is_mqtt5(self) -> bool:
        return self.protocol == "5"


def _client(client_id: str, endpoint: BrokerEndpoint) -> mqtt.Client:
    if endpoint.protocol not in ("5", "3.1.1"):
        raise ConfigError(f"MQTT protocol {endpoint.protocol!r} is not 5 or 3.1.1")
    version = mqtt.MQTTv5 if endpoint.is_mqtt5 else mqtt.MQTTv311
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=version)
    if endpoint.username is not None:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        client.tls_set(ca_certs=endpoint.ca_file, cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(1, 10)
    client.on_socket_open = _no_delay
    return client


def _no_delay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """Send each packet at once: with Nagle's algorithm a reply written right after a PUBACK waits for the
    broker's delayed ACK (40 ms on Linux), twice per request (bench/gateway.py: 85 ms round trips, not 5)."""
    with contextlib.suppress(OSError, AttributeError):  # a TLS socket wraps a TCP one; others have no such option
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _succeeded(reason_code: Any) -> bool:
    return not getattr(reason_code, "is_failure", False)


class GatewayLink:
    """The site side: answers requests on printfarm/<site>/gateway/request; publishes status and events.

    ``on_request`` runs on a worker thread and returns the reply (protocol.ok_reply / error_reply), or
    None to send nothing (a duplicate of a request under way, whose own reply is coming).
    On connect it publishes the retained status ``online``; its last will (retained) is ``offline``.
    """

    def __init__(
        self, endpoint: BrokerEndpoint, site: str, on_request: Callable[[Request], dict[str, Any] | None],
        *, client_id: str | None = None, workers: int = 8,
    ) -> None:
        self.site = site
        self._endpoint = endpoint
        self._on_request = on_request
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"gateway-{site}")
        self.connected = threading.Event()
        self._client = _client(client_id or f"printfarm-gateway-{site}", endpoint)
        self._client.will_set(status_topic(site), OFFLINE, qos=1, retain=True)
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.on_message = self._message

    def start(self) -> None:
        self._client.connect_async(self._endpoint.host, self._endpoint.port, keepalive=_KEEPALIVE_SECONDS)
        self._client.loop_start()

    def stop(self) -> None:
        """Say offline (as the last will would), disconnect, finish the requests under way."""
        if self.connected.is_set():
            self._client.publish(status_topic(self.site), OFFLINE, qos=1, retain=True).wait_for_publish(2)
        self._client.disconnect()
        self._client.loop_stop()
        self._pool.shutdown(wait=True)

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, qos: int = 0) -> None:
        """Publish on the broker (events bridged for a printer); dropped while disconnected, unless qos > 0."""
        self._client.publish(topic, payload, qos=qos, retain=retain)

    def _connected(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if not _succeeded(reason_code):
            log.warning("gateway %s: the broker refused the connection: %s", self.site, reason_code)
            return
        client.subscribe(request_topic(self.site), qos=1)
        client.publish(status_topic(self.site), ONLINE, qos=1, retain=True)
        self.connected.set()
        log.info("gateway %s: connected to %s:%s", self.site, self._endpoint.host, self._endpoint.port)

    def _disconnected(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if self.connected.is_set():
            log.warning("gateway %s: lost the broker (%s); reconnecting", self.site, reason_code)
        self.connected.clear()

    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            request = Request.decode(bytes(message.payload))
        except BadMessage as err:
            log.warning("gateway %s: dropped a request on %s: %s", self.site, message.topic, err)
            return
        props = message.properties
        response_topic = getattr(props, "ResponseTopic", None) or request.reply_topic
        correlation = getattr(props, "CorrelationData", None)
        if not response_topic:
            log.warning("gateway %s: request %s has no response topic; dropped", self.site, request.id)
            return
        self._pool.submit(self._serve, request, response_topic, correlation)

    def _serve(self, request: Request, response_topic: str, correlation: bytes | None) -> None:
        try:
            reply = self._on_request(request)
        except Exception:  # a bug in one request must not end the gateway
            log.exception("gateway %s: request %s (%s) failed", self.site, request.id, request.op)
            return
        if reply is None:
            return
        properties = None
        if self._endpoint.is_mqtt5:
            properties = Properties(PacketTypes.PUBLISH)
            properties.CorrelationData = correlation or request.id.encode()
        self._client.publish(response_topic, json.dumps(reply), qos=1, properties=properties)


class GatewayRequester:
    """The central side: sends requests to sites' gateways and waits for their replies.

    Connects on first use. Replies come on printfarm/+/gateway/reply/<client_id>; every site's
    retained gateway status is followed too, so a request to a site whose gateway is offline fails
    at once, and ``on_status(site, is_online)`` (when given) hears every change.
    """

    def __init__(self, endpoint: BrokerEndpoint | None, *, client_id: str | None = None) -> None:
        """endpoint None: the broker is not known yet (the embedded one starts later; see use_broker)."""
        self.client_id = client_id or f"printfarm-central-{secrets.token_hex(4)}"
        self._endpoint = endpoint
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()
        self._started = False
        self._connected = threading.Condition(self._lock)
        self._is_up = False
        self._generation = 0  # connections so far: a request re-sends after a reconnect
        self._waiting: dict[str, dict[str, Any] | None] = {}
        self._status: dict[str, str] = {}
        self._listeners: list[Callable[[str, bool], None]] = []

    def use_broker(self, endpoint: BrokerEndpoint) -> None:
        """The broker to use, once known (printfarm's embedded broker, after it started); before start() only."""
        with self._lock:
            if self._endpoint is None:
                self._endpoint = endpoint

    def on_status(self, listener: Callable[[str, bool], None]) -> None:
        """Call listener(site slug, is_online) on every gateway status message (on paho's thread: be quick)."""
        self._listeners.append(listener)
        self.start()

    def site_status(self, site: str) -> str | None:
        with self._lock:
            return self._status.get(site)

    def start(self) -> None:
        """Connect (in the background, reconnecting on its own); nothing while the broker is not known."""
        with self._lock:
            if self._started or self._endpoint is None:
                return
            self._started = True
            endpoint = self._endpoint
            self._client = client = _client(self.client_id, endpoint)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.connect_async(endpoint.host, endpoint.port, keepalive=_KEEPALIVE_SECONDS)
        client.loop_start()

    def stop(self) -> None:
        with self._lock:
            if not self._started or self._client is None:
                return
            self._started, client = False, self._client
        client.disconnect()
        client.loop_stop()

    def request(self, site: str, printer: str, op: str, args: dict[str, Any] | None, timeout_seconds: float) -> Any:
        """Ask site's gateway to do op on printer; its result. The deadline is now + timeout_seconds.

        Raises PrinterUnreachable when the broker or the gateway does not answer in time (or the
        gateway is known offline), else the error kind the gateway replied with.
        """
        self.start()
        where = f"printer {printer} at site {site} (through its gateway)"
        deadline = time.monotonic() + timeout_seconds
        request = Request(secrets.token_hex(12), time.time() + timeout_seconds, printer, op, args or {},
                          reply_topic(site, self.client_id))
        with self._lock:
            if self._endpoint is None:
                raise PrinterUnreachable(f"{where}: no MQTT broker to reach gateways through yet")
            if self._status.get(site) == OFFLINE:
                raise PrinterUnreachable(f"{where}: the gateway of site {site} is offline (its last will)")
            self._waiting[request.id] = None
        try:
            sent_in = -1
            while True:
                with self._lock:  # paho's own locks are never taken while holding this one
                    reply = self._waiting[request.id]
                    if reply is not None:
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        problem = "the broker" if not self._is_up else "the gateway"
                        raise PrinterUnreachable(f"{where}: {problem} did not answer {op} within {timeout_seconds:g} s")
                    send = self._is_up and sent_in != self._generation
                    if send:  # the same id again after a reconnect: the gateway executes it at most once
                        sent_in = self._generation
                    else:
                        self._connected.wait(min(remaining, 0.5))
                if send:
                    self._publish(site, request)
        finally:
            with self._lock:
                self._waiting.pop(request.id, None)
        assert reply is not None
        return result_of(reply, where)

    def _publish(self, site: str, request: Request) -> None:
        assert self._client is not None and self._endpoint is not None  # connected, so started
        properties = None
        if self._endpoint.is_mqtt5:
            properties = Properties(PacketTypes.PUBLISH)
            properties.ResponseTopic = reply_topic(site, self.client_id)
            properties.CorrelationData = request.id.encode()
        self._client.publish(request_topic(site), request.encode(), qos=1, properties=properties)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if not _succeeded(reason_code):
            log.warning("gateway requests: the broker refused the connection: %s", reason_code)
            return
        client.subscribe([(reply_topic("+", self.client_id), 1), (ALL_STATUS_TOPICS, 1)])
        with self._lock:
            self._is_up = True
            self._generation += 1
            self._connected.notify_all()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        with self._lock:
            self._is_up = False

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        site = site_of_status_topic(message.topic)
        if site is not None:
            status = message.payload.decode(errors="replace").strip()
            with self._lock:
                changed = self._status.get(site) != status
                self._status[site] = status
            if changed:
                for listener in self._listeners:
                    try:
                        listener(site, status == ONLINE)
                    except Exception:
                        log.exception("gateway status of site %s: a listener failed", site)
            return
        try:
            reply = decode_reply(bytes(message.payload))
        except BadMessage as err:
            log.warning("gateway reply on %s dropped: %s", message.topic, err)
            return
        with self._lock:
            if str(reply["id"]) in self._waiting:  # else a late or repeated reply: nobody waits for it
                self._waiting[str(reply["id"])] = reply
                self._connected.notify_all()
