"""One batch of many messages: coalesced per printer and job, with job moves applied in order.

TrackingService writes progress, temperatures and state text as one bulk update per printer and
job, and takes the locked path only for connection changes and job-moving events; the outcome must
be what applying the messages one by one gives.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.world import seed


@pytest.fixture
def world(new_world):
    return seed(new_world(), units=8)


def running_job(world, key: str) -> dict[str, Any]:
    assert world.dispatch().started == 2
    return world.ok("viewer", "GET", "/api/jobs", params={"printer_id": world.ids[key]})[0]


def apply(world, *messages: tuple[int, str, Any]) -> None:
    batch = []
    for printer_id, suffix, payload in messages:
        base = world.ok("admin", "GET", f"/api/printers/{printer_id}")["mqtt_base_topic"]
        body = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        batch.append((base + suffix, body))
    world.services.tracking.apply_raw(batch)


def test_a_batch_keeps_the_highest_progress_and_the_last_temperatures_and_state_text(world):
    job = running_job(world, "acme/mk3-1")
    other = running_job_of(world, "uni/mk3-1")
    printer = world.ids["acme/mk3-1"]
    name = job["remote_filename"]
    apply(
        world,
        (printer, "progress/printing", {"path": name, "progress": 30}),
        (printer, "temperature/bed", {"actual": 58.0, "target": 60}),
        (printer, "progress/printing", {"path": name, "progress": 55}),
        (printer, "temperature/tool0", {"actual": 210.5, "target": 215}),
        (printer, "progress/printing", {"path": name, "progress": 41}),  # reordered: ignored
        (printer, "temperature/bed", {"actual": 59.5, "target": 60}),
        (printer, "event/ZChange", {"state_string": "Printing"}),
        (printer, "event/Upload", {"state_string": "Operational"}),
        # the other printer's job, named by this printer: not this printer's to move
        (printer, "progress/printing", {"path": other["remote_filename"], "progress": 90}),
    )
    assert world.ok("viewer", "GET", f"/api/jobs/{job['id']}")["progress_percent"] == 55
    assert world.ok("viewer", "GET", f"/api/jobs/{other['id']}")["progress_percent"] == 0
    seen = world.ok("viewer", "GET", f"/api/printers/{printer}")
    assert (seen["bed_temp_c"], seen["tool_temp_c"], seen["state_text"]) == (59.5, 210.5, "Operational")
    assert seen["last_seen_at"] is not None

    apply(world, (printer, "progress/printing", {"path": name, "progress": 20}))  # a later, lower one
    assert world.ok("viewer", "GET", f"/api/jobs/{job['id']}")["progress_percent"] == 55
    apply(world, (printer, "temperature/bed", {"target": 60}))  # no reading: the value is unknown now
    assert world.ok("viewer", "GET", f"/api/printers/{printer}")["bed_temp_c"] is None


def running_job_of(world, key: str) -> dict[str, Any]:
    return world.ok("viewer", "GET", "/api/jobs", params={"printer_id": world.ids[key]})[0]


def test_moves_and_progress_in_one_batch_apply_as_one_by_one(world):
    job = running_job(world, "acme/mk3-1")
    printer = world.ids["acme/mk3-1"]
    name = job["remote_filename"]
    apply(
        world,
        (printer, "event/PrintPaused", {"name": name}),
        (printer, "progress/printing", {"path": name, "progress": 60}),  # paused is still running
        (printer, "event/PrintResumed", {"name": name}),
        (printer, "progress/printing", {"path": name, "progress": 70}),
    )
    assert running_job_of(world, "acme/mk3-1")["state"] == "printing"
    assert running_job_of(world, "acme/mk3-1")["progress_percent"] == 70

    apply(
        world,
        (printer, "event/PrintDone", {"name": name}),
        (printer, "progress/printing", {"path": name, "progress": 80}),  # after done: finished stays 100
        (printer, "event/PrintDone", {"name": name}),  # a repeat moves nothing
    )
    done = running_job_of(world, "acme/mk3-1")
    assert (done["state"], done["progress_percent"]) == ("finished", 100)
    assert world.services.tracking.stats_snapshot()["applied"] == 7


def test_a_connection_change_and_traffic_in_one_batch(world):
    printer = world.ids["acme/mk3-1"]
    apply(
        world,
        (printer, "mqtt", "disconnected"),
        (printer, "temperature/tool0", {"actual": 25.0}),
    )
    seen = world.ok("viewer", "GET", f"/api/printers/{printer}")
    assert (seen["connection"], seen["tool_temp_c"]) == ("offline", 25.0)
    assert seen["last_seen_at"] is not None
    apply(world, (printer, "mqtt", "connected"), (printer, "temperature/tool0", {"actual": 26.0}))
    seen = world.ok("viewer", "GET", f"/api/printers/{printer}")
    assert (seen["connection"], seen["tool_temp_c"]) == ("online", 26.0)
