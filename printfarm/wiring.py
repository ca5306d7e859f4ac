"""The services builder: every service of one process over the adapters the settings choose.

`build_services` makes the full set a server or a CLI command runs; `build_tracking` makes only what
the MQTT ingest worker process applies batches with (database, clock, printer access, tracking).
Nothing here starts a thread or opens a socket: that is the runtime's (printfarm/runtime.py).
"""

from __future__ import annotations

import secrets as random_ids
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from printfarm.adapters.gateway.client import make_gateway_client_factory
from printfarm.adapters.gateway.credentials import PlateCredentials
from printfarm.adapters.gateway.link import BrokerEndpoint, GatewayRequester
from printfarm.adapters.gcode.analyse import analyse_gcode
from printfarm.adapters.notify import Notifier
from printfarm.adapters.notify.apprise_notifier import AppriseNotifier
from printfarm.adapters.octoprint.mqtt_feed import OCTOPRINT_MQTT_FEED
from printfarm.adapters.octoprint.octorest_client import make_octorest_client_factory
from printfarm.adapters.secrets import SecretBox, load_or_create_key
from printfarm.adapters.slicer import slice_stl
from printfarm.adapters.stl import StlLimits, validate_stl
from printfarm.adapters.storage import FileStore
from printfarm.auth.service import TokenService
from printfarm.auth.throttle import BadTokenLimiter
from printfarm.batches.service import BatchService
from printfarm.clock import Clock, SystemClock
from printfarm.db.session import Database, make_engine
from printfarm.deliveries.service import DeliveryService
from printfarm.events import EventBus
from printfarm.dispatch.service import DispatchService
from printfarm.exchange.service import ExchangeService
from printfarm.exports.service import ExportService
from printfarm.hospital_requests.service import RequestService
from printfarm.jobs.service import JobService
from printfarm.metrics.service import DashboardService
from printfarm.notifications.service import NOTIFYING_EVENTS, NotificationService
from printfarm.output.service import OutputService
from printfarm.parts.compat import print_file_problems
from printfarm.parts.service import PartService
from printfarm.printers.catalog import ProfileSpec
from printfarm.printers.health import PrinterHealth
from printfarm.printers.kinds import GATEWAY, OCTOPRINT, PrinterKinds
from printfarm.printers.port import PrinterClientFactory
from printfarm.printers.profiles import ProfileService
from printfarm.printers.service import PrinterService
from printfarm.printers.timeline import record_timeline
from printfarm.registry.service import RegistryService
from printfarm.services import Services
from printfarm.settings import Settings
from printfarm.tracking.service import TrackingService


@dataclass
class TrackingServices:
    """What the ingest worker process runs: tracking, over the database, the clock and the printers."""

    db: Database
    clock: Clock
    printers: PrinterService
    tracking: TrackingService
    secrets: SecretBox
    plate_credentials: PlateCredentials
    gateways: GatewayRequester | None  # requests to site gateways; None when printer_kinds brings the kind


def build_tracking(
    settings: Settings,
    *,
    clock: Clock | None = None,
    printer_clients: PrinterClientFactory | None = None,
    printer_kinds: Mapping[str, PrinterClientFactory] | None = None,
    bus: EventBus | None = None,
) -> TrackingServices:
    """The tracking services alone; the events of their commits go to bus (a new one if None).

    printer_clients replaces the octoprint kind's client factory; printer_kinds adds further kinds.
    The gateway kind drives printers behind site gateways (printfarm/gateway) through the broker,
    unless printer_kinds brings its own; its connection opens on first use.
    """
    clock = clock or SystemClock()
    db = Database(make_engine(settings.effective_database_url), bus)
    db.before_commit(record_timeline)  # each printer's timeline, written with what made it happen
    key = load_or_create_key(settings.secret_key, settings.data_dir)
    secrets = SecretBox(key)
    plate_credentials = PlateCredentials(key)
    factories = {
        OCTOPRINT: printer_clients or make_octorest_client_factory(settings.printer_timeout_seconds), **(printer_kinds or {})
    }
    gateways = None
    if GATEWAY not in factories:  # without a broker URL, the runtime hands it the embedded broker once started
        gateways = GatewayRequester(
            BrokerEndpoint.from_url(
                settings.mqtt_url, ca_file=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None,
            ) if settings.mqtt_url else None,
            client_id=f"{settings.mqtt_client_id}-gw-{random_ids.token_hex(3)}",
        )
        factories[GATEWAY] = make_gateway_client_factory(
            gateways, plate_credentials, timeout_seconds=settings.printer_timeout_seconds
        )
    printers = PrinterService(clock, secrets, PrinterKinds(factories), allowed_networks=settings.printer_allowed_networks)
    tracking = TrackingService(db, clock, printers, OCTOPRINT_MQTT_FEED, settings.printer_lost_after_seconds)
    return TrackingServices(db, clock, printers, tracking, secrets, plate_credentials, gateways)


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    printer_clients: PrinterClientFactory | None = None,
    printer_kinds: Mapping[str, PrinterClientFactory] | None = None,
    bus: EventBus | None = None,
    dispatch_checkpoint: Callable[[str], None] | None = None,
    notifier: Notifier | None = None,
) -> Services:
    """Every service of one process, over the adapters the settings choose.

    The domain events of every unit of work go to bus (``services.db.bus``; a new one if None), where
    the runtime subscribes dispatch and the MQTT topics; dispatch_checkpoint, when given, is called
    at each of dispatch.service.CHECKPOINTS of a dispatch pass. Notifications of every commit are
    recorded here (sent by the runtime's task, or a server's, for a CLI command); notifier replaces Apprise.
    """
    core = build_tracking(settings, clock=clock, printer_clients=printer_clients, printer_kinds=printer_kinds, bus=bus)
    db, clock, printers = core.db, core.clock, core.printers
    store = FileStore(settings.file_store_dir)
    stl_limits = StlLimits(max_bytes=settings.stl_max_bytes, max_triangles=settings.stl_max_triangles)

    def validate(data: bytes, build_volume_mm: tuple[float, float, float] | None) -> dict[str, Any]:
        return validate_stl(data, limits=stl_limits, build_volume_mm=build_volume_mm).to_dict()

    def analyse(data: bytes) -> dict[str, Any]:
        return analyse_gcode(data).to_dict()

    def slice_part(stl: bytes, slicer_config: str, copies: int) -> bytes:
        config = settings.slicer_profiles_dir / Path(slicer_config).name
        with tempfile.TemporaryDirectory(prefix="printfarm-stl-") as work:
            stl_path = Path(work) / "part.stl"
            stl_path.write_bytes(stl)
            return slice_stl(
                stl_path, config, copies=copies, timeout_seconds=settings.slicer_timeout_seconds,
                executable=settings.slicer_executable,
            )

    def compatible(analysis: dict[str, Any], profile: ProfileSpec, material: str | None) -> list[str]:
        return print_file_problems(analysis, profile, material)

    requests, deliveries = RequestService(clock), DeliveryService(clock)
    notifications = NotificationService(db, clock, core.secrets, notifier or AppriseNotifier(),
                                        request_risk_window_hours=settings.notify_request_risk_hours)
    db.bus.subscribe(NOTIFYING_EVENTS, notifications.on_event)
    return Services(
        settings=settings,
        db=db,
        clock=clock,
        store=store,
        tokens=TokenService(
            clock, BadTokenLimiter(settings.bad_token_max_failures, settings.bad_token_window_seconds)
        ),
        registry=RegistryService(clock),
        profiles=ProfileService(clock),
        printers=printers,
        parts=PartService(
            clock, store, validate, analyse, compatible,
            gcode_max_bytes=settings.gcode_max_bytes, stl_max_bytes=settings.stl_max_bytes, slicer=slice_part,
        ),
        batches=BatchService(clock),
        jobs=JobService(clock, printers),
        output=OutputService(clock),
        dispatch=DispatchService(db, clock, printers, store, checkpoint=dispatch_checkpoint),
        tracking=core.tracking,
        health=PrinterHealth(db, clock, printers.client_for),
        requests=requests,
        deliveries=deliveries,
        exchange=ExchangeService(clock),
        exports=ExportService(deliveries, requests),
        dashboard=DashboardService(clock),
        notifications=notifications,
        plate_credentials=core.plate_credentials,
        gateways=core.gateways,
    )
