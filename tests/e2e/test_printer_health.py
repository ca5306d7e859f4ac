"""Printer health with real parts: two OctoPrint 1.11.8 servers (Virtual Printer) reporting through the
real OctoPrint-MQTT plugin (last will included), Mosquitto, the runtime, SQLite and PostgreSQL.

One farm's bad afternoon, as its people see it through the API: an OctoPrint is killed mid-print
(offline within seconds, its plate lost after the setting), comes back on a fresh basedir (online,
reconciled, printing again), then its firmware reports a thermal runaway while another batch waits
(fault, no plate starts there and its serial port stays closed) until its operator acknowledges.
And a network partition, cut and restored by TCP proxies mid-print, is not a crash: the printer
finishes behind it, the plate is reconciled finished and counted once. The counts are exact.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import signal
import time
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from support.octoprint_server import OctoPrintInstance, free_port, running_octoprint
from support.farm_run import wait_until
from support.tcp_proxy import TcpProxy

from printfarm.app import create_app
from printfarm.auth.rules import SYSTEM, Role
from printfarm.demo.gcode import plate_gcode
from printfarm.settings import Settings

pytestmark = [pytest.mark.octoprint, pytest.mark.slow]

MOSQUITTO = "mqtt://127.0.0.1:1883"
LOST_AFTER_SECONDS = 6.0
#: About 8 s of printing on the Virtual Printer (G4 sleeps real time): long enough to be killed mid-print.
GCODE = plate_gcode(units=2, layers=2, width_mm=40, depth_mm=30) + b"G4 P500\n" * 16


def octoprint_connection(octoprint: OctoPrintInstance) -> str:
    """The OctoPrint server's own word on its serial connection (Operational, Closed, Offline, ...)."""
    response = requests.get(f"{octoprint.base_url}/api/connection", headers={"X-Api-Key": octoprint.api_key}, timeout=5)
    return str(response.json()["current"]["state"])


def test_a_killed_printer_a_restart_and_a_firmware_fault_as_the_farm_sees_them(database_url, tmp_path):
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, mqtt_url=MOSQUITTO,
        mqtt_client_id=f"printfarm-health-{secrets.token_hex(4)}", dispatch_interval_seconds=1.0,
        printer_silence_seconds=2.0, printer_lost_after_seconds=LOST_AFTER_SECONDS,
    )
    app = create_app(settings)
    services = app.state.services
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        admin, _ = services.tokens.create(session, SYSTEM, role=Role.ADMIN, name="e2e")
    topics = {name: f"printfarm-health/{secrets.token_hex(4)}/{name}/" for name in ("acme", "uni")}
    acme_port, acme_key = free_port(), secrets.token_hex(16).upper()

    with contextlib.ExitStack() as stack, TestClient(app) as client:
        acme = stack.enter_context(running_octoprint(base_topic=topics["acme"], port=acme_port, api_key=acme_key))
        uni = stack.enter_context(running_octoprint(base_topic=topics["uni"]))

        def ok(method: str, path: str, token: str = admin, **kwargs: Any) -> Any:
            response = client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
            assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
            return response.json()

        ids: dict[str, int] = {}
        operators: dict[str, str] = {}
        for octoprint, site in ((acme, "acme"), (uni, "uni")):
            site_id = ok("POST", "/api/sites", json={"name": site})["id"]
            ids[site] = ok("POST", "/api/printers", json={
                "site_id": site_id, "name": "virtual", "base_url": octoprint.base_url, "api_key": octoprint.api_key,
                "profile": "prusa-mk3s-0.4", "mqtt_base_topic": octoprint.base_topic,
            })["id"]
            operators[site] = ok("POST", "/api/tokens", json={"name": site, "role": "operator", "site_id": site_id})["token"]
        hospital = ok("POST", "/api/hospitals", json={"name": "Sahlgrenska"})["id"]
        part = ok("POST", "/api/parts", data={"name": "RC3 headband"})["id"]
        ok("POST", f"/api/parts/{part}/approve")
        ok("POST", f"/api/parts/{part}/print-files", data={"profile": "prusa-mk3s-0.4", "units_per_print": "2"},
           files={"gcode": ("rc3-x2.gcode", GCODE, "text/plain")})
        first = ok("POST", "/api/batches", json={"part_id": part, "hospital_id": hospital, "quantity": 4, "priority": 5})["id"]

        def printer(site: str) -> dict[str, Any]:
            return ok("GET", f"/api/printers/{ids[site]}")

        def job_state(site: str) -> str | None:
            job = printer(site)["current_job"]
            return job["state"] if job else None

        def jobs(site: str) -> list[dict[str, Any]]:
            return ok("GET", "/api/jobs", params={"printer_id": ids[site]})[::-1]  # oldest first

        wait_until("both plates printing", lambda: job_state("acme") == job_state("uni") == "printing", 30)

        # 1. acme's OctoPrint dies mid-print: offline within seconds, with its reason; the plate is
        #    lost once the printer stayed unreachable past the setting, and its units go back.
        os.kill(acme.pid, signal.SIGKILL)
        killed = time.monotonic()
        shown = wait_until("acme offline", lambda: (p := printer("acme"))["connection"] == "offline" and p, 10)
        assert shown["connection_reason"] == "its MQTT client disconnected (last will)"
        assert time.monotonic() - killed < 10
        assert printer("uni")["connection"] == "online"
        [lost] = wait_until("acme's plate lost", lambda: [j for j in jobs("acme") if j["state"] == "lost"], 20)
        assert time.monotonic() - killed >= LOST_AFTER_SECONDS
        assert lost["failure_reason"].startswith("printer unreachable for")
        assert printer("acme")["current_job"] is None and printer("acme")["is_bed_clear"] is False
        assert ok("GET", f"/api/batches/{first}")["in_production_units"] == 2  # uni's plate; acme's units are back
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {admin}"}).text
        assert f'printer_id="{ids["acme"]}"' in metrics and 'connection="offline"' in metrics

        # 2. it comes back on a fresh basedir: online again, its plate reconciled (still lost: it never
        #    finished), and once its operator has looked at the bed it prints the re-queued plate.
        stack.enter_context(running_octoprint(base_topic=topics["acme"], port=acme_port, api_key=acme_key))
        shown = wait_until("acme back online", lambda: (p := printer("acme"))["connection"] == "online" and p, 20)
        assert [j["state"] for j in jobs("acme")] == ["lost"]
        ok("POST", f"/api/printers/{ids['acme']}/clear-bed", operators["acme"], json={"good_units": 0})
        wait_until("acme printing the re-queued plate", lambda: job_state("acme") == "printing", 30)

        # 3. a thermal runaway on acme while a second batch waits: fault with OctoPrint's message; no
        #    plate starts there and its serial port stays closed, even with its bed cleared.
        second = ok("POST", "/api/batches", json={"part_id": part, "hospital_id": hospital, "quantity": 2})["id"]
        requests.post(f"{acme.base_url}/api/printer/command", headers={"X-Api-Key": acme_key},
                      json={"command": "!!DEBUG:trigger_fatal_error_marlin"}, timeout=5).raise_for_status()
        shown = wait_until("acme in fault", lambda: (p := printer("acme"))["connection"] == "fault" and p, 10)
        assert "Thermal Runaway" in shown["connection_reason"] and "kill() called" in shown["connection_reason"]
        faulted = wait_until("the plate failed", lambda: [j for j in jobs("acme") if j["state"] == "failed"], 30)
        assert faulted[0]["failure_reason"] == "error"
        ok("POST", f"/api/printers/{ids['acme']}/clear-bed", operators["acme"], json={"good_units": 0})
        held_until = time.monotonic() + 4  # four dispatch intervals
        while time.monotonic() < held_until:
            assert printer("acme")["connection"] == "fault" and printer("acme")["current_job"] is None
            assert octoprint_connection(acme) in ("Closed", "Offline", "Offline after error", "Error")
            time.sleep(0.5)
        assert ok("GET", f"/api/batches/{second}")["in_production_units"] == 0  # it waits
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {admin}"}).text
        assert 'printfarm_printers{status="fault"} 1' in metrics

        # 4. its operator (and no one of another site) acknowledges: plates start there again
        path = f"/api/printers/{ids['acme']}/acknowledge-fault"
        assert client.post(path, headers={"Authorization": f"Bearer {operators['uni']}"}).status_code == 403
        acknowledged = ok("POST", path, operators["acme"])
        assert acknowledged["connection_reason"].startswith("fault acknowledged by")
        acknowledged_at = dt.datetime.now(dt.UTC)
        wait_until("acme printing after the acknowledgement", lambda: job_state("acme") == "printing", 30)
        assert octoprint_connection(acme) not in ("Closed", "Offline")

        # 5. the operators clear every plate that finishes until both batches are done
        def done() -> bool:
            for site in ("acme", "uni"):
                job = printer(site)["current_job"]
                if job and job["state"] == "finished":
                    ok("POST", f"/api/printers/{ids[site]}/clear-bed", operators[site], json={"good_units": 2})
            return all(ok("GET", f"/api/batches/{b}")["is_done"] for b in (first, second))

        wait_until("both batches counted", done, 90)
        totals = [ok("GET", f"/api/batches/{b}") for b in (first, second)]
        all_jobs = ok("GET", "/api/jobs")
        timeline = [e["kind"] for e in ok("GET", f"/api/printers/{ids['acme']}/timeline", params={"limit": 500})["entries"]]

    assert [(b["good_units"], b["in_production_units"]) for b in totals] == [(4, 0), (2, 0)]
    states = sorted(j["state"] for j in all_jobs)
    assert states == ["completed"] * 3 + ["failed", "lost"], states
    fault_at = dt.datetime.fromisoformat(shown["connection_changed_at"])
    claimed_in_fault = [
        j["id"] for j in all_jobs
        if j["printer_id"] == ids["acme"] and fault_at <= dt.datetime.fromisoformat(j["created_at"]) <= acknowledged_at
    ]
    assert claimed_in_fault == [], "a plate was claimed on acme while it was in fault"
    names = [j["remote_filename"] for j in all_jobs if j["state"] == "completed"]
    assert len(set(names)) == len(names)
    # acme's timeline tells the afternoon in order (newest first on the API)
    # (OctoPrint fires PrintFailed from a thread of its own: it may come before or after the Error)
    story = [kind if kind not in ("fault", "plate_failed") else "fault|plate_failed" for kind in timeline[::-1]]
    steps = iter(story)
    expected = ["plate_started", "offline", "plate_lost", "online", "bed_cleared", "plate_started",
                "fault|plate_failed", "fault|plate_failed", "bed_cleared", "fault_acknowledged", "online",
                "plate_started", "plate_finished"]
    assert all(kind in steps for kind in expected), timeline[::-1]


def test_a_network_partition_is_not_a_crash_the_plate_finishes_and_counts_once(database_url, tmp_path):
    """Both of the printer's paths (its REST API to printfarm, its MQTT client to the broker) go through
    proxies the test cuts mid-print and restores after the plate finished behind the partition."""
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, mqtt_url=MOSQUITTO,
        mqtt_client_id=f"printfarm-partition-{secrets.token_hex(4)}", dispatch_interval_seconds=1.0,
        printer_silence_seconds=2.0, printer_lost_after_seconds=60.0,
    )
    app = create_app(settings)
    services = app.state.services
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        admin, _ = services.tokens.create(session, SYSTEM, role=Role.ADMIN, name="e2e")
    octoprint_port = free_port()
    with contextlib.ExitStack() as stack, TestClient(app) as client:
        rest = stack.enter_context(TcpProxy("127.0.0.1", octoprint_port))
        mqtt = stack.enter_context(TcpProxy("127.0.0.1", 1883))
        octoprint = stack.enter_context(running_octoprint(
            base_topic=f"printfarm-partition/{secrets.token_hex(4)}/p/", port=octoprint_port, mqtt_port=mqtt.port))

        def ok(method: str, path: str, **kwargs: Any) -> Any:
            response = client.request(method, path, headers={"Authorization": f"Bearer {admin}"}, **kwargs)
            assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
            return response.json()

        site = ok("POST", "/api/sites", json={"name": "acme"})["id"]
        printer_id = ok("POST", "/api/printers", json={
            "site_id": site, "name": "virtual", "base_url": f"http://127.0.0.1:{rest.port}",
            "api_key": octoprint.api_key, "profile": "prusa-mk3s-0.4", "mqtt_base_topic": octoprint.base_topic,
        })["id"]
        hospital = ok("POST", "/api/hospitals", json={"name": "Sahlgrenska"})["id"]
        part = ok("POST", "/api/parts", data={"name": "RC3 headband"})["id"]
        ok("POST", f"/api/parts/{part}/approve")
        ok("POST", f"/api/parts/{part}/print-files", data={"profile": "prusa-mk3s-0.4", "units_per_print": "2"},
           files={"gcode": ("rc3-x2.gcode", GCODE, "text/plain")})
        batch = ok("POST", "/api/batches", json={"part_id": part, "hospital_id": hospital, "quantity": 2})["id"]

        def printer() -> dict[str, Any]:
            return ok("GET", f"/api/printers/{printer_id}")

        def direct_job() -> dict[str, Any]:
            """The printer's own view, past the proxy."""
            response = requests.get(f"{octoprint.base_url}/api/job", headers={"X-Api-Key": octoprint.api_key}, timeout=5)
            return dict(response.json())

        wait_until("the plate printing", lambda: (job := printer()["current_job"]) and job["state"] == "printing", 30)
        rest.cut()
        mqtt.cut()
        shown = wait_until("the printer offline", lambda: (p := printer())["connection"] == "offline" and p, 10)
        assert shown["connection_reason"]
        # behind the partition the printer keeps printing and finishes; printfarm shows the plate printing
        wait_until("the printer to finish on its own",
                   lambda: (job := direct_job())["state"] == "Operational" and job["progress"]["completion"] == 100, 30)
        assert printer()["current_job"]["state"] == "printing"
        rest.restore()
        mqtt.restore()
        shown = wait_until("the plate reconciled finished", lambda: (
            (p := printer())["connection"] == "online" and p["current_job"] and p["current_job"]["state"] == "finished"
            and p), 30)
        ok("POST", f"/api/printers/{printer_id}/clear-bed", json={"good_units": 2})
        final = ok("GET", f"/api/batches/{batch}")
        jobs = ok("GET", "/api/jobs")
        timeline = [e["kind"] for e in ok("GET", f"/api/printers/{printer_id}/timeline")["entries"]][::-1]

    assert (final["good_units"], final["is_done"], final["in_production_units"]) == (2, True, 0)
    assert [j["state"] for j in jobs] == ["completed"], "one plate, printed once"
    assert timeline == ["registered", "plate_started", "offline", "online", "plate_finished", "bed_cleared"]
