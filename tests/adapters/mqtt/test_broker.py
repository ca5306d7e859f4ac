"""The embedded amqtt broker: binding, last wills, start-up failure."""

from __future__ import annotations

import socket
import threading

import paho.mqtt.client as mqtt
import pytest
from adapters.mqtt.mqtt_support import unique_base, unique_client_id, wait_until
from paho.mqtt.enums import CallbackAPIVersion

from printfarm.adapters.mqtt.broker import EmbeddedBroker
from printfarm.errors import BrokerError


def test_start_binds_a_free_port_when_given_port_zero() -> None:
    broker = EmbeddedBroker(port=0)
    port = broker.start()
    try:
        assert port > 0
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        broker.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_start_on_a_port_in_use_raises_broker_error(embedded_broker: EmbeddedBroker) -> None:
    second = EmbeddedBroker(port=embedded_broker.port)

    with pytest.raises(BrokerError, match=f"127.0.0.1:{embedded_broker.port}"):
        second.start()
    second.stop()


def test_stop_twice_is_harmless() -> None:
    broker = EmbeddedBroker()
    broker.start()
    broker.stop()
    broker.stop()


def test_a_client_that_drops_off_gets_its_last_will_published(embedded_broker: EmbeddedBroker) -> None:
    base = unique_base()
    received: list[tuple[str, bytes, bool]] = []
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_client_id("watcher"))
    watcher.on_message = lambda _c, _u, message: received.append((message.topic, message.payload, message.retain))
    watcher.connect("127.0.0.1", embedded_broker.port)
    watcher.loop_start()
    plugin = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_client_id("octoprint"))
    plugin.will_set(f"{base}mqtt", b"disconnected", qos=1, retain=True)
    plugin.connect("127.0.0.1", embedded_broker.port)
    plugin.loop_start()
    try:
        wait_until(plugin.is_connected, what="the plugin client to connect")
        plugin.publish(f"{base}mqtt", b"connected", qos=1, retain=True).wait_for_publish(5)
        watcher.subscribe(f"{base}#", qos=1)
        wait_until(lambda: received == [(f"{base}mqtt", b"connected", True)], what="the retained state")

        plugin.loop_stop()
        plugin.socket().close()  # the printer host vanishes without a DISCONNECT

        wait_until(lambda: (f"{base}mqtt", b"disconnected", False) in received, what="the last will")
    finally:
        watcher.disconnect()
        watcher.loop_stop()


def test_a_connecting_client_gets_only_the_retained_messages_it_subscribed_to(embedded_broker: EmbeddedBroker) -> None:
    # amqtt 0.12.1 replayed retained messages for every session's filters to each new client.
    watched, other = unique_base(), unique_base()
    clients: list[mqtt.Client] = []
    received: list[str] = []

    def connect(on_message=None) -> mqtt.Client:  # type: ignore[no-untyped-def]
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_client_id("c"))
        if on_message is not None:
            client.on_message = on_message
        client.connect("127.0.0.1", embedded_broker.port)
        client.loop_start()
        clients.append(client)
        wait_until(client.is_connected, what="a client to connect")
        return client

    try:
        other_subscriber = connect()
        other_subscribed = threading.Event()
        other_subscriber.on_subscribe = lambda *_args: other_subscribed.set()
        other_subscriber.subscribe(f"{other}#", qos=1)
        assert other_subscribed.wait(5)
        connect().publish(f"{other}progress/printing", b'{"progress": 5}', qos=1, retain=True).wait_for_publish(5)
        watcher = connect(lambda _c, _u, message: received.append(message.topic))
        subscribed = threading.Event()
        watcher.on_subscribe = lambda *_args: subscribed.set()
        watcher.subscribe(f"{watched}#", qos=1)
        assert subscribed.wait(5)
        clients[1].publish(f"{watched}event/Marker", b"{}", qos=1).wait_for_publish(5)

        wait_until(lambda: f"{watched}event/Marker" in received, what="the marker")
        assert received == [f"{watched}event/Marker"]
    finally:
        for client in clients:
            client.disconnect()
            client.loop_stop()
