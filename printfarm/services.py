"""The set of services one printfarm process runs, built in one place from settings and ports."""

from __future__ import annotations

from dataclasses import dataclass, field

from printfarm.adapters.gateway.credentials import PlateCredentials
from printfarm.adapters.gateway.link import GatewayRequester
from printfarm.adapters.storage import FileStore
from printfarm.auth.service import TokenService
from printfarm.batches.service import BatchService
from printfarm.clock import Clock
from printfarm.db.session import Database
from printfarm.deliveries.service import DeliveryService
from printfarm.dispatch.service import DispatchService
from printfarm.exchange.service import ExchangeService
from printfarm.exports.service import ExportService
from printfarm.hospital_requests.service import RequestService
from printfarm.jobs.service import JobService
from printfarm.metrics.service import DashboardService
from printfarm.metrics.timing import DurationStats
from printfarm.notifications.service import NotificationService
from printfarm.output.service import OutputService
from printfarm.parts.service import PartService
from printfarm.printers.profiles import ProfileService
from printfarm.printers.health import PrinterHealth
from printfarm.printers.service import PrinterService
from printfarm.registry.service import RegistryService
from printfarm.settings import Settings
from printfarm.tracking.service import TrackingService


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    store: FileStore
    tokens: TokenService
    registry: RegistryService
    profiles: ProfileService
    printers: PrinterService
    parts: PartService
    batches: BatchService
    jobs: JobService
    output: OutputService
    dispatch: DispatchService
    tracking: TrackingService
    health: PrinterHealth
    requests: RequestService
    deliveries: DeliveryService
    exchange: ExchangeService
    exports: ExportService
    dashboard: DashboardService
    notifications: NotificationService
    dispatch_timing: DurationStats = field(default_factory=DurationStats)  # the scheduler's passes, for /metrics
    plate_credentials: PlateCredentials | None = None  # what gateways pull plates with (jobs/api.py)
    gateways: GatewayRequester | None = None  # requests to site gateways (the gateway printer kind)
