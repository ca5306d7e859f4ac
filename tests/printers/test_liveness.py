"""Printer liveness a user can see: offline at once with its reason, a plate lost after the setting,
a lost plate found finished, reconciliation when a printer is back, and faults held for a person.

Fake printers (the fast layer) and a frozen clock, on SQLite and PostgreSQL; tests/e2e has the same
with real OctoPrint servers and the real OctoPrint-MQTT plugin.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from printfarm.adapters.octoprint.fake import FakePrinter
from printfarm.cli import _register_optional_commands, app
from printfarm.clock import FrozenClock
from printfarm.events import FaultAcknowledged, PrinterFault, PrinterOnline
from support.world import World, make_world, seed

START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
THERMAL_RUNAWAY = "Thermal Runaway, system stopped! Heater_ID: bed - Printer halted. kill() called!"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def world(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[World]:
    world = seed(make_world(database_url, tmp_path / "world", clock=clock))
    yield world
    world.close()


def fake(world: World, site: str = "acme") -> FakePrinter:
    return world.fleet.printers[f"http://{site}-mk3-1.printers.invalid"]


def printer(world: World, site: str = "acme") -> dict:
    return world.ok("viewer", "GET", f"/api/printers/{world.ids[f'{site}/mk3-1']}")


def jobs_of(world: World, site: str = "acme") -> list[dict]:
    return world.ok("viewer", "GET", "/api/jobs", params={"printer_id": world.ids[f"{site}/mk3-1"]})


def batch(world: World) -> dict:
    return world.ok("viewer", "GET", f"/api/batches/{world.ids['batch']}")


def recorded(world: World, event_type: type) -> list:
    events: list = []
    world.services.db.bus.subscribe(event_type, events.append)
    return events


@pytest.mark.parametrize(("suffix", "payload", "reason"), [
    ("mqtt", "disconnected", "its MQTT client disconnected (last will)"),
    ("event/Disconnected", {"_event": "Disconnected", "_timestamp": 1}, "OctoPrint disconnected from its board"),
    ("event/PrinterStateChanged", {"state_id": "OFFLINE", "state_string": "Offline", "_timestamp": 1},
     "OctoPrint state Offline"),
    ("event/PrinterStateChanged", {"state_id": "CLOSED_WITH_ERROR", "state_string": "Offline after error",
                                   "_timestamp": 1}, "OctoPrint state Offline after error"),
])
def test_a_printer_that_says_it_is_gone_is_offline_at_once_with_its_reason_in_the_api_and_metrics(
    world: World, clock: FrozenClock, suffix: str, payload: object, reason: str
):
    world.dispatch()
    clock.advance(3)
    world.publish(world.ids["acme/mk3-1"], suffix, payload)
    shown = printer(world)
    assert (shown["connection"], shown["connection_reason"]) == ("offline", reason)
    assert shown["connection_changed_at"].startswith("2026-03-02T10:00:03")
    assert printer(world, "uni")["connection"] == "online"
    metrics = world.client.get("/metrics", headers=world.headers("viewer")).text
    assert f'connection="offline",reason="{reason}"' in metrics
    assert 'printfarm_printers{status="offline"} 1' in metrics


def test_a_failed_silent_poll_shows_offline_at_once_and_the_plate_is_lost_after_the_setting(
    world: World, clock: FrozenClock
):
    assert world.services.settings.printer_lost_after_seconds == 120
    assert world.dispatch().started == 2
    fake(world).is_reachable = False
    clock.advance(61)
    assert world.services.tracking.poll_silent_printers(60) == 0
    shown = printer(world)
    assert shown["connection"] == "offline"
    assert shown["connection_reason"].startswith("printer http://acme-mk3-1.printers.invalid: GET /api/printer")
    assert [j["state"] for j in jobs_of(world)] == ["printing"]  # not yet: it may come back

    clock.advance(60)
    assert world.services.tracking.poll_silent_printers(60) == 1
    [lost] = jobs_of(world)
    assert lost["state"] == "lost" and lost["failure_reason"].startswith("printer unreachable for 121 s")
    assert batch(world)["in_production_units"] == 4  # the lost plate's 4 units are queued again
    assert [j["state"] for j in jobs_of(world, "uni")] == ["printing"]


def test_a_lost_plate_found_finished_when_its_printer_returns_counts_once_at_qc(world: World, clock: FrozenClock):
    world.dispatch()
    fake(world).is_reachable = False
    clock.advance(121)
    world.services.tracking.poll_silent_printers(60)
    [lost] = jobs_of(world)
    assert lost["state"] == "lost"

    device = fake(world)
    device.is_reachable = True
    device.finish_print()  # it kept printing while it could not be reached
    assert world.services.tracking.reconcile_printer(world.ids["acme/mk3-1"]) == 1
    assert printer(world)["connection"] == "online"
    found, still_lost = jobs_of(world)  # newest first
    assert (still_lost["id"], still_lost["state"]) == (lost["id"], "lost")
    assert (found["state"], found["remote_filename"], found["units_per_print"]) == (
        "finished", lost["remote_filename"], 4)
    assert batch(world)["in_production_units"] == 8

    # its PrintDone, late or replayed, and another reconciliation find nothing new
    done = {"name": lost["remote_filename"], "path": lost["remote_filename"], "origin": "local", "_timestamp": 1}
    world.publish(world.ids["acme/mk3-1"], "event/PrintDone", done)
    world.services.tracking.reconcile_printer(world.ids["acme/mk3-1"])
    assert len(jobs_of(world)) == 2
    cleared = world.ok("operator_acme", "POST", f"/api/printers/{world.ids['acme/mk3-1']}/clear-bed",
                       json={"good_units": 3, "rejected_units": 1})
    assert cleared["job_id"] == found["id"]
    world.publish(world.ids["acme/mk3-1"], "event/PrintDone", done)
    shown = batch(world)
    assert (shown["good_units"], shown["rejected_units"]) == (3, 1)
    assert [j["state"] for j in jobs_of(world)] == ["completed", "lost"]


def test_a_printer_back_after_offline_raises_online_and_its_plate_is_reconciled(world: World, clock: FrozenClock):
    online = recorded(world, PrinterOnline)
    world.dispatch()
    world.publish(world.ids["acme/mk3-1"], "mqtt", "disconnected")
    fake(world).fail_print()  # OctoPrint restarted: no board, no job
    fake(world).is_connected, fake(world).state_text, fake(world).file_name = True, "Operational", None
    clock.advance(2)
    world.publish(world.ids["acme/mk3-1"], "event/Connected", {"port": "VIRTUAL", "_timestamp": 2})
    assert [(e.printer_id, e.via) for e in online] == [(world.ids["acme/mk3-1"], "OctoPrint connected to its board")]
    assert world.services.tracking.reconcile_printer(world.ids["acme/mk3-1"]) == 1
    [job] = jobs_of(world)
    assert job["state"] == "failed" and job["failure_reason"] == "reconciled: printer is Operational, plate not found"


@pytest.mark.parametrize(("event", "payload", "reason"), [
    ("Error", {"error": THERMAL_RUNAWAY, "reason": "firmware", "consequence": "emergency"},
     f"firmware error: {THERMAL_RUNAWAY}"),
    ("Error", {"error": "MINTEMP triggered", "reason": "firmware", "consequence": "disconnect"},
     "firmware error: MINTEMP triggered"),
    ("PrintFailed", {"reason": "error", "error": THERMAL_RUNAWAY}, f"print failed: {THERMAL_RUNAWAY}"),
])
def test_a_firmware_emergency_holds_the_printer_in_fault_until_its_operator_acknowledges(
    world: World, clock: FrozenClock, event: str, payload: dict, reason: str
):
    faults, acknowledged = recorded(world, PrinterFault), recorded(world, FaultAcknowledged)
    world.ok("operator_uni", "PATCH", f"/api/printers/{world.ids['uni/mk3-1']}", json={"is_enabled": False})
    world.dispatch()
    [job] = jobs_of(world)
    acme = world.ids["acme/mk3-1"]
    world.publish(acme, f"event/{event}", {**payload, "name": job["remote_filename"], "_timestamp": 5})
    fake(world).fail_print()
    for suffix, message in [("event/Disconnected", {}), ("event/Connected", {}), ("mqtt", "connected"),
                            ("event/PrinterStateChanged", {"state_id": "OPERATIONAL", "state_string": "Operational"})]:
        world.publish(acme, suffix, message)  # nothing it says ends the fault
    shown = printer(world)
    assert (shown["connection"], shown["connection_reason"]) == ("fault", reason)
    assert [(e.printer_id, e.reason) for e in faults] == [(acme, reason)]
    assert 'printfarm_printers{status="fault"} 1' in world.client.get("/metrics", headers=world.headers("viewer")).text
    world.client.cookies.set("printfarm_token", world.tokens["viewer"])
    page = world.client.get("/printers").text  # the printer card says it too
    assert f'<p class="connection fault" data-connection="fault">Fault, held for its operator: <span class="reason">{reason}' \
        in page.replace("&#39;", "'")

    # the plate ended; its bed is cleared, a batch waits: no plate starts, the board is never connected
    world.publish(acme, "event/PrintFailed", {"name": job["remote_filename"], "reason": "error", "_timestamp": 6})
    world.ok("operator_acme", "POST", f"/api/printers/{acme}/clear-bed", json={"good_units": 0})
    connects = fake(world).calls.count("POST /api/connection connect")
    for _ in range(3):
        clock.advance(300)
        world.services.health.check_printers()
        world.services.tracking.reconcile()
        assert world.dispatch().claimed == 0
    assert fake(world).calls.count("POST /api/connection connect") == connects
    assert printer(world)["connection"] == "fault"

    # only an operator of its site (or a coordinator, an admin) acknowledges it, once, audited
    path = f"/api/printers/{acme}/acknowledge-fault"
    assert world.call("viewer", "POST", path).status_code == 403
    assert world.call("operator_uni", "POST", path).status_code == 403
    shown = world.ok("operator_acme", "POST", path)
    assert shown["connection"] == "offline" and shown["connection_reason"].startswith("fault acknowledged by")
    refused = world.call("operator_acme", "POST", path)
    assert refused.status_code == 409 and refused.json()["error"] == "Conflict"
    [entry] = [e for e in world.ok("admin", "GET", "/api/audit") if e["action"] == "printer.acknowledge_fault"]
    assert (entry["object_id"], entry["detail"]) == (acme, {"fault": reason})
    assert [e.reason for e in acknowledged] == [reason]

    world.services.health.check_printers()
    assert printer(world)["connection"] == "online"
    assert world.dispatch().started == 1
    assert fake(world).calls.count("POST /api/connection connect") == connects + 1


def test_a_plate_claimed_before_a_fault_is_not_started_there(world: World):
    dispatch = world.services.dispatch
    claims = dispatch.claim()
    acme = world.ids["acme/mk3-1"]
    world.publish(acme, "event/Error", {"error": THERMAL_RUNAWAY, "reason": "firmware", "consequence": "emergency"})
    result = dispatch.start(claims)
    assert result.started == 1
    [held] = jobs_of(world)
    assert (held["state"], held["failure_reason"]) == ("failed", "not started: the printer is in fault")
    assert not any(call.startswith("POST /api/connection") for call in fake(world).calls)
    assert batch(world)["in_production_units"] == 4


def test_the_cli_acknowledges_a_fault(world: World, database_url: str, monkeypatch: pytest.MonkeyPatch):
    acme = world.ids["acme/mk3-1"]
    world.publish(acme, "event/Error", {"error": THERMAL_RUNAWAY, "reason": "firmware", "consequence": "emergency"})
    monkeypatch.setenv("PRINTFARM_DATABASE_URL", database_url)
    monkeypatch.setenv("PRINTFARM_DATA_DIR", str(world.services.settings.data_dir))
    _register_optional_commands()
    result = CliRunner().invoke(app, ["printers", "acknowledge", str(acme)])
    assert result.exit_code == 0, result.output
    assert f"printer {acme}: fault acknowledged; offline until it answers" in result.output
    assert printer(world)["connection"] == "offline"
    again = CliRunner().invoke(app, ["printers", "acknowledge", str(acme)])
    assert again.exit_code == 1 and f"printer {acme} is not in fault (it is offline)" in again.output
    [entry] = [e for e in world.ok("admin", "GET", "/api/audit") if e["action"] == "printer.acknowledge_fault"]
    assert entry["actor"].startswith("cli:")


def test_a_printers_timeline_tells_its_afternoon_newest_first_a_page_at_a_time(world: World, clock: FrozenClock):
    acme = world.ids["acme/mk3-1"]
    world.dispatch()
    [job] = jobs_of(world)
    clock.advance(5)
    world.publish(acme, "mqtt", "disconnected")
    world.publish(acme, "mqtt", "connected")
    world.publish(acme, "event/Error", {"error": THERMAL_RUNAWAY, "reason": "firmware", "consequence": "emergency"})
    world.publish(acme, "event/PrintFailed", {"name": job["remote_filename"], "reason": "error"})
    world.ok("operator_acme", "POST", f"/api/printers/{acme}/clear-bed", json={"good_units": 0})
    world.ok("operator_acme", "POST", f"/api/printers/{acme}/acknowledge-fault")
    path = f"/api/printers/{acme}/timeline"
    page = world.ok("viewer", "GET", path)
    kinds = [e["kind"] for e in page["entries"]][::-1]
    assert kinds == ["registered", "plate_started", "offline", "online", "fault", "plate_failed", "bed_cleared",
                     "fault_acknowledged"]
    assert {e["job_id"] for e in page["entries"] if e["kind"].startswith("plate_")} == {job["id"]}
    fault = page["entries"][3]
    assert fault["detail"] == f"firmware error: {THERMAL_RUNAWAY}" and fault["at"].startswith("2026-03-02T10:00:05")
    assert page["entries"][0]["detail"].startswith("by ") and page["next_before"] is None

    first = world.ok("viewer", "GET", path, params={"limit": 3})
    second = world.ok("viewer", "GET", path, params={"limit": 3, "before": first["next_before"]})
    third = world.ok("viewer", "GET", path, params={"limit": 3, "before": second["next_before"]})
    assert [e["kind"] for e in first["entries"] + second["entries"] + third["entries"]][::-1] == kinds
    assert third["next_before"] is None
    refused = world.call("viewer", "GET", path, params={"limit": 0})
    assert refused.status_code == 422 and refused.json()["detail"] == "limit 0 is not within 1..500"
    assert world.call("viewer", "GET", "/api/printers/999/timeline").status_code == 404
    assert [e["kind"] for e in world.ok("viewer", "GET", f"/api/printers/{world.ids['uni/mk3-1']}/timeline")["entries"]] == [
        "plate_started", "registered"]


def test_a_failed_print_reported_after_the_plate_ended_is_no_fault(world: World):
    world.dispatch()
    [job] = jobs_of(world)
    acme = world.ids["acme/mk3-1"]
    done = {"name": job["remote_filename"], "path": job["remote_filename"], "_timestamp": 1}
    fake(world).finish_print()
    world.publish(acme, "event/PrintDone", done)
    world.publish(acme, "event/PrintFailed", {**done, "reason": "error"})  # late, out of order: stale
    assert printer(world)["connection"] == "online"
    assert [j["state"] for j in jobs_of(world)] == ["finished"]


def test_the_fault_guard_of_every_database_test_sees_a_plate_started_in_a_fault(world: World, database_url: str):
    """The check tests/conftest.py runs after every database test is not one that cannot fail."""
    from conftest import plates_started_in_a_fault

    from printfarm.db.tables import PrinterTimelineEntry

    acme = world.ids["acme/mk3-1"]
    with world.services.db.unit_of_work() as session:
        for kind, job in (("fault", None), ("plate_started", 41), ("fault_acknowledged", None), ("plate_started", 42)):
            session.add(PrinterTimelineEntry(printer_id=acme, at=START, kind=kind, job_id=job, detail=None))
    assert plates_started_in_a_fault(database_url) == [(acme, 41)]
    with world.services.db.unit_of_work() as session:  # leave the database as the guard may find it
        session.execute(sa.delete(PrinterTimelineEntry).where(PrinterTimelineEntry.job_id.in_([41, 42])))
