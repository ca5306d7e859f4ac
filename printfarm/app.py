"""create_app(settings): the FastAPI application over the services, with the runtime (broker, MQTT
ingest, scheduler tasks) started and stopped by its lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping

from fastapi import FastAPI

from printfarm import __version__
from printfarm.printers.port import PrinterClientFactory
from printfarm.api.errors import ERROR_RESPONSES, install_error_handlers
from printfarm.api.multipart import CompleteMultipartOnly
from printfarm.audit.api import router as audit_router
from printfarm.auth.api import router as auth_router
from printfarm.batches.api import router as batches_router
from printfarm.clock import Clock
from printfarm.deliveries.api import router as deliveries_router
from printfarm.exchange.api import router as exchange_router
from printfarm.exports.api import router as exports_router
from printfarm.hospital_requests.api import router as requests_router
from printfarm.jobs.api import router as jobs_router
from printfarm.notifications.api import router as notifications_router
from printfarm.output.api import router as output_router
from printfarm.parts.api import router as parts_router
from printfarm.printers.api import router as printers_router
from printfarm.registry.api import router as registry_router
from printfarm.runtime import Runtime
from printfarm.services import Services
from printfarm.settings import Settings
from printfarm.web.deliveries import router as deliveries_page_router
from printfarm.web.delivery_note import router as delivery_note_router
from printfarm.web.docs import ASSETS_PREFIX, docs_assets
from printfarm.web.docs import router as docs_router
from printfarm.web.forms import router as forms_router
from printfarm.web.notify_forms import router as notify_forms_router
from printfarm.web.metrics import router as metrics_router
from printfarm.web.not_found import not_found_page
from printfarm.web.pages import api_router as dashboard_api_router
from printfarm.web.pages import router as web_router
from printfarm.web.pages import static_files
from printfarm.web.phone import router as phone_router
from printfarm.web.printer_labels import router as labels_router
from printfarm.web.wall import router as wall_router
from printfarm.wiring import build_services

UPLOAD_OVERHEAD_BYTES = 1024 * 1024


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    run_background: bool = True,
    clock: Clock | None = None,
    printer_clients: PrinterClientFactory | None = None,
    printer_kinds: Mapping[str, PrinterClientFactory] | None = None,
    dispatch_checkpoint: Callable[[str], None] | None = None,
) -> FastAPI:
    """The FastAPI application; with run_background it also runs ingest and the scheduler.

    Without services it builds them (wiring.build_services, which documents the other arguments).
    """
    services = services or build_services(
        settings, clock=clock, printer_clients=printer_clients, printer_kinds=printer_kinds,
        dispatch_checkpoint=dispatch_checkpoint,
    )
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
        docs_url=None,  # web/docs.py serves /docs and /redoc from local files, not a CDN
        redoc_url=None,
        responses=ERROR_RESPONSES,
        # The largest upload plus room for the multipart framing and form fields: a bigger body is
        # refused with 413 while it streams in, before it is spooled to disk.
        max_body_size=max(settings.stl_max_bytes, settings.gcode_max_bytes) + UPLOAD_OVERHEAD_BYTES,
    )
    app.state.services = services
    app.state.runtime = runtime
    app.state.public_url = settings.public_url  # labels' links (web/printer_labels.py)
    install_error_handlers(app, not_found_page=not_found_page)
    app.add_middleware(CompleteMultipartOnly)
    for router in (
        registry_router, printers_router, parts_router, batches_router, jobs_router,
        output_router, auth_router, audit_router,
        requests_router, deliveries_router, exchange_router, exports_router, notifications_router,
    ):
        app.include_router(router, prefix="/api")
    app.include_router(web_router)
    app.include_router(forms_router)
    app.include_router(notify_forms_router)
    app.include_router(dashboard_api_router)
    app.include_router(metrics_router)
    app.include_router(delivery_note_router)
    app.include_router(deliveries_page_router)
    app.include_router(docs_router)
    app.include_router(phone_router)
    app.include_router(labels_router)
    app.include_router(wall_router)
    app.mount(ASSETS_PREFIX, docs_assets(), name="docs-assets")  # before /static, which would shadow it
    app.mount("/static", static_files(), name="static")
    return app

