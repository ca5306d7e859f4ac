"""Real `printfarm serve` processes over simulated printers: seeding, the process, an operator, a witness.

The witness subscribes to the farm's MQTT topics itself, so "no plate started twice" is checked
on what the printers said, not on what printfarm believes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from printfarm.auth.rules import SYSTEM, Role
from printfarm.batches.schemas import BatchCreate
from printfarm.db.tables import PrintJob
from printfarm.demo.gcode import plate_gcode
from printfarm.jobs.rules import job_id_from_filename
from printfarm.printers.schemas import PrinterCreate
from printfarm.registry.schemas import HospitalCreate, SiteCreate
from printfarm.settings import Settings
from printfarm.sim import SimulatedFarm
from printfarm.wiring import build_services
from support.mosquitto_server import free_port
from support.octoprint_server import MqttRecorder

REPO = Path(__file__).resolve().parents[2]
PRINTFARM = REPO / ".venv" / "bin" / "printfarm"
PYTHON = REPO / ".venv" / "bin" / "python"
STALLING_SERVE = Path(__file__).with_name("stalling_serve.py")
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
UNITS_PER_PLATE = 4


def seed_farm(database_url: str, data_dir: Path, farm: SimulatedFarm, units: int) -> str:
    """Sites, a hospital, an approved part with a 4-unit print file, the farm's printers, one batch.

    Returns an admin token for the API.
    """
    services = build_services(Settings(data_dir=data_dir, database_url=database_url))
    try:
        with services.db.unit_of_work() as session:
            services.profiles.ensure_catalog(session, SYSTEM)
            sites = {}
            for info in farm.listing():
                if info.site not in sites:
                    sites[info.site] = services.registry.create_site(session, SYSTEM, SiteCreate(name=info.site)).id
            hospital = services.registry.create_hospital(session, SYSTEM, HospitalCreate(name="Sahlgrenska"))
            part = services.parts.create(session, SYSTEM, name="RC3 headband")
            services.parts.approve(session, SYSTEM, part.id)
            services.parts.add_print_file(
                session, SYSTEM, part.id, profile_name="prusa-mk3s-0.4", gcode=plate_gcode(units=UNITS_PER_PLATE),
                filename="rc3-x4.gcode", units_per_print=UNITS_PER_PLATE,
            )
            for info in farm.listing():
                services.printers.register(
                    session, SYSTEM,
                    PrinterCreate(site_id=sites[info.site], name=info.name, base_url=info.base_url, api_key=info.api_key,
                                  profile="prusa-mk3s-0.4", mqtt_base_topic=info.base_topic),
                )
            services.batches.create(
                session, SYSTEM, BatchCreate(part_id=part.id, hospital_id=hospital.id, quantity=units, priority=5)
            )
            token, _ = services.tokens.create(session, SYSTEM, role=Role.ADMIN, name="farm test")
        return token
    finally:
        services.db.dispose()


@dataclass
class ServeProcess:
    """One `printfarm serve` child process on a free port; with stall_at, one whose dispatcher hangs there."""

    database_url: str
    data_dir: Path
    token: str
    name: str
    stall_at: str | None = None  # a dispatch.service.CHECKPOINTS entry (see stalling_serve.py)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.name}.log"

    def start(self, timeout_seconds: float = 60) -> ServeProcess:
        env = {
            **os.environ,
            "PRINTFARM_DATABASE_URL": self.database_url,
            "PRINTFARM_DATA_DIR": str(self.data_dir),
            "PRINTFARM_MQTT_URL": f"mqtt://{MQTT_HOST}:{MQTT_PORT}",
            "PRINTFARM_MQTT_CLIENT_ID": f"pf-test-{self.name}-{os.getpid()}-{self.port}",
            "PRINTFARM_DISPATCH_INTERVAL_SECONDS": "0.5",
            "PRINTFARM_LOG_LEVEL": "INFO",
        }
        env.pop("PRINTFARM_CONFIG", None)
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            command = [str(PRINTFARM), "serve"]
            if self.stall_at is not None:
                command = [str(PYTHON), str(STALLING_SERVE), self.stall_at]
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)], env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            try:
                if self.get("/api/sites").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} did not answer within {timeout_seconds} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url(path), headers=self._headers(), timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.url(path), headers=self._headers(), timeout=10, **kwargs)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


class Operator(threading.Thread):
    """Clears finished beds through the API of the given processes, recording QC (all units good)."""

    def __init__(self, servers: list[ServeProcess]) -> None:
        super().__init__(name="sim-operator", daemon=True)
        self.servers = servers
        self.cleared = 0
        self.errors: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        turn = 0
        while not self._halt.is_set():
            server = self.servers[turn % len(self.servers)]
            turn += 1
            try:
                if turn % 10 == 0:
                    self._clear_failed_plates(server)
                finished = server.get("/api/jobs", params={"state": "finished"}).json()
                for job in finished:
                    response = server.post(
                        f"/api/printers/{job['printer_id']}/clear-bed",
                        json={"good_units": job["units_per_print"], "rejected_units": 0},
                    )
                    if response.status_code == 200:
                        self.cleared += 1
                    elif response.status_code != 409:  # 409: another replica's view moved on
                        self.errors.append(f"{response.status_code} {response.text}")
            except httpx.TransportError:
                pass  # a server being killed or restarted
            self._halt.wait(0.2)

    def _clear_failed_plates(self, server: ServeProcess) -> None:
        """A failed or cancelled print leaves the bed to clean: 0 good, 0 rejected."""
        for printer in server.get("/api/printers").json():
            if not printer["is_bed_clear"] and printer["current_job"] is None:
                server.post(f"/api/printers/{printer['id']}/clear-bed", json={"good_units": 0, "rejected_units": 0})

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)


class Witness(MqttRecorder):
    """Every event the simulated printers publish under the farm's prefix."""

    def events(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(printer base topic, event name, payload) in arrival order."""
        result = []
        for topic, payload, _ in list(self.messages):
            base, sep, name = topic.partition("/event/")
            if sep:
                result.append((base + "/", name, json.loads(payload)))
        return result

    def starts(self) -> list[tuple[str, int | None]]:
        return [(base, job_id_from_filename(p.get("name"))) for base, name, p in self.events() if name == "PrintStarted"]

    def check_one_plate_at_a_time(self) -> None:
        """On every printer, each start is followed by its end before the next start."""
        running: dict[str, str | None] = defaultdict(lambda: None)
        for base, name, payload in self.events():
            if name == "PrintStarted":
                assert running[base] is None, f"{base}: {payload.get('name')} started while {running[base]} ran"
                running[base] = payload.get("name")
            elif name in ("PrintDone", "PrintFailed", "PrintCancelled"):
                running[base] = None


def job_rows(database_url: str) -> list[tuple[int, int, str, str | None]]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [
                (row.id, row.printer_id, row.state, row.failure_reason)
                for row in connection.execute(
                    sa.select(PrintJob.id, PrintJob.printer_id, PrintJob.state, PrintJob.failure_reason).order_by(PrintJob.id)
                )
            ]
    finally:
        engine.dispose()


def wait_until(what: str, check: Any, timeout_seconds: float, poll_seconds: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(poll_seconds)
    raise AssertionError(f"timed out after {timeout_seconds} s waiting for {what}")
