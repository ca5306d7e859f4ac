"""End to end with two real OctoPrint 1.11.8 servers (Virtual Printer), Mosquitto and the runtime.

printfarm registers them, dispatches a batch of 4 units as two 2-unit plates, follows their
events over MQTT (the real OctoPrint-MQTT plugin), beds are cleared through the
API, and the count per site is exact.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from support.octoprint_server import OctoPrintInstance, running_octoprint

from printfarm.app import create_app
from printfarm.auth.rules import SYSTEM, Role
from printfarm.demo.gcode import plate_gcode
from printfarm.settings import Settings

pytestmark = [pytest.mark.octoprint, pytest.mark.slow]

MOSQUITTO = "mqtt://127.0.0.1:1883"


@pytest.fixture(scope="module")
def two_octoprints() -> Iterator[list[OctoPrintInstance]]:
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(running_octoprint(base_topic=f"printfarm-e2e/{secrets.token_hex(4)}/{name}/"))
            for name in ("acme", "uni")
        ]


def wait_for(predicate, what: str, timeout_seconds: float = 90.0):
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_seconds:.0f} s waiting for {what}")


def test_a_batch_prints_on_two_real_octoprints_and_counts_per_site(two_octoprints, database_url, tmp_path):
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, mqtt_url=MOSQUITTO,
        mqtt_client_id=f"printfarm-e2e-{secrets.token_hex(4)}", dispatch_interval_seconds=1.0,
    )
    app = create_app(settings)
    services = app.state.services
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        admin, _ = services.tokens.create(session, SYSTEM, role=Role.ADMIN, name="e2e")
    auth = {"Authorization": f"Bearer {admin}"}

    with TestClient(app) as client:  # runs the lifespan: MQTT ingest and scheduler
        def ok(method: str, path: str, **kwargs):
            response = client.request(method, path, headers=auth, **kwargs)
            assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
            return response.json()

        printer_ids = {}
        for octoprint, site in zip(two_octoprints, ("acme", "uni"), strict=True):
            site_id = ok("POST", "/api/sites", json={"name": site})["id"]
            printer_ids[site] = ok("POST", "/api/printers", json={
                "site_id": site_id, "name": "virtual", "base_url": octoprint.base_url, "api_key": octoprint.api_key,
                "profile": "prusa-mk3s-0.4", "mqtt_base_topic": octoprint.base_topic,
            })["id"]
        hospital = ok("POST", "/api/hospitals", json={"name": "Sahlgrenska"})["id"]
        part = ok("POST", "/api/parts", data={"name": "RC3 headband"})["id"]
        ok("POST", f"/api/parts/{part}/approve")
        ok("POST", f"/api/parts/{part}/print-files", data={"profile": "prusa-mk3s-0.4", "units_per_print": "2"},
           files={"gcode": ("rc3-x2.gcode", plate_gcode(units=2, layers=2, width_mm=40, depth_mm=30), "text/plain")})
        batch = ok("POST", "/api/batches", json={"part_id": part, "hospital_id": hospital, "quantity": 4})["id"]

        def finished_printers():
            printers = ok("GET", "/api/printers")
            done = [p for p in printers if p["current_job"] and p["current_job"]["state"] == "finished"]
            return done if len(done) == 2 else None

        wait_for(finished_printers, "both plates to finish (PrintDone over MQTT)")
        for printer_id in printer_ids.values():
            ok("POST", f"/api/printers/{printer_id}/clear-bed", json={"good_units": 2, "rejected_units": 0})

        units = {row["site_name"]: row["good_units"] for row in ok("GET", "/api/stats/units-per-site")}
        assert units == {"acme": 2, "uni": 2}
        final = ok("GET", f"/api/batches/{batch}")
        assert (final["good_units"], final["is_done"], final["in_production_units"]) == (4, True, 0)
        jobs = ok("GET", "/api/jobs")
        assert sorted(j["state"] for j in jobs) == ["completed", "completed"]
        assert all(j["started_at"] and j["finished_at"] for j in jobs)
