"""Helpers for the real-parts tracking tests: a seeded printfarm over simulated printers, counted.

The simulated printers (printfarm.sim) serve real OctoPrint REST and publish OctoPrint-MQTT to a
test-owned Mosquitto. Each printer's PrintDone events are counted where they are made, on the
printer, so a test can compare what the farm printed with what printfarm counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from printfarm.auth.rules import SYSTEM, Role
from printfarm.batches.schemas import BatchCreate
from printfarm.db.session import Database, make_engine
from printfarm.db.tables import Output, PrintJob
from printfarm.demo.gcode import plate_gcode
from printfarm.printers.schemas import PrinterCreate
from printfarm.registry.schemas import HospitalCreate, SiteCreate
from printfarm.services import Services
from printfarm.sim import SimulatedFarm

UNITS_PER_PLATE = 4
PROFILE = "prusa-mk3s-0.4"
SIM_API_KEY = "SIMKEY0123456789ABCDEF0123456789"


class CountingTelemetry:
    """Passes a simulated machine's telemetry on and counts the PrintDone events it makes."""

    def __init__(self, inner: Any, counter: Callable[[str], None]) -> None:
        self._inner = inner
        self._counter = counter

    def event(self, name: str, payload: dict[str, Any]) -> None:
        if name == "PrintDone":
            self._counter(str(payload.get("name")))
        self._inner.event(name, payload)

    def progress(self, path: str, progress_percent: int) -> None:
        self._inner.progress(path, progress_percent)

    def temperature(self, heater: str, actual_c: float, target_c: float) -> None:
        self._inner.temperature(heater, actual_c, target_c)


@dataclass
class PrintedPlates:
    """File names of every PrintDone the simulated printers made, in order."""

    names: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str) -> None:
        with self._lock:
            self.names.append(name)

    def __len__(self) -> int:
        with self._lock:
            return len(self.names)


def start_farm(mqtt_port: int, printers_per_site: int, topic_prefix: str) -> tuple[SimulatedFarm, PrintedPlates]:
    farm = SimulatedFarm(
        "127.0.0.1", mqtt_port, {"acme": printers_per_site, "uni": printers_per_site},
        time_scale=100_000, min_print_seconds=1.2, api_key=SIM_API_KEY, topic_prefix=topic_prefix,
    )
    farm.start()
    printed = PrintedPlates()
    for printer in farm.printers:
        printer.machine.set_telemetry(CountingTelemetry(printer.telemetry, printed.add))
    return farm, printed


def seed(services: Services, farm: SimulatedFarm, plates: int) -> dict[str, Any]:
    """Two sites, the farm's printers, an approved part with a 4-unit print file and a batch; tokens."""
    ids: dict[str, Any] = {"printers": {}}
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        sites = {name: services.registry.create_site(session, SYSTEM, SiteCreate(name=name)).id for name in ("acme", "uni")}
        hospital = services.registry.create_hospital(session, SYSTEM, HospitalCreate(name="Sahlgrenska"))
        part = services.parts.create(session, SYSTEM, name="RC3 headband")
        services.parts.approve(session, SYSTEM, part.id)
        services.parts.add_print_file(
            session, SYSTEM, part.id, profile_name=PROFILE, gcode=plate_gcode(units=UNITS_PER_PLATE),
            filename="rc3-x4.gcode", units_per_print=UNITS_PER_PLATE,
        )
        for info in farm.listing():
            printer = services.printers.register(
                session, SYSTEM,
                PrinterCreate(site_id=sites[info.site], name=info.name, base_url=info.base_url, api_key=info.api_key,
                              profile=PROFILE, mqtt_base_topic=info.base_topic),
            )
            ids["printers"][printer.id] = info.site
        batch = services.batches.create(
            session, SYSTEM,
            BatchCreate(part_id=part.id, hospital_id=hospital.id, quantity=plates * UNITS_PER_PLATE, priority=5),
        )
        ids["batch"] = batch.id
        for site, site_id in sites.items():
            ids[f"token_{site}"], _ = services.tokens.create(
                session, SYSTEM, role=Role.OPERATOR, name=f"operator {site}", site_id=site_id
            )
    return ids


class Ledger:
    """Reads what printfarm counted straight from its database (a connection of the test's own)."""

    def __init__(self, database_url: str) -> None:
        self.db = Database(make_engine(database_url))

    def close(self) -> None:
        self.db.dispose()

    def finished_plates(self) -> list[tuple[int, int]]:
        """(printer id, units per print) of every plate waiting for QC."""
        with self.db.unit_of_work() as session:
            rows = session.execute(
                sa.select(PrintJob.printer_id, PrintJob.units_per_print).where(PrintJob.state == "finished")
            )
            return [(int(p), int(u)) for p, u in rows]

    def outputs(self) -> list[tuple[int, int, int]]:
        """(job id, good, rejected) of every QC record."""
        with self.db.unit_of_work() as session:
            rows = session.execute(sa.select(Output.job_id, Output.good_units, Output.rejected_units).order_by(Output.job_id))
            return [(int(j), int(g), int(r)) for j, g, r in rows]

    def job_states(self) -> dict[str, int]:
        with self.db.unit_of_work() as session:
            rows = session.execute(sa.select(PrintJob.state, sa.func.count()).group_by(PrintJob.state))
            return {str(getattr(state, "value", state)): int(n) for state, n in rows}

    def other_jobs(self) -> list[tuple[str, str | None, str | None]]:
        """(state, file name, failure reason) of every job that is not completed."""
        with self.db.unit_of_work() as session:
            rows = session.execute(
                sa.select(PrintJob.state, PrintJob.remote_filename, PrintJob.failure_reason)
                .where(PrintJob.state != "completed").order_by(PrintJob.id)
            )
            return [(str(getattr(state, "value", state)), name, reason) for state, name, reason in rows]

    def completed_files(self) -> list[str]:
        with self.db.unit_of_work() as session:
            return sorted(
                session.scalars(sa.select(PrintJob.remote_filename).where(PrintJob.state == "completed"))  # type: ignore[arg-type]
            )


def operate_until(
    ledger: Ledger,
    clear_bed: Callable[[int, int], None],
    done: Callable[[], bool],
    timeout_seconds: float,
    what: str,
    during: Callable[[], None] = lambda: None,
) -> None:
    """Be the operators: clear every finished plate through the API until done(); fail on timeout."""
    deadline = time.monotonic() + timeout_seconds
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_seconds} s waiting for {what}; jobs: {ledger.job_states()}")
        for printer_id, units in ledger.finished_plates():
            clear_bed(printer_id, units)
        during()
        time.sleep(0.1)
