"""A printer in fault on the dashboard: its card sends its operator to the printer's page, where the
fault is acknowledged (the same service as the API, audited) and its timeline tells what happened."""

from __future__ import annotations

import html

from support.world import World
from web.test_forms import get, post

THERMAL_RUNAWAY = "Thermal Runaway, system stopped! Heater_ID: bed - Printer halted. kill() called!"


def in_fault(world: World) -> int:
    world.dispatch()
    printer = world.ids["acme/mk3-1"]
    [job] = world.ok("viewer", "GET", "/api/jobs", params={"printer_id": printer})
    world.publish(printer, "event/Error", {"error": THERMAL_RUNAWAY, "reason": "firmware", "consequence": "emergency",
                                           "name": job["remote_filename"], "_timestamp": 5})
    assert world.ok("viewer", "GET", f"/api/printers/{printer}")["connection"] == "fault"
    return printer


def test_an_operator_acknowledges_a_fault_from_the_printers_page_and_its_timeline_shows_it(world: World):
    printer = in_fault(world)
    wall = html.unescape(get(world, "operator_acme", "/printers").text)
    assert f'href="/setup/printers/{printer}#acknowledge-form">Look at the printer, then acknowledge the fault' in wall
    page = html.unescape(get(world, "operator_acme", f"/setup/printers/{printer}").text)
    assert f"firmware error: {THERMAL_RUNAWAY}" in page and 'id="acknowledge-form"' in page
    assert '<tr data-kind="fault">' in page

    done = post(world, "operator_acme", f"/setup/printers/{printer}/acknowledge-fault")
    assert (done.status_code, done.headers["location"]) == (303, f"/setup/printers/{printer}?done=acknowledged")
    shown = world.ok("viewer", "GET", f"/api/printers/{printer}")
    assert shown["connection"] == "offline" and shown["connection_reason"].startswith("fault acknowledged by")
    [entry] = [e for e in world.ok("admin", "GET", "/api/audit") if e["action"] == "printer.acknowledge_fault"]
    assert entry["object_id"] == printer
    page = html.unescape(get(world, "operator_acme", f"/setup/printers/{printer}?done=acknowledged").text)
    assert "Fault acknowledged" in page and 'id="acknowledge-form"' not in page
    kinds = [e["kind"] for e in world.ok("viewer", "GET", f"/api/printers/{printer}/timeline")["entries"]]
    assert kinds[0] == "fault_acknowledged" and '<tr data-kind="fault_acknowledged">' in page


def test_another_sites_operator_and_a_viewer_see_no_acknowledge_and_are_refused_it(world: World):
    printer = in_fault(world)
    for who in ("operator_uni", "viewer"):
        assert "acknowledge the fault" not in get(world, who, "/printers").text, who
        assert 'id="acknowledge-form"' not in get(world, who, f"/setup/printers/{printer}").text, who
        refused = post(world, who, f"/setup/printers/{printer}/acknowledge-fault")
        assert refused.status_code == 403, who
    assert world.ok("viewer", "GET", f"/api/printers/{printer}")["connection"] == "fault"
