"""MQTT fixtures: the shared Mosquitto on 127.0.0.1:1883, the embedded broker, a test-owned Mosquitto."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from adapters.mqtt.mqtt_support import Broker, Publisher
from support.mosquitto_server import MosquittoServer

from printfarm.adapters.mqtt.broker import EmbeddedBroker

SHARED_MOSQUITTO_PORT = 1883


@pytest.fixture(scope="session")
def embedded_broker() -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker()
    broker.start()
    yield broker
    broker.stop()


def _shared_mosquitto_port() -> int:
    try:
        socket.create_connection(("127.0.0.1", SHARED_MOSQUITTO_PORT), timeout=2).close()
    except OSError as err:
        pytest.fail(f"Mosquitto is not reachable on 127.0.0.1:{SHARED_MOSQUITTO_PORT}: {err} (.ci/run starts it)")
    return SHARED_MOSQUITTO_PORT


@pytest.fixture(params=["mosquitto", "embedded"])
def broker(request: pytest.FixtureRequest) -> Broker:
    """Each ingest behaviour runs against the real Mosquitto and against the embedded broker."""
    if request.param == "mosquitto":
        return Broker("mosquitto", _shared_mosquitto_port(), has_shared_subscriptions=True)
    embedded: EmbeddedBroker = request.getfixturevalue("embedded_broker")
    return Broker("embedded", embedded.port, has_shared_subscriptions=False)


@pytest.fixture
def mosquitto() -> Broker:
    return Broker("mosquitto", _shared_mosquitto_port(), has_shared_subscriptions=True)


@pytest.fixture
def mosquitto_server(tmp_path: Path) -> Iterator[MosquittoServer]:
    """A Mosquitto of this test's own, from config/mosquitto.conf, free to stop and restart."""
    server = MosquittoServer(tmp_path / "mosquitto")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def publisher_factory() -> Iterator[Callable[[int], Publisher]]:
    publishers: list[Publisher] = []

    def make(port: int) -> Publisher:
        publisher = Publisher(port)
        publishers.append(publisher)
        return publisher

    yield make
    for publisher in publishers:
        publisher.close()
