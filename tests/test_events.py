"""Domain events: any number of subscribers, a failing one isolated, published only after commit,
and events raised in the MQTT ingest worker process published in the parent."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
from support.world import seed

from printfarm.auth.rules import SYSTEM
from printfarm.db.session import Database, make_engine
from printfarm.events import (
    BatchDone, BatchQueued, BedCleared, Event, EventBus, PlateFinished, PrinterEnabled, raise_event,
)
from printfarm.ingest_worker import Ack, IngestWorker

AT = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def test_two_subscribers_of_one_event_both_run_and_a_raising_one_stops_neither(caplog: pytest.LogCaptureFixture):
    bus = EventBus()
    first: list[Event] = []
    second: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("the mail server is down")

    bus.subscribe(BatchQueued, first.append)
    bus.subscribe(BatchQueued, broken)
    bus.subscribe(BatchQueued, second.append)
    bus.subscribe(PrinterEnabled, second.append)  # another type: not called for BatchQueued

    bus.publish([BatchQueued(AT, 1), BatchQueued(AT, 2)])

    assert first == second == [BatchQueued(AT, 1), BatchQueued(AT, 2)]
    assert bus.failures == 2
    assert "subscriber" in caplog.text and "BatchQueued" in caplog.text and "the mail server is down" in caplog.text


def test_a_subscriber_of_a_base_class_gets_every_event_below_it():
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(Event, seen.append)
    bus.publish([BatchQueued(AT, 1), PrinterEnabled(AT, 7)])
    assert seen == [BatchQueued(AT, 1), PrinterEnabled(AT, 7)]


def test_events_are_published_after_the_commit_and_never_after_a_rollback(tmp_path):
    bus = EventBus()
    db = Database(make_engine(f"sqlite:///{tmp_path / 'events.db'}"), bus)
    seen: list[tuple[Event, bool]] = []
    in_unit = threading.local()

    bus.subscribe(BatchQueued, lambda event: seen.append((event, getattr(in_unit, "open", False))))
    with db.unit_of_work() as session:
        in_unit.open = True
        raise_event(session, BatchQueued(AT, 1))
        assert seen == []  # not while the unit of work is open
        in_unit.open = False
    assert seen == [(BatchQueued(AT, 1), False)]

    with pytest.raises(ValueError), db.unit_of_work() as session:
        raise_event(session, BatchQueued(AT, 2))
        raise ValueError("the unit of work fails")
    assert seen == [(BatchQueued(AT, 1), False)]
    db.dispose()


@pytest.fixture
def world(new_world):
    world = seed(new_world())
    world.dispatch()
    return world


def test_an_event_raised_in_the_ingest_worker_process_reaches_a_subscriber_in_the_parent(world):
    printer = world.ids["acme/mk3-1"]
    [job] = world.ok("viewer", "GET", "/api/jobs", params={"printer_id": printer})
    with world.services.db.unit_of_work() as session:  # the site counts finished plates as QC-passed
        world.services.registry.get_site(session, SYSTEM, world.ids["acme"]).auto_accept_qc = True
    base = world.ok("admin", "GET", f"/api/printers/{printer}")["mqtt_base_topic"]
    bus = world.services.db.bus
    received: list[Event] = []
    arrived = threading.Event()

    def subscriber(event: Event) -> None:
        received.append(event)
        if isinstance(event, BedCleared):
            arrived.set()

    bus.subscribe((PlateFinished, BedCleared), subscriber)
    acks: list[Ack] = []
    worker = IngestWorker(world.services.settings, bus=bus, on_ack=acks.append)
    worker.start()
    try:
        name = job["remote_filename"]
        payload: Any = json.dumps({"name": name, "path": name, "_timestamp": 1_790_000_000}).encode()
        worker.submit([(base + "event/PrintDone", payload, False)])
        assert arrived.wait(30), f"no BedCleared from the worker (pid {worker.pid}); acks: {acks}"
    finally:
        worker.stop()
    assert [type(e) for e in received] == [PlateFinished, BedCleared]
    finished, cleared = received
    assert isinstance(finished, PlateFinished) and finished.job_id == job["id"] and finished.printer_id == printer
    assert isinstance(cleared, BedCleared) and cleared.is_automatic and cleared.job_id == job["id"]
    assert world.ok("viewer", "GET", f"/api/jobs/{job['id']}")["state"] == "completed"


def test_a_plate_tells_its_story_once_and_the_batch_is_done_when_its_units_are_counted(world):
    seen: list[Event] = []
    world.services.db.bus.subscribe(Event, seen.append)
    acme, uni = world.ids["acme/mk3-1"], world.ids["uni/mk3-1"]
    jobs = {p: world.ok("viewer", "GET", "/api/jobs", params={"printer_id": p})[0] for p in (acme, uni)}
    for printer, job in jobs.items():
        done = {"name": job["remote_filename"], "path": job["remote_filename"], "_timestamp": 1}
        world.publish(printer, "event/PrintDone", done)
        world.publish(printer, "event/PrintDone", done)  # a repeat raises nothing
    assert [(type(e), e.job_id) for e in seen] == [(PlateFinished, jobs[acme]["id"]), (PlateFinished, jobs[uni]["id"])]

    refused = world.call("operator_acme", "POST", f"/api/printers/{acme}/clear-bed", json={"good_units": 9})
    assert refused.status_code == 422
    assert len(seen) == 2  # a refused request commits nothing, so it publishes nothing

    world.ok("operator_acme", "POST", f"/api/printers/{acme}/clear-bed", json={"good_units": 4, "rejected_units": 0})
    assert [type(e) for e in seen[2:]] == [BedCleared]
    world.ok("operator_uni", "POST", f"/api/printers/{uni}/clear-bed", json={"good_units": 4, "rejected_units": 0})
    assert [type(e) for e in seen[3:]] == [BatchDone, BedCleared]
    batch_done = seen[3]
    assert isinstance(batch_done, BatchDone) and (batch_done.batch_id, batch_done.good_units) == (world.ids["batch"], 8)
    cleared = seen[4]
    assert isinstance(cleared, BedCleared) and (cleared.printer_id, cleared.job_id, cleared.good_units) == (
        uni, jobs[uni]["id"], 4)
    assert not cleared.is_automatic
