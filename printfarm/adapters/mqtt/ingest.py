"""MQTT ingest: one paho client on its own thread hands received messages over in batches.

Arrangement (measured in bench/ingest.py): paho's on_message only appends to a list; the same
thread that reads the socket hands the list to ``on_batch`` between reads, when ``max_batch``
messages are waiting or ``flush_interval_seconds`` has passed. printfarm's ``on_batch`` passes the
batch to the ingest worker process (printfarm/ingest_worker.py), which parses and writes it there:
parsing and writing on this thread stalled socket reads, and a flusher thread in this process
convoyed with it on the GIL.

Delivery: subscriptions are QoS 1 on a persistent session (fixed client id; clean_session=False on
MQTT 3.1.1, clean_start=False with a session expiry on MQTT 5), so the broker queues what arrives
while printfarm is disconnected and sends it on reconnect. paho acknowledges a QoS 1 message as
soon as it is received, before ``on_batch`` has seen it: if the process dies between receipt and
flush, up to one flush interval of messages (at most ``max_batch``) is lost, and with printfarm's
ingest worker also what the worker held and had not committed (up to its backlog). printfarm covers that
gap by reconciling every active job with its printer over REST on start-up, not by acking late.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)

_PROTOCOLS = {"3.1.1": mqtt.MQTTv311, "5": mqtt.MQTTv5}
#: How long one wait for the socket may last; bounds the latency of flushes, watch() and stop().
_LOOP_TIMEOUT_SECONDS = 0.05
_KEEPALIVE_SECONDS = 30
_BACKOFF_FIRST_SECONDS = 0.2
_BACKOFF_MAX_SECONDS = 30.0
#: Topic filters per SUBSCRIBE packet; keeps packets small with thousands of printers.
_FILTERS_PER_PACKET = 100


#: One received message as paho gave it: (topic, payload, retained). A plain tuple: a NamedTuple
#: cost the network thread 1.7 µs more a message here (bench/ingest.py's drain; paho spends ~12).
RawMessage = tuple[str, bytes, bool]


def everything_under(base_topic: str) -> Sequence[str]:
    """The default topic filters of a base topic: all of it ("<base>#")."""
    return (f"{base_topic}#",)


class MqttIngest:
    """Subscribes to printers' base topics and delivers their messages in batches to ``on_batch``.

    ``topic_filters`` gives the filters to subscribe for one base topic: the printers' feed's
    (printers/feed.py PrinterFeed.topic_filters), by default everything under the base.

    ``on_batch`` and ``on_connect`` run on the ingest thread; an exception from either is logged
    and the ingest goes on. ``on_connect`` runs after every (re)connect, once the broker has
    acknowledged the subscriptions, so a reconcile it starts misses nothing. Both hold up
    network reads while they run, so they should be quick or hand work over.

    ``username`` and ``password`` log in to a broker that refuses anonymous clients (the shipped
    config/mosquitto-sites.conf); ``tls`` speaks mqtts, checking the broker's certificate against the
    system's CAs or ``ca_file``.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        client_id: str,
        protocol: str = "3.1.1",
        on_batch: Callable[[list[RawMessage]], None],
        on_connect: Callable[[], None] | None = None,
        shared_group: str | None = None,
        flush_interval_seconds: float = 0.2,
        max_batch: int = 5000,
        session_expiry_seconds: int = 3600,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        ca_file: str | None = None,
        topic_filters: Callable[[str], Sequence[str]] = everything_under,
    ) -> None:
        if protocol not in _PROTOCOLS:
            raise ValueError(f"MQTT protocol {protocol!r} is not one of {sorted(_PROTOCOLS)}")
        self.host = host
        self.port = port
        self.client_id = client_id
        self._protocol = _PROTOCOLS[protocol]
        self._on_batch = on_batch
        self._on_connect = on_connect
        self._shared_group = shared_group
        self._flush_interval_seconds = flush_interval_seconds
        self._max_batch = max_batch
        self._session_expiry_seconds = session_expiry_seconds
        self._username = username
        self._password = password  # never logged
        self._tls = tls
        self._ca_file = ca_file
        self._topic_filters = topic_filters

        self._lock = threading.Lock()
        self._watched: set[str] = set()  # base topics, guarded by _lock
        self._to_subscribe: set[str] = set()  # filters waiting for the ingest thread, guarded by _lock
        self._to_unsubscribe: set[str] = set()
        self._pending_acks: set[int] = set()  # SUBSCRIBE message ids not yet acknowledged (ingest thread only)
        self._has_socket = False  # a TCP connection exists (ingest thread only)
        self._is_up = False  # the broker accepted the connection (CONNACK)
        self._owes_on_connect = False  # on_connect is due once this connection's subscriptions are acked
        self._is_reported_down = False  # "unreachable" was logged and "connected" not since
        self._backoff_seconds = _BACKOFF_FIRST_SECONDS
        self._settled = threading.Event()  # connected and every watched base subscribed
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

        self._buffer: list[RawMessage] = []
        self._received = 0
        self._delivered = 0
        self._client = self._make_client()

    # -- public ------------------------------------------------------------------------------

    @property
    def messages_received(self) -> int:
        return self._received

    @property
    def batches_delivered(self) -> int:
        return self._delivered

    def watch(self, base_topics: Iterable[str]) -> None:
        """Subscribe the topic filters (QoS 1) of each base not yet watched; thread-safe and idempotent."""
        with self._lock:
            new = [base for base in base_topics if base not in self._watched]
            if not new:
                return
            self._watched.update(new)
            filters = {f for base in new for f in self._filters(base)}
            self._to_unsubscribe -= filters
            self._to_subscribe |= filters
            self._settled.clear()

    def unwatch(self, base_topics: Iterable[str]) -> None:
        """Stop receiving the given bases; thread-safe, bases not watched are ignored."""
        with self._lock:
            gone = [base for base in base_topics if base in self._watched]
            if not gone:
                return
            self._watched.difference_update(gone)
            filters = {f for base in gone for f in self._filters(base)}
            self._to_subscribe -= filters
            self._to_unsubscribe |= filters

    def start(self) -> None:
        """Start the ingest thread; it connects, and reconnects with backoff, until stop()."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"mqtt-ingest-{self.client_id}", daemon=True)
        self._thread.start()

    def wait_connected(self, timeout: float) -> bool:
        """True once connected with every watched base subscribed (acknowledged); False after timeout."""
        return self._settled.wait(timeout)

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Hand over what is buffered, disconnect and end the thread."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        thread.join(timeout_seconds)
        if thread.is_alive():
            log.warning("MQTT ingest %s did not stop in %s s", self.client_id, timeout_seconds)
        self._thread = None

    # -- the ingest thread ----------------------------------------------------------------------

    def _run(self) -> None:
        last_flush = time.monotonic()
        while not self._stopping.is_set():
            try:
                if not self._has_socket and not self._connect():
                    self._flush()  # what arrived before the connection dropped goes on now
                    self._stopping.wait(self._backoff_seconds)
                    self._backoff_seconds = min(self._backoff_seconds * 2, _BACKOFF_MAX_SECONDS)
                    continue
                rc = self._network_round()
                if rc is not MQTTErrorCode.MQTT_ERR_SUCCESS:
                    self._lost(mqtt.error_string(rc))
                if not self._has_socket:  # lost, or refused in _handle_connect: back off before retrying
                    self._flush()
                    self._stopping.wait(self._backoff_seconds)
                    self._backoff_seconds = min(self._backoff_seconds * 2, _BACKOFF_MAX_SECONDS)
                    continue
                if self._is_up and (self._to_subscribe or self._to_unsubscribe):  # read unlocked: a hint
                    self._apply_subscription_changes()
                now = time.monotonic()
                if len(self._buffer) >= self._max_batch or now - last_flush >= self._flush_interval_seconds:
                    self._flush()
                    last_flush = now
            except Exception:  # the consumer never dies; a paho surprise costs one reconnect
                log.exception("MQTT ingest %s: unexpected error in the network loop", self.client_id)
                self._lost("unexpected error")
                self._stopping.wait(self._backoff_seconds)
        self._flush()
        if self._is_up:
            self._client.disconnect()  # written at once: no paho thread, not in a callback
        self._has_socket = self._is_up = False
        self._settled.clear()

    def _network_round(self) -> MQTTErrorCode:
        """One wait for the socket, one packet read, pending writes, keepalive.

        The same work as paho's ``client.loop()``, minus its wake-up socket pair: once loop() has
        made that pair, paho writes a wake-up byte for every packet it queues (each PUBACK), which
        costs a send, a recv and a spare select per message and cut the drain rate by about a third.
        """
        client = self._client
        sock = client.socket()
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        wants_write = client.want_write()
        try:
            readable, writable, _ = select.select([sock], [sock] if wants_write else [], [], _LOOP_TIMEOUT_SECONDS)
        except (OSError, ValueError, TypeError):  # the socket was closed under us
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        if readable:
            rc = client.loop_read()
            if rc is not MQTTErrorCode.MQTT_ERR_SUCCESS:
                return rc
        if writable or client.want_write():
            rc = client.loop_write()
            if rc is not MQTTErrorCode.MQTT_ERR_SUCCESS:
                return rc
        return client.loop_misc()

    def _connect(self) -> bool:
        try:
            self._client.reconnect()
        except OSError as err:
            if not self._is_reported_down:
                log.warning("MQTT ingest %s: broker %s:%s unreachable (%s); retrying with backoff",
                            self.client_id, self.host, self.port, err)
                self._is_reported_down = True
            return False
        self._has_socket = True  # CONNACK arrives later, in _handle_connect
        return True

    def _lost(self, why: str) -> None:
        if self._is_up:
            log.warning("MQTT ingest %s: connection to %s:%s lost (%s)", self.client_id, self.host, self.port, why)
        self._has_socket = self._is_up = False
        self._settled.clear()

    def _flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        try:
            self._on_batch(batch)
        except Exception:
            log.exception("MQTT ingest %s: on_batch failed; %d messages dropped", self.client_id, len(batch))
        self._delivered += 1

    def _apply_subscription_changes(self) -> None:
        with self._lock:
            subscribe, self._to_subscribe = self._to_subscribe, set()
            unsubscribe, self._to_unsubscribe = self._to_unsubscribe, set()
        if unsubscribe:
            self._client.unsubscribe(sorted(unsubscribe))
        if subscribe:
            self._subscribe(sorted(subscribe))

    def _subscribe(self, filters: list[str]) -> None:
        for start in range(0, len(filters), _FILTERS_PER_PACKET):
            chunk = [(topic_filter, 1) for topic_filter in filters[start : start + _FILTERS_PER_PACKET]]
            rc, mid = self._client.subscribe(chunk)
            if rc is MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
                self._pending_acks.add(mid)
        self._settle_if_acked()

    def _settle_if_acked(self) -> None:
        if self._pending_acks or not self._is_up:
            return
        with self._lock:
            if self._to_subscribe:
                return  # a watch() came in meanwhile; the next loop round subscribes it
            self._settled.set()
        if self._owes_on_connect:
            self._owes_on_connect = False
            if self._on_connect is not None:
                try:
                    self._on_connect()
                except Exception:
                    log.exception("MQTT ingest %s: on_connect callback failed", self.client_id)

    # -- paho callbacks (all on the ingest thread, inside client.loop) ----------------------------

    def _handle_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        # paho types the payload bytes | bytearray; it hands over bytes (a slice of the packet's bytes)
        self._buffer.append((message.topic, message.payload, message.retain))  # type: ignore[arg-type]
        self._received += 1

    def _handle_connect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.error("MQTT ingest %s: broker %s:%s refused the connection: %s", self.client_id, self.host, self.port, reason)
            self._lost(f"refused: {reason}")
            return
        log.info("MQTT ingest %s connected to %s:%s (session present: %s)",
                 self.client_id, self.host, self.port, _flags.session_present)
        self._is_up = True
        self._is_reported_down = False
        self._backoff_seconds = _BACKOFF_FIRST_SECONDS
        self._pending_acks.clear()
        self._owes_on_connect = True
        with self._lock:
            # A persistent session may still hold the subscriptions, but the broker may also have
            # lost it (restart without persistence, expiry): subscribing again is always safe.
            filters = sorted({f for base in self._watched for f in self._filters(base)})
            self._to_subscribe.clear()
            self._to_unsubscribe.clear()
        self._subscribe(filters)

    def _handle_subscribe(self, _client: mqtt.Client, _userdata: Any, mid: int, reasons: list[Any], _props: Any) -> None:
        refused = [str(reason) for reason in reasons if reason.is_failure]
        if refused:
            log.error("MQTT ingest %s: broker refused a subscription: %s", self.client_id, ", ".join(refused))
        self._pending_acks.discard(mid)
        self._settle_if_acked()

    def _handle_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if not self._stopping.is_set():
            self._lost(str(reason))

    # -- helpers --------------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        if self._protocol == mqtt.MQTTv5:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = self._session_expiry_seconds
            client.connect_async(
                self.host, self.port, keepalive=_KEEPALIVE_SECONDS, clean_start=False, properties=properties
            )
        else:
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv311, clean_session=False
            )
            client.connect_async(self.host, self.port, keepalive=_KEEPALIVE_SECONDS)
        if self._username is not None:
            client.username_pw_set(self._username, self._password)
        if self._tls:  # mqtts://: the system's CAs, or the given file for a private CA
            client.tls_set(ca_certs=self._ca_file)
        client.on_message = self._handle_message
        client.on_connect = self._handle_connect
        client.on_subscribe = self._handle_subscribe
        client.on_disconnect = self._handle_disconnect
        return client

    def _filters(self, base: str) -> Sequence[str]:
        filters = self._topic_filters(base)
        return [f"$share/{self._shared_group}/{f}" for f in filters] if self._shared_group else filters
