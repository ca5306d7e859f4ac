"""Bad input gets a clear 4xx with the reason and changes nothing."""

from __future__ import annotations

import pytest
from support.world import PRINTER_KEY, seed

from printfarm.demo.gcode import plate_gcode


@pytest.fixture
def world(new_world):
    return seed(new_world())


def snapshot(world):
    """Everything a rejected request could have changed."""
    return {
        path: world.ok("admin", "GET", path)
        for path in ("/api/sites", "/api/hospitals", "/api/printers", "/api/parts", "/api/batches", "/api/jobs",
                     "/api/audit", "/api/tokens", "/api/stats/units-per-site")
    }


CASES = [
    ("malformed JSON", "POST", "/api/sites", {"content": b"{not json", "headers_json": True}, 422, "ValidationError"),
    ("wrong type", "POST", "/api/batches", {"json": {"part_id": "one", "hospital_id": 1, "quantity": 4}}, 422, "ValidationError"),
    ("zero quantity", "POST", "/api/batches", {"json": {"part_id": 1, "hospital_id": 1, "quantity": 0}}, 422, "ValidationError"),
    ("negative quantity", "POST", "/api/batches", {"json": {"part_id": 1, "hospital_id": 1, "quantity": -4}}, 422, "ValidationError"),
    ("unknown part", "POST", "/api/batches", {"json": {"part_id": 999, "hospital_id": 1, "quantity": 4}}, 404, "NotFound"),
    ("unknown field", "POST", "/api/sites", {"json": {"name": "x", "colour": "red"}}, 422, "ValidationError"),
    ("duplicate site", "POST", "/api/sites", {"json": {"name": "acme"}}, 409, "AlreadyExists"),
    ("unknown printer", "GET", "/api/printers/999", {}, 404, "NotFound"),
    ("unknown job", "POST", "/api/jobs/999/cancel", {}, 404, "NotFound"),
    ("negative good units", "POST", "/api/printers/1/clear-bed", {"json": {"good_units": -1}}, 422, "ValidationError"),
    ("units on an empty bed", "POST", "/api/printers/1/clear-bed", {"json": {"good_units": 4}}, 422, "InputError"),
    ("unreachable printer URL", "POST", "/api/printers",
     {"json": {"site_id": 1, "name": "ghost", "base_url": "http://nowhere.invalid", "api_key": "k",
               "profile": "prusa-mk3s-0.4"}}, 422, "InputError"),
    ("refused printer key", "POST", "/api/printers",
     {"json": {"site_id": 1, "name": "ghost", "base_url": "http://spare.invalid", "api_key": "wrong",
               "profile": "prusa-mk3s-0.4"}}, 422, "InputError"),
    ("non-http printer URL", "POST", "/api/printers",
     {"json": {"site_id": 1, "name": "ghost", "base_url": "file:///etc/passwd", "api_key": "k",
               "profile": "prusa-mk3s-0.4"}}, 422, "ValidationError"),
    ("unknown profile", "POST", "/api/printers",
     {"json": {"site_id": 1, "name": "ghost", "base_url": "http://spare.invalid", "api_key": PRINTER_KEY,
               "profile": "no-such"}}, 404, "NotFound"),
    ("not G-code", "POST", "/api/parts/1/print-files",
     {"data": {"profile": "prusa-mk3s-0.4", "units_per_print": "4"},
      "files": {"gcode": ("x.gcode", b"\x00\x01binary\xff" * 50, "application/octet-stream")}}, 422, "GcodeRejected"),
    ("G-code too big for the bed", "POST", "/api/parts/1/print-files",
     {"data": {"profile": "prusa-mini-0.4", "units_per_print": "4"},
      "files": {"gcode": ("x.gcode", plate_gcode(width_mm=200, printer_model="MINI"), "text/plain")}}, 409, "Incompatible"),
    ("zero units per print", "POST", "/api/parts/1/print-files",
     {"data": {"profile": "prusa-mk3s-0.4", "units_per_print": "0"},
      "files": {"gcode": ("x.gcode", plate_gcode(), "text/plain")}}, 422, "ValidationError"),
    ("operator token without site", "POST", "/api/tokens", {"json": {"name": "x", "role": "operator"}}, 422, "InputError"),
    ("batch of an unapproved part", "POST", "/api/batches", {"json": {"part_id": "NEW_PART", "hospital_id": 1, "quantity": 4}}, 409, "Conflict"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rejected_request_says_why_and_changes_nothing(world, case):
    _, method, path, kwargs, status, error = case
    world.fleet.add("http://spare.invalid", PRINTER_KEY)
    if "NEW_PART" in str(kwargs):
        new_part = world.ok("admin", "POST", "/api/parts", data={"name": "unapproved"})["id"]
        kwargs = {"json": {**kwargs["json"], "part_id": new_part}}
    kwargs = dict(kwargs)
    headers = {}
    if kwargs.pop("headers_json", False):
        headers["Content-Type"] = "application/json"
    before = snapshot(world)
    response = world.call("admin", method, path, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["detail"]
    assert snapshot(world) == before
