"""MqttIngest against real brokers: Mosquitto (shared and test-owned) and the embedded amqtt broker."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import pytest
from adapters.mqtt.mqtt_support import Broker, Publisher, forget_session, unique_base, unique_client_id, wait_until
from support.mosquitto_server import MosquittoServer, free_port

from printfarm.adapters.mqtt.ingest import MqttIngest, RawMessage


class Collector:
    """An on_batch that keeps every batch; thread-safe for reading from the test."""

    def __init__(self) -> None:
        self.batches: list[list[RawMessage]] = []
        self._lock = threading.Lock()

    def __call__(self, batch: list[RawMessage]) -> None:
        with self._lock:
            self.batches.append(list(batch))

    @property
    def messages(self) -> list[RawMessage]:
        with self._lock:
            return [message for batch in self.batches for message in batch]


IngestFactory = Callable[..., MqttIngest]


@pytest.fixture
def make_ingest() -> Iterator[IngestFactory]:
    """Builds started ingests and stops them, and forgets their sessions, after the test."""
    made: list[MqttIngest] = []

    def make(port: int, *, client_id: str | None = None, start: bool = True, **options: object) -> MqttIngest:
        options.setdefault("on_batch", Collector())
        ingest = MqttIngest(host="127.0.0.1", port=port, client_id=client_id or unique_client_id(), **options)  # type: ignore[arg-type]
        made.append(ingest)
        if start:
            ingest.start()
        return ingest

    yield make
    for ingest in made:
        ingest.stop()
        forget_session(ingest.port, ingest.client_id)


def progress_payload(percent: int) -> bytes:
    return b'{"location": "local", "path": "pf-7-headband.gcode", "progress": %d, "_timestamp": 1700000000}' % percent


def test_published_messages_arrive_in_batches_in_order(
    broker: Broker, make_ingest: IngestFactory, publisher_factory: Callable[[int], Publisher]
) -> None:
    base = unique_base()
    collector = Collector()
    ingest = make_ingest(broker.port, on_batch=collector, max_batch=50, flush_interval_seconds=0.05)
    ingest.watch([base])
    assert ingest.wait_connected(10)
    publisher = publisher_factory(broker.port)
    sent = [(f"{base}progress/printing", progress_payload(i % 101)) for i in range(300)]
    for topic, payload in sent:
        publisher.publish(topic, payload)

    wait_until(lambda: len(collector.messages) >= len(sent), what="300 messages")

    assert [(topic, payload) for topic, payload, _ in collector.messages] == sent
    assert not any(retained for _, _, retained in collector.messages)
    assert all(1 <= len(batch) <= 50 for batch in collector.batches)
    assert ingest.messages_received == len(sent)
    assert ingest.batches_delivered == len(collector.batches)


def test_retained_progress_is_replayed_on_connect_marked_retained(
    broker: Broker, make_ingest: IngestFactory, publisher_factory: Callable[[int], Publisher]
) -> None:
    base = unique_base()
    publisher = publisher_factory(broker.port)
    publisher.publish(f"{base}progress/printing", progress_payload(42), retain=True)
    try:
        collector = Collector()
        ingest = make_ingest(broker.port, on_batch=collector)
        ingest.watch([base])

        wait_until(lambda: len(collector.messages) >= 1, what="the retained message")

        assert collector.messages == [(f"{base}progress/printing", progress_payload(42), True)]
    finally:
        publisher.publish(f"{base}progress/printing", b"", retain=True)  # clears it on the shared broker


def test_on_connect_runs_after_the_subscriptions_are_acknowledged(broker: Broker, make_ingest: IngestFactory) -> None:
    calls: list[bool] = []
    ingest = make_ingest(broker.port, start=False, on_connect=lambda: calls.append(True))
    ingest.watch([unique_base(), unique_base()])
    ingest.start()

    assert ingest.wait_connected(10)
    wait_until(lambda: calls == [True], what="on_connect")


def test_watch_is_idempotent_and_unwatch_stops_delivery(
    broker: Broker, make_ingest: IngestFactory, publisher_factory: Callable[[int], Publisher]
) -> None:
    kept, dropped = unique_base(), unique_base()
    collector = Collector()
    ingest = make_ingest(broker.port, on_batch=collector, flush_interval_seconds=0.02)
    ingest.watch([kept, dropped])
    ingest.watch([kept])
    assert ingest.wait_connected(10)
    publisher = publisher_factory(broker.port)

    ingest.unwatch([dropped])

    def probe_is_ignored() -> bool:
        # Messages from one publisher arrive in order: a probe still subscribed comes before the marker.
        start = len(collector.messages)
        publisher.publish(f"{dropped}event/Probe", b"{}")
        publisher.publish(f"{kept}event/Marker", b"{}")
        wait_until(lambda: any(topic.endswith("Marker") for topic, _, _ in collector.messages[start:]), what="the marker")
        return [topic for topic, _, _ in collector.messages[start:]] == [f"{kept}event/Marker"]

    wait_until(probe_is_ignored, what="the unwatch to take effect")


def test_the_subscriptions_are_the_feeds_topic_filters_of_each_base(
    broker: Broker, make_ingest: IngestFactory, publisher_factory: Callable[[int], Publisher]
) -> None:
    base = unique_base()
    collector = Collector()

    def only_events(base_topic: str) -> list[str]:  # a feed that subscribes less than all of the base
        return [f"{base_topic}event/+"]

    ingest = make_ingest(broker.port, on_batch=collector, flush_interval_seconds=0.02, topic_filters=only_events)
    ingest.watch([base])
    assert ingest.wait_connected(10)
    publisher = publisher_factory(broker.port)
    publisher.publish(f"{base}progress/printing", progress_payload(5))
    publisher.publish(f"{base}event/PrintDone", b"{}")

    wait_until(lambda: len(collector.messages) >= 1, what="the event")
    assert [topic for topic, _, _ in collector.messages] == [f"{base}event/PrintDone"]


def test_a_raising_on_batch_is_logged_and_the_consumer_goes_on(
    broker: Broker,
    make_ingest: IngestFactory,
    publisher_factory: Callable[[int], Publisher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    base = unique_base()
    kept: list[RawMessage] = []

    def on_batch(batch: list[RawMessage]) -> None:
        if any(payload == b'{"n": 1}' for _, payload, _ in batch):
            raise RuntimeError("database is down")
        kept.extend(batch)

    ingest = make_ingest(broker.port, on_batch=on_batch, flush_interval_seconds=0.02)
    ingest.watch([base])
    assert ingest.wait_connected(10)
    publisher = publisher_factory(broker.port)
    with caplog.at_level(logging.ERROR, logger="printfarm.adapters.mqtt.ingest"):
        publisher.publish(f"{base}event/PrintStarted", b'{"n": 1}')
        wait_until(lambda: ingest.batches_delivered >= 1, what="the failing batch")
        publisher.publish(f"{base}event/PrintDone", b'{"n": 2}')

        wait_until(lambda: len(kept) == 1, what="the next batch")

    assert kept[0][1] == b'{"n": 2}'
    assert "on_batch failed; 1 messages dropped" in caplog.text


def test_stop_hands_over_what_is_buffered(
    broker: Broker, make_ingest: IngestFactory, publisher_factory: Callable[[int], Publisher]
) -> None:
    base = unique_base()
    collector = Collector()
    ingest = make_ingest(broker.port, on_batch=collector, flush_interval_seconds=3600)
    ingest.watch([base])
    assert ingest.wait_connected(10)
    publisher_factory(broker.port).publish(f"{base}event/PrintDone", b"{}")
    wait_until(lambda: ingest.messages_received == 1, what="the message to be received")
    assert collector.messages == []

    ingest.stop()

    assert [topic for topic, _, _ in collector.messages] == [f"{base}event/PrintDone"]


def test_a_persistent_session_keeps_qos1_messages_while_the_ingest_is_away(
    broker: Broker, make_ingest: IngestFactory, publisher_factory: Callable[[int], Publisher]
) -> None:
    base, client_id = unique_base(), unique_client_id()
    first = make_ingest(broker.port, client_id=client_id)
    first.watch([base])
    assert first.wait_connected(10)
    first.stop()
    publisher = publisher_factory(broker.port)
    sent = [(f"{base}progress/printing", progress_payload(i)) for i in range(1, 21)]
    for topic, payload in sent:
        publisher.publish(topic, payload, qos=1)

    collector = Collector()
    make_ingest(broker.port, client_id=client_id, on_batch=collector).watch([base])

    wait_until(lambda: len(collector.messages) >= len(sent), what="the queued messages")
    assert [(topic, payload) for topic, payload, _ in collector.messages] == sent


# -- Mosquitto only: persistent sessions across restarts, shared subscriptions ------------------


def test_start_keeps_retrying_until_the_broker_comes_up(tmp_path, make_ingest: IngestFactory) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    ingest = make_ingest(port)
    ingest.watch([unique_base()])
    assert not ingest.wait_connected(0.5)

    server = MosquittoServer(tmp_path / "late", port=port)
    server.start()
    try:
        assert ingest.wait_connected(15)
    finally:
        ingest.stop()
        server.stop()


def test_ingest_resubscribes_after_a_broker_restart_that_lost_every_session(
    mosquitto_server: MosquittoServer, make_ingest: IngestFactory, publisher_factory: Callable[[int], Publisher]
) -> None:
    base = unique_base()
    collector = Collector()
    connects: list[bool] = []
    ingest = make_ingest(mosquitto_server.port, on_batch=collector, on_connect=lambda: connects.append(True))
    ingest.watch([base])
    assert ingest.wait_connected(10)

    mosquitto_server.stop()
    wait_until(lambda: not ingest.wait_connected(0), what="the ingest to notice the broker is gone")
    (mosquitto_server.data_dir / "mosquitto.db").unlink()  # the broker forgets the subscription
    mosquitto_server.start()
    assert ingest.wait_connected(15)
    publisher_factory(mosquitto_server.port).publish(f"{base}event/PrintDone", b"{}")

    wait_until(lambda: len(collector.messages) == 1, what="the message after the restart")
    assert connects == [True, True]


def test_messages_sent_while_the_ingest_is_away_arrive_after_it_reconnects(
    mosquitto_server: MosquittoServer, make_ingest: IngestFactory, publisher_factory: Callable[[int], Publisher]
) -> None:
    base, client_id = unique_base(), unique_client_id()
    first = make_ingest(mosquitto_server.port, client_id=client_id)
    first.watch([base])
    assert first.wait_connected(10)
    first.stop()
    mosquitto_server.restart()  # the session survives in the persistence file
    publisher = publisher_factory(mosquitto_server.port)
    sent = [(f"{base}progress/printing", progress_payload(i)) for i in range(1, 51)]
    for topic, payload in sent:
        publisher.publish(topic, payload, qos=1)
    # OctoPrint-MQTT publishes events with QoS 0; config/mosquitto.conf queues those too.
    publisher.publish(f"{base}event/PrintDone", b'{"name": "pf-7-headband.gcode"}', qos=0)
    sent.append((f"{base}event/PrintDone", b'{"name": "pf-7-headband.gcode"}'))

    collector = Collector()
    second = make_ingest(mosquitto_server.port, client_id=client_id, on_batch=collector)
    second.watch([base])

    wait_until(lambda: len(collector.messages) >= len(sent), what="the queued messages")
    assert [(topic, payload) for topic, payload, _ in collector.messages] == sent


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_a_shared_subscription_splits_messages_between_ingests(
    protocol: str,
    mosquitto: Broker,
    make_ingest: IngestFactory,
    publisher_factory: Callable[[int], Publisher],
) -> None:
    base = unique_base()
    collectors = [Collector(), Collector()]
    ingests = [
        make_ingest(mosquitto.port, protocol=protocol, shared_group="printfarm", on_batch=collector)
        for collector in collectors
    ]
    for ingest in ingests:
        ingest.watch([base])
        assert ingest.wait_connected(10)
    publisher = publisher_factory(mosquitto.port)
    sent = {(f"{base}event/E{i}", b"{}") for i in range(200)}
    for topic, payload in sorted(sent):
        publisher.publish(topic, payload)

    wait_until(lambda: sum(len(c.messages) for c in collectors) >= len(sent), what="all messages")

    received = [[(topic, payload) for topic, payload, _ in c.messages] for c in collectors]
    assert all(received), "each ingest gets a share"
    assert len(received[0]) + len(received[1]) == len(sent)
    assert set(received[0]) | set(received[1]) == sent
