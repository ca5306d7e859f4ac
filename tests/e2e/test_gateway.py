"""A site behind a firewall, end to end with real parts: two OctoPrint 1.11.8 (Virtual Printer) on
127.0.0.2, which printfarm may not call (printer_allowed_networks is 127.0.0.1/32), a real
`printfarm gateway` process that can, a test-owned Mosquitto, and `printfarm`'s service on a real
HTTP port (the gateway pulls the plates from it). One printer has the OctoPrint-MQTT plugin, the
other's events are bridged by the gateway. A third printer on 127.0.0.1 is driven directly: one
batch prints on all three.

Mid-print the gateway is SIGKILLed (its last will: its printers shown offline) and started again,
then the broker is restarted; every plate finishes, beds are cleared, the counts are exact, and
OctoPrint itself says each plate was printed once.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import uvicorn
from support.mosquitto_server import MosquittoServer, free_port
from support.octoprint_server import OctoPrintInstance, running_octoprint

from printfarm.app import create_app
from printfarm.auth.rules import SYSTEM, Role
from printfarm.demo.gcode import plate_gcode
from printfarm.settings import Settings

pytestmark = [pytest.mark.octoprint, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PRINTFARM = REPO / ".venv" / "bin" / "printfarm"
SITE = "Behind NAT"  # its slug, behind-nat, is the gateway's site
#: About 20 s of printing on the Virtual Printer (G4 sleeps real time): room to kill things mid-print.
GCODE = plate_gcode(units=2, layers=2, width_mm=40, depth_mm=30) + b"G4 P500\n" * 40


def wait_for(predicate, what: str, timeout_seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_seconds:.0f} s waiting for {what}")


class GatewayProcess:
    """`printfarm gateway --config FILE` as a child process."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path, self.log_path = config_path, log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRINTFARM_")}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(PRINTFARM), "gateway", "--config", str(self.config_path)], env=env, stdout=log, stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextlib.contextmanager
def serving(app: Any, port: int) -> Iterator[None]:
    """The app on a real HTTP port (uvicorn in a thread), lifespan and all."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the central service to listen", 30)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(20)


def octoprint_prints(octoprint: OctoPrintInstance) -> dict[str, dict[str, int]]:
    """OctoPrint's own count of prints per uploaded file: {name: {success: n, failure: m}}."""
    response = requests.get(f"{octoprint.base_url}/api/files/local", headers={"X-Api-Key": octoprint.api_key}, timeout=5)
    return {f["name"]: (f.get("prints") or {"success": 0, "failure": 0}) for f in response.json()["files"]}


def test_a_batch_prints_through_a_gateway_that_is_killed_and_a_broker_that_restarts(database_url, tmp_path):
    broker = MosquittoServer(tmp_path / "mosquitto")
    mqtt_port = broker.start()
    http_port = free_port()
    with contextlib.ExitStack() as stack:
        stack.callback(broker.stop)
        behind = {
            "gw-plugin": stack.enter_context(running_octoprint(
                host="127.0.0.2", mqtt_port=mqtt_port, base_topic="printfarm/behind-nat/gw-plugin/")),
            "gw-bridged": stack.enter_context(running_octoprint(host="127.0.0.2", mqtt_port=mqtt_port, feed="none")),
        }
        direct = stack.enter_context(running_octoprint(mqtt_port=mqtt_port, base_topic="printfarm/direct/dp-1/"))
        config = tmp_path / "gateway.toml"
        config.write_text(
            f'site = "behind-nat"\nmqtt_url = "mqtt://127.0.0.1:{mqtt_port}"\n'
            f'central_url = "http://127.0.0.1:{http_port}"\nstate_dir = "{tmp_path / "gateway-state"}"\n'
            'poll_interval_seconds = 0.5\n'
            + "".join(
                f'\n[[printers]]\nname = "{name}"\nurl = "{o.base_url}"\napi_key = "{o.api_key}"\n'
                f"has_mqtt_plugin = {'true' if name == 'gw-plugin' else 'false'}\n"
                for name, o in behind.items()
            )
        )
        gateway = GatewayProcess(config, tmp_path / "gateway.log")
        gateway.start()
        stack.callback(gateway.stop)

        settings = Settings(
            data_dir=tmp_path / "central", database_url=database_url, mqtt_url=f"mqtt://127.0.0.1:{mqtt_port}",
            mqtt_client_id=f"printfarm-gw-e2e-{secrets.token_hex(3)}", dispatch_interval_seconds=1.0,
            printer_allowed_networks=["127.0.0.1/32"], printer_silence_seconds=3.0, printer_lost_after_seconds=60.0,
        )
        app = create_app(settings)
        services = app.state.services
        with services.db.unit_of_work() as session:
            services.profiles.ensure_catalog(session, SYSTEM)
            admin, _ = services.tokens.create(session, SYSTEM, role=Role.ADMIN, name="e2e")
        stack.enter_context(serving(app, http_port))
        api = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{http_port}",
                                               headers={"Authorization": f"Bearer {admin}"}, timeout=30))

        def ok(method: str, path: str, **kwargs: Any) -> Any:
            response = api.request(method, path, **kwargs)
            assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
            return response.json()

        site_id = ok("POST", "/api/sites", json={"name": SITE})["id"]
        direct_site = ok("POST", "/api/sites", json={"name": "direct"})["id"]
        # printfarm may not call the site's printers: registered directly, they are refused
        refused = api.post("/api/printers", json={
            "site_id": site_id, "name": "gw-plugin", "base_url": behind["gw-plugin"].base_url,
            "api_key": behind["gw-plugin"].api_key, "profile": "prusa-mk3s-0.4"})
        assert refused.status_code == 422 and "outside the allowed printer networks" in refused.json()["detail"]
        ids = {}
        for name in behind:
            ids[name] = wait_for(lambda name=name: _registered(api, site_id, name), f"{name} registered through the gateway", 20)
        # a printer the gateway does not know is refused with the reason, nothing saved
        unknown = api.post("/api/printers", json={"site_id": site_id, "name": "gw-9", "kind": "gateway",
                                                  "profile": "prusa-mk3s-0.4"})
        assert unknown.status_code == 422, unknown.text
        assert "no printer named 'gw-9'" in unknown.json()["detail"], unknown.json()
        ids["dp-1"] = ok("POST", "/api/printers", json={
            "site_id": direct_site, "name": "dp-1", "base_url": direct.base_url, "api_key": direct.api_key,
            "profile": "prusa-mk3s-0.4", "mqtt_base_topic": "printfarm/direct/dp-1/"})["id"]
        printers = {p["id"]: p for p in ok("GET", "/api/printers")}
        assert len(printers) == 3
        assert printers[ids["gw-plugin"]]["base_url"] == "gateway://behind-nat/gw-plugin"
        assert printers[ids["gw-plugin"]]["mqtt_base_topic"] == "printfarm/behind-nat/gw-plugin/"
        assert {printers[i]["kind"] for i in ids.values()} == {"gateway", "octoprint"}

        hospital = ok("POST", "/api/hospitals", json={"name": "Sahlgrenska"})["id"]
        part = ok("POST", "/api/parts", data={"name": "RC3 headband"})["id"]
        ok("POST", f"/api/parts/{part}/approve")
        ok("POST", f"/api/parts/{part}/print-files", data={"profile": "prusa-mk3s-0.4", "units_per_print": "2"},
           files={"gcode": ("rc3-x2.gcode", GCODE, "text/plain")})
        batch = ok("POST", "/api/batches", json={"part_id": part, "hospital_id": hospital, "quantity": 6})["id"]

        def jobs_in(*states: str) -> list[dict[str, Any]] | None:
            jobs = ok("GET", "/api/jobs")
            return jobs if len(jobs) == 3 and all(j["state"] in states for j in jobs) else None

        wait_for(lambda: jobs_in("printing"), "a plate printing on each of the three printers", 60)

        # the gateway dies mid-print: its last will shows its printers offline, the direct one stays online
        gateway.kill()

        def offline_behind() -> bool:
            now = {p["id"]: p for p in ok("GET", "/api/printers")}
            return all(now[ids[n]]["connection"] == "offline" for n in behind) and now[ids["dp-1"]]["connection"] == "online"

        wait_for(offline_behind, "the gateway's printers shown offline", 15)
        reasons = [p["connection_reason"] for p in ok("GET", "/api/printers") if p["kind"] == "gateway"]
        assert len(reasons) == 2 and all("the gateway of site behind-nat is offline" in r for r in reasons), reasons
        timeline = ok("GET", f"/api/printers/{ids['gw-bridged']}/timeline")["entries"]
        assert any(e["kind"] == "offline" and "its last will" in (e["detail"] or "") for e in timeline), timeline
        gateway.start()
        wait_for(lambda: all(p["connection"] == "online" for p in ok("GET", "/api/printers")),
                 "the gateway's printers online again", 30)

        broker.restart()  # everything reconnects on its own

        wait_for(lambda: jobs_in("finished"), "all three plates finished", 90)
        for printer_id in ids.values():
            ok("POST", f"/api/printers/{printer_id}/clear-bed", json={"good_units": 2, "rejected_units": 0})
        final = ok("GET", f"/api/batches/{batch}")
        assert (final["good_units"], final["is_done"], final["in_production_units"]) == (6, True, 0)
        units = {row["site_name"]: row["good_units"] for row in ok("GET", "/api/stats/units-per-site")}
        assert units == {SITE: 4, "direct": 2}
        jobs = ok("GET", "/api/jobs")
        assert sorted(j["state"] for j in jobs) == ["completed"] * 3
        # OctoPrint's own word: each printer printed one plate, once
        for octoprint in (*behind.values(), direct):
            prints = octoprint_prints(octoprint)
            assert [(p["success"], p["failure"]) for p in prints.values()] == [(1, 0)], (octoprint.base_url, prints)
        assert "Traceback" not in gateway.log(), gateway.log()[-3000:]


def _registered(api: httpx.Client, site_id: int, name: str) -> int | None:
    """Register a gateway printer (the gateway may still be connecting: then it is refused, and asked again)."""
    response = api.post("/api/printers", json={"site_id": site_id, "name": name, "kind": "gateway",
                                               "profile": "prusa-mk3s-0.4"})
    if response.status_code == 201:
        return int(response.json()["id"])
    assert response.status_code == 422 and "unreachable" in response.json()["detail"], response.text
    return None
