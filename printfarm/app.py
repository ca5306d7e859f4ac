"""create_app(settings): the one place where adapters are wired to services, and the runtime
(embedded broker, MQTT ingest, scheduler ticks) is started and stopped."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI

from printfarm import __version__
from printfarm.adapters.gcode.analyse import analyse_gcode
from printfarm.adapters.mqtt.broker import EmbeddedBroker
from printfarm.adapters.mqtt.ingest import MqttIngest, RawMessage
from printfarm.adapters.octoprint.mqtt_feed import OCTOPRINT_MQTT_FEED
from printfarm.adapters.octoprint.octorest_client import make_octorest_client_factory
from printfarm.adapters.slicer import slice_stl
from printfarm.adapters.secrets import SecretBox, load_or_create_key
from printfarm.adapters.stl import StlLimits, validate_stl
from printfarm.adapters.storage import FileStore
from printfarm.api.errors import ERROR_RESPONSES, install_error_handlers
from printfarm.api.multipart import CompleteMultipartOnly
from printfarm.audit.api import router as audit_router
from printfarm.auth.api import router as auth_router
from printfarm.auth.service import TokenService
from printfarm.auth.throttle import BadTokenLimiter
from printfarm.batches.api import router as batches_router
from printfarm.batches.service import BatchService
from printfarm.clock import Clock, SystemClock
from printfarm.db.session import Database, make_engine
from printfarm.deliveries.api import router as deliveries_router
from printfarm.events import DISPATCH_WAKERS, EventBus, PrinterRegistered
from printfarm.deliveries.service import DeliveryService
from printfarm.dispatch.service import DispatchService
from printfarm.exchange.api import router as exchange_router
from printfarm.exchange.service import ExchangeService
from printfarm.exports.api import router as exports_router
from printfarm.exports.service import ExportService
from printfarm.hospital_requests.api import router as requests_router
from printfarm.hospital_requests.service import RequestService
from printfarm.ingest_worker import Ack, IngestWorker
from printfarm.jobs.api import router as jobs_router
from printfarm.jobs.service import JobService
from printfarm.metrics.service import DashboardService
from printfarm.metrics.timing import timed
from printfarm.output.api import router as output_router
from printfarm.output.service import OutputService
from printfarm.parts.api import router as parts_router
from printfarm.parts.compat import print_file_problems
from printfarm.parts.service import PartService
from printfarm.printers.api import router as printers_router
from printfarm.printers.catalog import ProfileSpec
from printfarm.printers.health import PrinterHealth
from printfarm.printers.kinds import OCTOPRINT, PrinterKinds
from printfarm.printers.port import PrinterClientFactory
from printfarm.printers.repository import base_topics
from printfarm.printers.service import PrinterService
from printfarm.registry.api import router as registry_router
from printfarm.registry.service import RegistryService
from printfarm.services import Services
from printfarm.settings import Settings
from printfarm.tasks import TaskScheduler
from printfarm.tracking.service import TrackingService
from printfarm.web.delivery_note import router as delivery_note_router
from printfarm.web.metrics import router as metrics_router
from printfarm.web.pages import api_router as dashboard_api_router
from printfarm.web.pages import router as web_router
from printfarm.web.pages import static_files

log = logging.getLogger(__name__)

DISPATCH_TASK = "dispatch"
HEALTH_TASK = "printer-health"
RECONCILE_TASK = "reconcile"
SILENT_PRINTERS_TASK = "silent-printers"
TOPICS_TASK = "mqtt-topics"
TOPICS_INTERVAL_SECONDS = 5.0
HEALTH_INTERVAL_SECONDS = 15.0
UPLOAD_OVERHEAD_BYTES = 1024 * 1024


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    printer_clients: PrinterClientFactory | None = None,
    printer_kinds: Mapping[str, PrinterClientFactory] | None = None,
    bus: EventBus | None = None,
) -> Services:
    """Every service of one process, over the adapters the settings choose; events go to bus.

    printer_clients replaces the octoprint kind's client factory; printer_kinds adds further kinds.
    """
    clock = clock or SystemClock()
    db = Database(make_engine(settings.effective_database_url), bus)
    store = FileStore(settings.file_store_dir)
    secrets = SecretBox(load_or_create_key(settings.secret_key, settings.data_dir))
    kinds = PrinterKinds(
        {OCTOPRINT: printer_clients or make_octorest_client_factory(settings.printer_timeout_seconds), **(printer_kinds or {})}
    )
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

    printers = PrinterService(clock, secrets, kinds, allowed_networks=settings.printer_allowed_networks)
    requests, deliveries = RequestService(clock), DeliveryService(clock)
    return Services(
        settings=settings,
        db=db,
        clock=clock,
        store=store,
        tokens=TokenService(
            clock, BadTokenLimiter(settings.bad_token_max_failures, settings.bad_token_window_seconds)
        ),
        registry=RegistryService(clock),
        printers=printers,
        parts=PartService(
            clock, store, validate, analyse, compatible,
            gcode_max_bytes=settings.gcode_max_bytes, stl_max_bytes=settings.stl_max_bytes, slicer=slice_part,
        ),
        batches=BatchService(clock),
        jobs=JobService(clock, printers),
        output=OutputService(clock),
        dispatch=DispatchService(
            db, clock, printers, store, stall_at=os.environ.get("PRINTFARM_TEST_DISPATCH_STALL") or None
        ),
        tracking=TrackingService(db, clock, printers),
        health=PrinterHealth(db, clock, printers),
        requests=requests,
        deliveries=deliveries,
        exchange=ExchangeService(clock),
        exports=ExportService(deliveries, requests),
        dashboard=DashboardService(clock),
    )


class Runtime:
    """The background parts of a printfarm process: broker (if embedded), MQTT ingest, scheduler."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.broker: EmbeddedBroker | None = None
        self.ingest: MqttIngest | None = None
        self.worker: IngestWorker | None = None
        self.scheduler = TaskScheduler()
        self.mqtt_host = ""
        self.mqtt_port = 0

    def start(self) -> None:
        settings = self.services.settings
        if settings.mqtt_url:
            parts = urlsplit(settings.mqtt_url)
            self.mqtt_host, self.mqtt_port = parts.hostname or "127.0.0.1", parts.port or 1883
        else:
            self.broker = EmbeddedBroker(host="127.0.0.1", port=0)
            self.mqtt_host, self.mqtt_port = "127.0.0.1", self.broker.start()
            log.info("embedded MQTT broker on %s:%s", self.mqtt_host, self.mqtt_port)
        tracking = self.services.tracking
        on_batch: Callable[[list[RawMessage]], None] = tracking.apply_raw
        in_memory = settings.effective_database_url in ("sqlite://", "sqlite:///:memory:")
        if settings.mqtt_ingest_worker == "process" and in_memory:
            log.info("MQTT batches are applied on the network thread: a worker process cannot share an in-memory database")
        elif settings.mqtt_ingest_worker == "process":
            self.worker = IngestWorker(
                settings, bus=self.services.db.bus, on_ack=self._worker_acked, on_lost=self._worker_lost
            )
            self.worker.start()
            on_batch = self.worker.submit
        self.ingest = MqttIngest(
            host=self.mqtt_host,
            port=self.mqtt_port,
            client_id=settings.mqtt_client_id,
            protocol=settings.mqtt_protocol,
            on_batch=on_batch,
            on_connect=lambda: self.scheduler.once(RECONCILE_TASK, tracking.reconcile),
            shared_group=settings.mqtt_shared_group,
            topic_filters=OCTOPRINT_MQTT_FEED.topic_filters,
        )
        with self.services.db.unit_of_work() as session:
            self.ingest.watch(base_topics(session))
        ingest, worker = self.ingest, self.worker

        def watch(registered: PrinterRegistered) -> None:
            # before the first message of the new printer can arrive, whoever applies the batches
            if worker is not None:
                worker.forget_topics()
            else:
                tracking.forget_topics()
            ingest.watch([registered.base_topic])

        bus = self.services.db.bus
        bus.subscribe(PrinterRegistered, watch)
        self.ingest.start()
        dispatch = self.services.dispatch
        self.scheduler.every(
            DISPATCH_TASK, settings.dispatch_interval_seconds, timed(self.services.dispatch_timing, dispatch.run_pass)
        )
        self.scheduler.every(HEALTH_TASK, HEALTH_INTERVAL_SECONDS, self.services.health.check_printers)
        silence = settings.printer_silence_seconds
        self.scheduler.every(
            SILENT_PRINTERS_TASK, min(HEALTH_INTERVAL_SECONDS, max(0.5, silence / 2)),
            lambda: tracking.poll_silent_printers(silence),
        )
        # A printer registered through another replica reaches this one's ingest here.
        self.scheduler.every(TOPICS_TASK, TOPICS_INTERVAL_SECONDS, self._watch_registered_printers)
        bus.subscribe(DISPATCH_WAKERS, lambda event: self.scheduler.wake(DISPATCH_TASK))
        self.scheduler.start()
        self.scheduler.once(RECONCILE_TASK, tracking.reconcile)
        self.scheduler.wake(DISPATCH_TASK)

    def _worker_lost(self, count: int) -> None:
        """Messages the ingest worker never applied: a PrintDone may be among them, so ask the printers."""
        self.services.tracking.count_dropped("worker_lost", count)
        self.scheduler.once(RECONCILE_TASK, self.services.tracking.reconcile)

    def _worker_acked(self, ack: Ack) -> None:
        self.services.tracking.absorb(ack.stats)

    def _watch_registered_printers(self) -> None:
        if self.ingest is None:
            return
        with self.services.db.unit_of_work() as session:
            topics = base_topics(session)
        self.ingest.watch(topics)

    def stop(self) -> None:
        self.scheduler.stop()
        if self.ingest is not None:
            self.ingest.stop()
        if self.worker is not None:
            self.worker.stop()
        if self.broker is not None:
            self.broker.stop()
        self.services.db.dispose()


def create_app(settings: Settings, *, services: Services | None = None, run_background: bool = True, **kwargs: Any) -> FastAPI:
    """The FastAPI application; with run_background it also runs ingest and the scheduler."""
    services = services or build_services(settings, **kwargs)
    runtime = Runtime(services) if run_background else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            runtime.start()
        try:
            yield
        finally:
            if runtime is not None:
                runtime.stop()

    app = FastAPI(
        title="printfarm",
        version=__version__,
        summary="Orchestrates distributed 3D printing: batches of face-shield frames across many sites' "
        "OctoPrint printers, tracked from plate to hospital.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
        # The largest upload plus room for the multipart framing and form fields: a bigger body is
        # refused with 413 while it streams in, before it is spooled to disk.
        max_body_size=max(settings.stl_max_bytes, settings.gcode_max_bytes) + UPLOAD_OVERHEAD_BYTES,
    )
    app.state.services = services
    app.state.runtime = runtime
    install_error_handlers(app)
    app.add_middleware(CompleteMultipartOnly)
    for router in (
        registry_router, printers_router, parts_router, batches_router, jobs_router,
        output_router, auth_router, audit_router,
        requests_router, deliveries_router, exchange_router, exports_router,
    ):
        app.include_router(router, prefix="/api")
    app.include_router(web_router)
    app.include_router(dashboard_api_router)
    app.include_router(metrics_router)
    app.include_router(delivery_note_router)
    app.mount("/static", static_files(), name="static")
    return app

