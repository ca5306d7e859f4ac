"""Notifications through Apprise to a real SMTP server and a real webhook receiver, driven by the sender task;
the printers' PrintDone through a real Mosquitto (restarted mid-run) and printfarm's MQTT ingest."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from adapters.mqtt.mqtt_support import Publisher, wait_until
from support.mosquitto_server import MosquittoServer
from support.world import World, seed

from notifications.parts import SmtpServer, Webhook, free_port

from printfarm.adapters.mqtt.ingest import MqttIngest
from printfarm.adapters.octoprint.mqtt_feed import OCTOPRINT_MQTT_FEED
from printfarm.clock import FrozenClock
from printfarm.events import PrinterFault, raise_event
from printfarm.notifications.rules import retry_delay


ACME, UNI = "acme-ops@acme.test", "uni-ops@uni.test"


def fault(world: World, clock: FrozenClock, printer: str, reason: str) -> None:
    """A printer stops itself: the event its detector raises, committed and published on the bus."""
    with world.services.db.unit_of_work() as session:
        raise_event(session, PrinterFault(clock.now(), world.ids[printer], reason))


@dataclass
class MqttFeed:
    """printfarm's MQTT ingest on a test-owned Mosquitto, applying into the world's tracking as `serve` does."""

    world: World
    broker: MosquittoServer
    ingest: MqttIngest
    connects: list[int]

    def publish(self, printer_id: int, suffix: str, payload: dict[str, object]) -> None:
        topic = self.world.ok("admin", "GET", f"/api/printers/{printer_id}")["mqtt_base_topic"] + suffix
        publisher = Publisher(self.broker.port)  # a new one after a restart, as OctoPrint-MQTT reconnects
        try:
            publisher.publish(topic, json.dumps(payload).encode())
        finally:
            publisher.close()

    def restart_broker(self) -> None:
        """Stop Mosquitto and start it again; return once the ingest has reconnected and resubscribed."""
        before = len(self.connects)
        self.broker.stop()
        self.broker.start()
        wait_until(lambda: len(self.connects) > before, 30, "the ingest to reconnect after the broker restart")


@pytest.fixture
def mqtt_feed(world: World, tmp_path: Path) -> Iterator[MqttFeed]:
    broker = MosquittoServer(tmp_path / "mosquitto")
    broker.start()
    connects: list[int] = []
    ingest = MqttIngest(host="127.0.0.1", port=broker.port, client_id=f"pf-notify-{uuid.uuid4().hex[:10]}",
                        on_batch=world.services.tracking.apply_raw, on_connect=lambda: connects.append(1),
                        topic_filters=OCTOPRINT_MQTT_FEED.topic_filters)
    ingest.watch(world.ok("admin", "GET", f"/api/printers/{world.ids[p]}")["mqtt_base_topic"]
                 for p in ("acme/mk3-1", "uni/mk3-1"))
    ingest.start()
    try:
        assert ingest.wait_connected(30), "the ingest did not connect to the test's Mosquitto"
        yield MqttFeed(world, broker, ingest, connects)
    finally:
        ingest.stop()
        broker.stop()


def finish(world: World, site: str, feed: MqttFeed | None = None) -> dict:
    """The site's printer finishes its plate and says so (through the broker, given a feed); the plate waits."""
    printer_id = world.ids[f"{site}/mk3-1"]
    job = world.ok("viewer", "GET", "/api/jobs", params={"printer_id": printer_id, "state": "printing"})[0]
    world.fleet.printers[f"http://{site}-mk3-1.printers.invalid"].finish_print()
    done = {"name": job["remote_filename"], "path": job["remote_filename"], "origin": "local", "_timestamp": 1}
    if feed is None:
        world.publish(printer_id, "event/PrintDone", done)
    else:
        feed.publish(printer_id, "event/PrintDone", done)
        wait_until(lambda: world.ok("viewer", "GET", f"/api/jobs/{job['id']}")["state"] == "finished", 30,
                   f"{site}'s PrintDone to arrive through the broker")
    return job


def clear(world: World, site: str, good: int) -> None:
    world.ok(f"operator_{site}", "POST", f"/api/printers/{world.ids[f'{site}/mk3-1']}/clear-bed",
             json={"good_units": good, "rejected_units": 0})


@pytest.fixture
def world(notify_worlds: Callable[..., World], smtp: SmtpServer, webhook: Webhook) -> World:
    world = seed(notify_worlds(), units=8)
    for site, address in (("acme", ACME), ("uni", UNI)):
        world.ok(f"operator_{site}", "POST", "/api/notifications/channels",
                 json={"audience": "site", "site_id": world.ids[site], "url": smtp.url(address)})
        world.ok(f"operator_{site}", "PUT", f"/api/notifications/sites/{world.ids[site]}",
                 json={"bed_wait_delay_seconds": 600, "bed_reminder_seconds": 1200, "bed_reminders": 1})
    world.ok("coordinator", "POST", "/api/notifications/channels",
             json={"audience": "coordinators", "url": webhook.url("/coordinators")})
    world.ok("hospital", "POST", "/api/notifications/channels",
             json={"audience": "hospital", "hospital_id": world.ids["hospital"], "url": webhook.url("/hospital")})
    return world


def test_bed_waiting_reminder_fault_and_batch_done_arrive_once_each_to_their_recipients(
    world: World, clock: FrozenClock, smtp: SmtpServer, webhook: Webhook, mqtt_feed: MqttFeed,
) -> None:
    send = world.services.notifications.send_due
    assert world.dispatch().started == 2
    acme_job = finish(world, "acme", mqtt_feed)
    assert send().sent == 0  # the site's delay has not passed
    assert smtp.messages == []

    clock.advance(600)
    assert send().sent == 1
    assert smtp.subjects_to(ACME) == ["acme/mk3-1: plate waiting to be cleared"]

    mqtt_feed.restart_broker()
    # OctoPrint-MQTT sends its PrintDone again after the reconnect (QoS 1: at least once): no second notice
    mqtt_feed.publish(world.ids["acme/mk3-1"], "event/PrintDone", {
        "name": acme_job["remote_filename"], "path": acme_job["remote_filename"], "origin": "local", "_timestamp": 1})
    finish(world, "uni", mqtt_feed)
    wait_until(lambda: mqtt_feed.ingest.messages_received >= 3, 30, "the replayed PrintDone to be applied")
    clear(world, "uni", 4)  # taken off before its delay: uni's operators are never told
    clock.advance(1200)
    assert send().sent == 1
    assert smtp.subjects_to(ACME) == ["acme/mk3-1: plate waiting to be cleared",
                                      "acme/mk3-1: plate waiting to be cleared (reminder 1)"]

    fault(world, clock, "uni/mk3-1", "thermal runaway")
    assert send().sent == 2
    clear(world, "acme", 4)  # the batch's 8 units are in
    assert send().sent == 2
    clock.advance(3 * 3600)
    assert send().sent == 0  # nothing twice

    batch = f"Batch {world.ids['batch']} done"
    assert smtp.subjects_to(ACME) == ["acme/mk3-1: plate waiting to be cleared",
                                      "acme/mk3-1: plate waiting to be cleared (reminder 1)"]
    assert smtp.subjects_to(UNI) == ["uni/mk3-1: in fault, waiting for a person"]
    assert len(smtp.messages) == 3
    assert webhook.titles_at("/coordinators") == ["uni/mk3-1: in fault, waiting for a person", batch]
    assert webhook.titles_at("/hospital") == [batch]
    bodies = [body["message"] for _, body in webhook.posts]
    assert "thermal runaway" in bodies[0]
    assert "8 good units" in bodies[-1] and "RC3 headband for Sahlgrenska" in bodies[-1]

    record = world.ok("admin", "GET", "/api/notifications", params={"limit": 100})
    states = sorted((n["kind"], n["state"]) for n in record)
    assert states == sorted([
        ("bed_waiting", "sent"), ("bed_reminder", "sent"),  # acme
        ("bed_waiting", "cancelled"), ("bed_reminder", "cancelled"),  # uni: cleared in time
        ("printer_fault", "sent"), ("printer_fault", "sent"),  # uni's operators, the coordinators
        ("batch_done", "sent"), ("batch_done", "sent"),  # the hospital, the coordinators
    ])


def test_a_failing_webhook_is_retried_with_backoff_and_each_attempt_recorded(
    world: World, clock: FrozenClock, webhook: Webhook,
) -> None:
    send = world.services.notifications.send_due
    webhook.fail_next = 2
    fault(world, clock, "acme/mk3-1", "bed heater failed")
    assert send().retrying == 1  # the coordinators' webhook answered 500; acme's e-mail went
    [row] = world.ok("coordinator", "GET", "/api/notifications", params={"state": "pending"})
    assert (row["attempts"], row["kind"]) == (1, "printer_fault")
    assert "500" in row["last_error"]
    assert send().retrying == 0  # not due before its backoff
    clock.advance(retry_delay(1).total_seconds())
    assert send().retrying == 1
    clock.advance(retry_delay(2).total_seconds())
    assert send().sent == 1
    assert webhook.refused == 2
    assert webhook.titles_at("/coordinators") == ["acme/mk3-1: in fault, waiting for a person"]
    [sent] = [n for n in world.ok("admin", "GET", "/api/notifications") if n["channel_id"] == row["channel_id"]]
    assert (sent["state"], sent["attempts"]) == ("sent", 3)
    assert "500" in sent["last_error"]  # why the earlier attempts failed stays on record


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


def test_an_unreachable_channel_is_recorded_without_its_secret_topic_in_the_record_or_the_logs(
    world: World, clock: FrozenClock,
) -> None:
    kept, root = _Kept(), logging.getLogger()  # what the process's log would get (caplog also taps Apprise's own)
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(kept)
    try:
        topic = "drive-ops-secret-4711"
        world.ok("admin", "POST", "/api/notifications/channels",
                 json={"audience": "coordinators", "url": f"ntfy://127.0.0.1:{free_port()}/{topic}"})
        fault(world, clock, "acme/mk3-1", "no filament")
        assert world.services.notifications.send_due().retrying == 1
    finally:
        root.removeHandler(kept)
        root.setLevel(level)
    [row] = world.ok("admin", "GET", "/api/notifications", params={"state": "pending"})
    assert row["last_error"].startswith("A Connection error occurred sending ntfy:http://127.0.0.1:")
    assert topic not in row["last_error"]
    assert any("notification" in line and "failed (attempt 1)" in line for line in kept.lines)
    assert not [line for line in kept.lines if topic in line]
