"""The whole chain through the API over fake printers: batch -> plates -> MQTT -> QC -> counts."""

from __future__ import annotations

import pytest
from support.world import seed


@pytest.fixture
def world(new_world):
    return seed(new_world(), units=8)


def job_of(world, printer_key):
    jobs = world.ok("viewer", "GET", "/api/jobs", params={"printer_id": world.ids[printer_key]})
    return jobs[0]


def test_a_batch_is_printed_across_two_sites_and_counted_per_site(world):
    result = world.dispatch()
    assert (result.claimed, result.started) == (2, 2)
    for key in ("acme/mk3-1", "uni/mk3-1"):
        job = job_of(world, key)
        assert job["state"] == "printing"
        fake = world.fleet.printers[f"http://{key.replace('/', '-')}.printers.invalid"]
        assert job["remote_filename"] in fake.uploads  # the file name sent embeds the job id
        assert job["remote_filename"].startswith(f"pf-{job['id']}-")

    acme = job_of(world, "acme/mk3-1")
    printer_id = world.ids["acme/mk3-1"]
    world.publish(printer_id, "progress/printing", {"location": "local", "path": acme["remote_filename"], "progress": 40})
    world.publish(printer_id, "progress/printing", {"location": "local", "path": acme["remote_filename"], "progress": 20})
    assert world.ok("viewer", "GET", f"/api/jobs/{acme['id']}")["progress_percent"] == 40

    done = {"name": acme["remote_filename"], "path": acme["remote_filename"], "origin": "local", "_timestamp": 1}
    world.publish(printer_id, "event/PrintDone", done)
    world.publish(printer_id, "event/PrintDone", done)  # a repeat changes nothing
    printer = world.ok("viewer", "GET", f"/api/printers/{printer_id}")
    assert printer["is_bed_clear"] is False
    assert printer["current_job"]["state"] == "finished"
    assert world.dispatch().claimed == 0  # bed not clear: no new plate

    cleared = world.ok("operator_acme", "POST", f"/api/printers/{printer_id}/clear-bed",
                       json={"good_units": 3, "rejected_units": 1})
    assert cleared["job_id"] == acme["id"]
    units = {row["site_name"]: row["good_units"] for row in world.ok("viewer", "GET", "/api/stats/units-per-site")}
    assert units == {"acme": 3, "uni": 0}

    batch = world.ok("viewer", "GET", f"/api/batches/{world.ids['batch']}")
    assert (batch["good_units"], batch["rejected_units"], batch["in_production_units"]) == (3, 1, 4)
    assert batch["remaining_units"] == 1  # the rejected unit went back to the batch

    again = world.dispatch()
    assert again.claimed == 1  # the cleared printer gets the next plate at once
    assert job_of(world, "acme/mk3-1")["id"] != acme["id"]


def test_failed_and_cancelled_prints_free_their_units(world):
    world.dispatch()
    acme, uni = job_of(world, "acme/mk3-1"), job_of(world, "uni/mk3-1")
    world.publish(world.ids["acme/mk3-1"], "event/PrintFailed", {"name": acme["remote_filename"], "reason": "error"})
    world.publish(world.ids["uni/mk3-1"], "event/PrintCancelled", {"name": uni["remote_filename"]})
    # OctoPrint follows a cancel with PrintFailed(reason=cancelled): counted once, state unchanged
    world.publish(world.ids["uni/mk3-1"], "event/PrintFailed", {"name": uni["remote_filename"], "reason": "cancelled"})
    assert world.ok("viewer", "GET", f"/api/jobs/{acme['id']}")["state"] == "failed"
    assert world.ok("viewer", "GET", f"/api/jobs/{uni['id']}")["state"] == "cancelled"
    batch = world.ok("viewer", "GET", f"/api/batches/{world.ids['batch']}")
    assert (batch["in_production_units"], batch["remaining_units"]) == (0, 8)
    world.ok("operator_acme", "POST", f"/api/printers/{world.ids['acme/mk3-1']}/clear-bed", json={"good_units": 0})
    # a print failed with an error holds its printer in fault until its operator acknowledges it (issue 14)
    world.ok("operator_acme", "POST", f"/api/printers/{world.ids['acme/mk3-1']}/acknowledge-fault")
    world.services.health.check_printers()
    assert world.dispatch().claimed == 1


def test_cancel_through_the_api_stops_the_printer_and_frees_the_plate(world):
    world.dispatch()
    job = job_of(world, "acme/mk3-1")
    cancelled = world.ok("operator_acme", "POST", f"/api/jobs/{job['id']}/cancel")
    assert cancelled["state"] == "cancelled"
    fake = world.fleet.printers["http://acme-mk3-1.printers.invalid"]
    assert fake.state_text != "Printing"
    assert "cancel" in " ".join(fake.calls)
    audit = world.ok("admin", "GET", "/api/audit")
    assert any(e["action"] == "job.cancel" and e["object_id"] == job["id"] for e in audit)


def test_an_unreachable_printer_loses_the_plate_to_the_queue_and_goes_offline(world):
    fake = world.fleet.printers["http://acme-mk3-1.printers.invalid"]
    fake.is_reachable = False
    result = world.dispatch()
    assert (result.claimed, result.started, result.failed) == (2, 1, 1)
    printer = world.ok("viewer", "GET", f"/api/printers/{world.ids['acme/mk3-1']}")
    assert printer["connection"] == "offline"
    assert printer["current_job"] is None
    batch = world.ok("viewer", "GET", f"/api/batches/{world.ids['batch']}")
    assert batch["in_production_units"] == 4


def test_the_api_key_never_appears_in_any_response(world):
    for path in ("/api/printers", f"/api/printers/{world.ids['acme/mk3-1']}", "/api/audit", "/api/dashboard"):
        assert "fake-api-key" not in world.call("admin", "GET", path).text


def test_unknown_topics_and_bad_payloads_are_dropped_and_counted_without_changing_anything(world):
    world.dispatch()
    job = job_of(world, "acme/mk3-1")
    printer_id = world.ids["acme/mk3-1"]
    before = world.ok("viewer", "GET", f"/api/jobs/{job['id']}")
    world.publish(printer_id, "event/PrintDone", "this is not json")
    world.publish(printer_id, "progress/printing", {"path": job["remote_filename"], "progress": "ninety"})
    world.services.tracking.apply_raw([("nobody/knows/this/event/PrintDone", b'{"name": "pf-1-x.gcode"}')])
    assert world.ok("viewer", "GET", f"/api/jobs/{job['id']}") == before
    dropped = world.services.tracking.stats.dropped
    assert dropped["not_json"] == 1
    assert dropped["wrong_type"] + dropped["bad_value"] == 1
    assert dropped["unknown_printer"] == 1
