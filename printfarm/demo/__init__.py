"""`printfarm demo`: the whole chain on embedded defaults, with a simulated farm.

A hospital asks for face-shield frames; printfarm dispatches plates to simulated OctoPrint
printers at several sites, follows them over MQTT (an embedded broker), and a simulated operator
clears each bed and records QC. Everything runs on free ports in a temporary directory.
"""

from __future__ import annotations

import random
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from printfarm.app import create_app
from printfarm.auth.rules import SYSTEM, Role
from printfarm.batches.schemas import BatchCreate
from printfarm.db.migrate import upgrade
from printfarm.deliveries.schemas import DeliveryCreate, DeliveryReceive, SourceRequest
from printfarm.demo.gcode import plate_gcode
from printfarm.errors import PrintfarmError
from printfarm.hospital_requests.schemas import RequestCreate
from printfarm.jobs.rules import JobState
from printfarm.printers.schemas import PrinterCreate
from printfarm.registry.schemas import HospitalCreate, SiteCreate
from printfarm.services import Services
from printfarm.settings import Settings
from printfarm.sim import SimulatedFarm

SITE_NAMES = (
    "Lindholmen Makerspace", "Chalmers Prototype Lab", "Volvo Cars Workshop", "SKF Additive",
    "Högskolan Väst", "RISE Mölndal", "Saab Linköping", "Ericsson Kista",
)
UNITS_PER_PLATE = 4
STALL_SECONDS = 60.0
DEMO_API_KEY = "demo-octoprint-key"


@dataclass(frozen=True)
class DemoOptions:
    units: int = 96
    exit_when_done: bool = False
    sites: int = 3
    printers_per_site: int = 3
    time_scale: float = 900.0
    reject_rate: float = 0.0
    timeout_seconds: float = 600.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _site_name(index: int) -> str:
    return SITE_NAMES[index] if index < len(SITE_NAMES) else f"Site {index + 1}"


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the demo's own thread handles Ctrl-C
        pass


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def _seed(services: Services, farm: SimulatedFarm, site_names: list[str], units: int) -> int:
    """Sites, a hospital, the part with its print file, the farm's printers and the batch."""
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        site_ids = {}
        for site_name in site_names:
            site_ids[_slug(site_name)] = services.registry.create_site(session, SYSTEM, SiteCreate(name=site_name)).id
        hospital = services.registry.create_hospital(
            session, SYSTEM,
            HospitalCreate(name="Sahlgrenska University Hospital", city="Gothenburg",
                           address="Blå stråket 5, 413 45 Göteborg", contact="Central stores"),
        )
        part = services.parts.create(
            session, SYSTEM, name="Face-shield frame (demo headband)", description="A headband frame for a face shield"
        )
        services.parts.approve(session, SYSTEM, part.id)
        services.parts.add_print_file(
            session, SYSTEM, part.id, profile_name="prusa-mk3s-0.4",
            gcode=plate_gcode(units=UNITS_PER_PLATE), filename="headband-x4.gcode", units_per_print=UNITS_PER_PLATE,
        )
        for printer in farm.listing():
            services.printers.register(
                session, SYSTEM,
                PrinterCreate(
                    site_id=site_ids[printer.site], name=printer.name, base_url=printer.base_url,
                    api_key=printer.api_key, profile="prusa-mk3s-0.4", mqtt_base_topic=printer.base_topic,
                ),
            )
        request = services.requests.create(
            session, SYSTEM, RequestCreate(hospital_id=hospital.id, part_id=part.id, quantity=units, urgency=3)
        )
        batch = services.batches.create(
            session, SYSTEM,
            BatchCreate(part_id=part.id, hospital_id=hospital.id, quantity=units, priority=10, request_id=request.id),
        )
    return batch.id


def _viewer_token(services: Services) -> str:
    with services.db.unit_of_work() as session:
        plain, _ = services.tokens.create(session, SYSTEM, role=Role.VIEWER, name="demo dashboard")
    return plain


def _clear_beds(services: Services, reject_rate: float, rng: random.Random) -> None:
    """The simulated operators: take finished plates off and record QC."""
    with services.db.unit_of_work() as session:
        finished = services.jobs.list(session, SYSTEM, state=JobState.FINISHED)
        plates = [(job.printer_id, job.units_per_print) for job in finished]
    for printer_id, units in plates:
        rejected = 1 if rng.random() < reject_rate else 0
        try:
            with services.db.unit_of_work() as session:
                services.output.clear_bed(session, SYSTEM, printer_id, units - rejected, rejected)
        except PrintfarmError:
            continue  # someone else cleared it meanwhile; the next round sees the truth


def _progress_line(good: int, wanted: int, width: int = 40) -> str:
    done = min(width, int(width * good / max(1, wanted)))
    return f"\r[{'#' * done}{'.' * (width - done)}] {good}/{wanted} good units"


def run_demo(options: DemoOptions) -> int:
    """Run the demo; returns the process exit code."""
    with tempfile.TemporaryDirectory(prefix="printfarm-demo-") as data_dir:
        settings = Settings(
            data_dir=Path(data_dir), http_port=_free_port(), dispatch_interval_seconds=1.0, log_level="WARNING"
        )
        app = create_app(settings)
        services: Services = app.state.services
        upgrade(services.db.engine)
        server = _Server(uvicorn.Config(app, host="127.0.0.1", port=settings.http_port, log_level="warning"))
        thread = threading.Thread(target=server.run, name="printfarm-http", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                print("printfarm demo: the HTTP server did not start", file=sys.stderr)
                return 1
            time.sleep(0.05)
        runtime = app.state.runtime
        site_names = [_site_name(i) for i in range(options.sites)]
        farm = SimulatedFarm(
            runtime.mqtt_host,
            runtime.mqtt_port,
            {_slug(name): options.printers_per_site for name in site_names},
            time_scale=options.time_scale,
            api_key=DEMO_API_KEY,
            topic_prefix="demo/",
        )
        farm.start()
        try:
            batch_id = _seed(services, farm, site_names, options.units)
            return _watch(services, settings, batch_id, options)
        except KeyboardInterrupt:
            print("\nstopped.")
            return 0
        finally:
            farm.stop()
            server.should_exit = True
            thread.join(timeout=15)


def _watch(services: Services, settings: Settings, batch_id: int, options: DemoOptions) -> int:
    token = _viewer_token(services)
    url = f"http://127.0.0.1:{settings.http_port}/?token={token}"
    print(f"printfarm demo: {options.sites} sites x {options.printers_per_site} simulated printers, "
          f"{options.units} face-shield frames for Sahlgrenska")
    print(f"dashboard: {url}")
    print(f"API docs:  http://127.0.0.1:{settings.http_port}/docs  (viewer token: {token})")
    rng = random.Random(2020)
    started = last_change = time.monotonic()
    last_good = -1
    delivered = False
    while True:
        _clear_beds(services, options.reject_rate, rng)
        with services.db.unit_of_work() as session:
            batch = services.batches.get(session, SYSTEM, batch_id)
        if batch.good_units != last_good:
            last_good, last_change = batch.good_units, time.monotonic()
            print(_progress_line(batch.good_units, batch.quantity), end="", flush=True)
        if batch.is_done and not delivered:
            print()
            _deliver(services, batch_id)
            delivered = True
        if options.exit_when_done and batch.is_done:
            return _report(services)
        now = time.monotonic()
        if options.exit_when_done and now - last_change > STALL_SECONDS:
            print(f"\nprintfarm demo: stalled — no unit counted for {STALL_SECONDS:.0f} s "
                  f"({batch.in_production_units} units in production)", file=sys.stderr)
            return 1
        if now - started > options.timeout_seconds:
            print(f"\nprintfarm demo: timed out after {options.timeout_seconds:.0f} s", file=sys.stderr)
            return 1 if options.exit_when_done else 0
        time.sleep(0.25)


def _deliver(services: Services, batch_id: int) -> None:
    """The batch's units go to the hospital from every site's stock (oldest plates first), and arrive."""
    with services.db.unit_of_work() as session:
        batch = services.batches.get(session, SYSTEM, batch_id)
        assert batch.request_id is not None
        wanted, sources = batch.quantity, []
        for row in services.deliveries.stock(session, SYSTEM, part_id=batch.part_id):
            take = min(wanted, row.available_units)
            if take > 0:
                sources.append(SourceRequest(site_id=row.site_id, units=take))
                wanted -= take
        delivery = services.deliveries.plan(
            session, SYSTEM,
            DeliveryCreate(hospital_id=batch.hospital_id, part_id=batch.part_id, request_id=batch.request_id,
                           sources=sources),
        )
    with services.db.unit_of_work() as session:
        services.deliveries.ship(session, SYSTEM, delivery.id)
    with services.db.unit_of_work() as session:
        received = services.deliveries.receive(
            session, SYSTEM, delivery.id, DeliveryReceive(units_received=delivery.units, received_by="demo receiver")
        )
        request = services.requests.get(session, SYSTEM, batch.request_id)
    plates = len(received.sources)
    print(f"delivery {received.id}: {received.units} units from {len(received.sites)} sites ({plates} plates traced), "
          f"{received.state.value} by {received.hospital_name}: {received.units_received} units")
    print(f"hospital request {request.id}: {request.requested_units} requested, {request.qc_passed_units} QC-passed, "
          f"{request.delivered_units} delivered, {request.outstanding_units} outstanding")


def _report(services: Services) -> int:
    with services.db.unit_of_work() as session:
        rows = services.output.units_per_site(session, SYSTEM)
    print("good units per site:")
    for row in rows:
        print(f"  {row.site_name:<28} {row.good_units:>5}  (rejected {row.rejected_units})")
    print(f"  {'total':<28} {sum(r.good_units for r in rows):>5}")
    return 0
