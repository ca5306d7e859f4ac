"""Dispatch when printers fail: offline with backoff, small health batches, disabling, lost plates, reconciliation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from printfarm.adapters.octoprint.fake import FakePrinter
from printfarm.clock import FrozenClock
from printfarm.db.tables import Printer, PrintJob
from printfarm.dispatch import repository
from printfarm.jobs import moves
from printfarm.jobs.rules import JobState
from printfarm.printers.rules import ConnectionState
from support.world import World, make_world, seed

START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def world(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[World]:
    world = seed(make_world(database_url, tmp_path / "world", clock=clock))
    yield world
    world.close()


def fake(world: World, site: str, name: str = "mk3-1") -> FakePrinter:
    return world.fleet.printers[f"http://{site}-{name}.printers.invalid"]


def printer(world: World, key: str) -> dict:
    return world.ok("admin", "GET", f"/api/printers/{world.ids[key]}")


def jobs_of(world: World, key: str) -> list[dict]:
    return world.ok("admin", "GET", "/api/jobs", params={"printer_id": world.ids[key]})


def version_checks(device: FakePrinter) -> int:
    return device.calls.count("GET /api/version")


def test_an_unreachable_printer_goes_offline_its_plate_returns_and_checks_back_off(world: World, clock: FrozenClock):
    fake(world, "acme").is_reachable = False
    result = world.dispatch()
    assert (result.claimed, result.started, result.failed) == (2, 1, 1)
    acme = printer(world, "acme/mk3-1")
    assert acme["connection"] == "offline" and acme["current_job"] is None
    [failed] = jobs_of(world, "acme/mk3-1")
    assert failed["state"] == "failed" and failed["failure_reason"].startswith("start failed: printer http://acme-mk3-1")

    # the plate went back to the batch: the next printer that comes along gets it
    world.add_printer("uni", "mk3-2")
    assert world.dispatch().started == 1
    assert [j["batch_id"] for j in jobs_of(world, "uni/mk3-2")] == [world.ids["batch"]]

    device = fake(world, "acme")
    asked = version_checks(device)
    for wait in (15, 30, 60, 120, 240, 240):
        clock.advance(wait - 1)
        assert world.services.health.check_printers() == 0
        assert version_checks(device) == asked, f"asked before its {wait} s backoff ran out"
        clock.advance(1)
        world.services.health.check_printers()
        asked += 1
        assert version_checks(device) == asked

    device.is_reachable = True
    clock.advance(240)
    assert world.services.health.check_printers() == 1
    assert printer(world, "acme/mk3-1")["connection"] == "online"


def test_health_checks_go_out_in_small_batches_never_a_storm(world: World, clock: FrozenClock):
    for i in range(30):
        world.add_printer("acme", f"extra-{i}")
    with world.services.db.unit_of_work() as session:
        session.execute(update(Printer).values(connection=ConnectionState.OFFLINE))
    devices = list(world.fleet.printers.values())
    for device in devices:
        device.is_reachable = False
    before = {id(d): version_checks(d) for d in devices}

    def asked() -> int:
        return sum(version_checks(d) - before[id(d)] for d in devices)

    world.services.health.check_printers(batch_size=20)
    assert asked() == 20
    world.services.health.check_printers(batch_size=20)
    assert asked() == 32  # the 12 not yet asked; the first 20 wait for their backoff
    world.services.health.check_printers(batch_size=20)
    assert asked() == 32
    clock.advance(15)
    world.services.health.check_printers(batch_size=20)
    assert asked() == 52


def test_failed_starts_put_the_plate_back_and_disable_the_printer_after_three(world: World, clock: FrozenClock):
    world.ok("operator_uni", "PATCH", f"/api/printers/{world.ids['uni/mk3-1']}", json={"is_enabled": False})
    device = fake(world, "acme")
    for attempt in range(1, 4):
        device.fail_next_start = True
        result = world.dispatch()
        assert (result.claimed, result.failed) == (1, 1), attempt
        batch = world.ok("admin", "GET", f"/api/batches/{world.ids['batch']}")
        assert batch["in_production_units"] == 0  # the plate is back in the queue
        clock.advance(300)
    acme = printer(world, "acme/mk3-1")
    assert acme["is_enabled"] is False
    assert acme["disabled_reason"].startswith("3 failed starts in a row; last: printer http://acme-mk3-1")
    assert [j["state"] for j in jobs_of(world, "acme/mk3-1")] == ["failed"] * 3
    assert world.dispatch().claimed == 0

    # an operator re-enables it: the count starts again and it prints
    world.ok("operator_acme", "PATCH", f"/api/printers/{world.ids['acme/mk3-1']}", json={"is_enabled": True})
    assert world.dispatch().started == 1


def test_a_failed_start_waits_for_its_backoff_before_the_printer_is_tried_again(world: World, clock: FrozenClock):
    world.ok("operator_uni", "PATCH", f"/api/printers/{world.ids['uni/mk3-1']}", json={"is_enabled": False})
    fake(world, "acme").fail_next_start = True
    assert world.dispatch().failed == 1
    assert world.dispatch().claimed == 0
    clock.advance(15)
    assert world.dispatch().started == 1


def test_a_printing_job_whose_printer_stays_gone_past_the_limit_is_lost_and_its_units_return(
    world: World, clock: FrozenClock
):
    assert world.dispatch().started == 2
    fake(world, "acme").is_reachable = False
    clock.advance(599)
    world.services.tracking.reconcile(lost_after_seconds=600)
    assert [j["state"] for j in jobs_of(world, "acme/mk3-1")] == ["printing"]

    clock.advance(2)
    assert world.services.tracking.reconcile(lost_after_seconds=600) == 1
    [lost] = jobs_of(world, "acme/mk3-1")
    assert lost["state"] == "lost" and lost["failure_reason"].startswith("printer unreachable for 601 s")
    assert [j["state"] for j in jobs_of(world, "uni/mk3-1")] == ["printing"]
    assert world.ok("admin", "GET", f"/api/batches/{world.ids['batch']}")["in_production_units"] == 4

    world.add_printer("uni", "mk3-2")
    assert world.dispatch().started == 1
    assert [j["state"] for j in jobs_of(world, "uni/mk3-2")] == ["printing"]


def test_reconciliation_returns_a_claim_never_sent_and_leaves_a_young_upload_alone(world: World, clock: FrozenClock):
    dispatch = world.services.dispatch
    claims = dispatch.claim()  # committed; the process "dies" before any printer is called
    assert len(claims) == 2
    acme_claim = next(c for c in claims if c.printer_id == world.ids["acme/mk3-1"])
    uni_claim = next(c for c in claims if c.printer_id == world.ids["uni/mk3-1"])
    with world.services.db.unit_of_work() as session:  # one of them had got as far as uploading
        moves.move_many(session, [uni_claim.job_id], JobState.ASSIGNED, JobState.UPLOADING, clock.now())

    assert world.services.tracking.reconcile() == 1
    assert job_state(world, acme_claim.job_id) is JobState.FAILED
    assert job_state(world, uni_claim.job_id) is JobState.UPLOADING  # another dispatcher may be sending it

    clock.advance(world.services.tracking.start_grace_seconds + 1)
    assert world.services.tracking.reconcile() == 1
    assert job_state(world, uni_claim.job_id) is JobState.FAILED
    assert fake(world, "acme").uploads == {} and fake(world, "uni").uploads == {}

    # both plates went back: the next pass starts each exactly once
    assert world.dispatch().started == 2
    assert len(fake(world, "acme").uploads) == 1 and len(fake(world, "uni").uploads) == 1


def test_a_claim_found_printing_after_a_crash_is_printing_not_started_again(world: World, clock: FrozenClock):
    dispatch = world.services.dispatch
    claims = dispatch.claim()
    acme_claim = next(c for c in claims if c.printer_id == world.ids["acme/mk3-1"])
    with world.services.db.unit_of_work() as session:
        name = session.scalar(select(PrintJob.remote_filename).where(PrintJob.id == acme_claim.job_id))
    device = fake(world, "acme")  # the upload reached the printer just before the crash
    world.fleet(device.base_url, device.api_key).ensure_connected()
    world.fleet(device.base_url, device.api_key).start_print(name, b"G28\n")

    world.services.tracking.reconcile()
    assert job_state(world, acme_claim.job_id) is JobState.PRINTING
    world.dispatch()
    assert list(device.uploads) == [name]


def job_state(world: World, job_id: int) -> JobState:
    with world.services.db.unit_of_work() as session:
        return session.scalar(select(PrintJob.state).where(PrintJob.id == job_id))
