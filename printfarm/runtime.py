"""The background parts of a printfarm process: embedded broker, MQTT ingest (on the network thread
or through the ingest worker process) and the scheduler's periodic tasks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from printfarm.adapters.gateway.link import BrokerEndpoint
from printfarm.adapters.mqtt.broker import EmbeddedBroker
from printfarm.adapters.mqtt.ingest import MqttIngest, RawMessage
from printfarm.adapters.octoprint.mqtt_feed import OCTOPRINT_MQTT_FEED
from printfarm.events import DISPATCH_WAKERS, FaultAcknowledged, PrinterOnline, PrinterRegistered
from printfarm.ingest_worker import Ack, IngestWorker
from printfarm.metrics.timing import timed
from printfarm.notifications.service import NOTIFYING_EVENTS
from printfarm.printers.gateways import gateway_went_offline
from printfarm.printers.repository import base_topics
from printfarm.services import Services
from printfarm.tasks import TaskScheduler

log = logging.getLogger(__name__)

DISPATCH_TASK = "dispatch"
HEALTH_TASK = "printer-health"
NOTIFY_TASK = "notifications"
NOTIFY_INTERVAL_SECONDS = 10.0
REQUEST_RISK_TASK = "requests-at-risk"
REQUEST_RISK_INTERVAL_SECONDS = 300.0
RECONCILE_TASK = "reconcile"
RETURNED_PRINTERS_TASK = "reconcile-returned-printers"
SILENT_PRINTERS_TASK = "silent-printers"
TOPICS_TASK = "mqtt-topics"
TOPICS_INTERVAL_SECONDS = 5.0
HEALTH_INTERVAL_SECONDS = 15.0
GATEWAY_STATUS_TASK = "gateway-status"


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
        self._returned: set[int] = set()  # printers back online whose plates are not reconciled yet
        self._returned_lock = threading.Lock()
        self._gateways_gone: set[str] = set()  # sites whose gateway went offline, not yet applied (_returned_lock)

    def start(self) -> None:
        settings = self.services.settings
        address = settings.mqtt_address
        if address is not None:
            self.mqtt_host, self.mqtt_port = address.host, address.port
        else:
            self.broker = EmbeddedBroker(host="127.0.0.1", port=0)
            self.mqtt_host, self.mqtt_port = "127.0.0.1", self.broker.start()
            if self.services.gateways is not None:  # amqtt speaks MQTT 3.1.1 only
                self.services.gateways.use_broker(BrokerEndpoint(self.mqtt_host, self.mqtt_port, protocol="3.1.1"))
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
            username=address.username if address else None,
            password=address.password if address else None,
            tls=address.is_tls if address else False,
            ca_file=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None,
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
        self.scheduler.every(NOTIFY_TASK, NOTIFY_INTERVAL_SECONDS, self.services.notifications.send_due)
        # after the wiring's subscriber recorded the event's notifications: those due now go at once
        bus.subscribe(NOTIFYING_EVENTS, lambda event: self.scheduler.wake(NOTIFY_TASK))
        # Not an event: a request drifts into risk as time passes. What it records goes at the next send.
        self.scheduler.every(REQUEST_RISK_TASK, REQUEST_RISK_INTERVAL_SECONDS, self._check_requests_at_risk)
        # Any sign a printer is back (a Connected event, a state after Offline, the last will's
        # "connected", an answered health check) reconciles its plate now, not at the next silence.
        self.scheduler.every(RETURNED_PRINTERS_TASK, HEALTH_INTERVAL_SECONDS, self._reconcile_returned_printers)
        bus.subscribe(PrinterOnline, self._printer_returned)
        # An acknowledged fault: ask the printer now rather than at the next health tick.
        bus.subscribe(FaultAcknowledged, lambda event: self.scheduler.wake(HEALTH_TASK))
        self.scheduler.every(GATEWAY_STATUS_TASK, HEALTH_INTERVAL_SECONDS, self._apply_gateway_status)
        self.scheduler.start()
        if self.services.gateways is not None:
            self.services.gateways.on_status(self._gateway_status)
        self.scheduler.once(RECONCILE_TASK, tracking.reconcile)
        self.scheduler.wake(DISPATCH_TASK)

    def _check_requests_at_risk(self) -> None:
        if self.services.notifications.check_requests_at_risk():
            self.scheduler.wake(NOTIFY_TASK)

    def _printer_returned(self, event: PrinterOnline) -> None:
        with self._returned_lock:
            self._returned.add(event.printer_id)
        self.scheduler.wake(RETURNED_PRINTERS_TASK)

    def _reconcile_returned_printers(self) -> None:
        with self._returned_lock:
            printer_ids, self._returned = sorted(self._returned), set()
        for printer_id in printer_ids:
            try:
                self.services.tracking.reconcile_printer(printer_id)
            except Exception:
                log.exception("printer %s: reconciling its plate after it came back failed", printer_id)

    def _gateway_status(self, site: str, is_online: bool) -> None:
        """On paho's thread: a site's gateway said online, or its last will came."""
        if is_online:  # its printers are asked through it now, not at the next health tick
            self.scheduler.wake(HEALTH_TASK)
            return
        with self._returned_lock:
            self._gateways_gone.add(site)
        self.scheduler.wake(GATEWAY_STATUS_TASK)

    def _apply_gateway_status(self) -> None:
        with self._returned_lock:
            sites, self._gateways_gone = sorted(self._gateways_gone), set()
        for site in sites:
            try:
                gateway_went_offline(self.services.db, self.services.clock, site)
            except Exception:
                log.exception("site %s: marking the printers behind its offline gateway failed", site)

    def _worker_lost(self, count: int) -> None:
        """Messages the ingest worker never applied: a PrintDone may be among them, so ask the printers."""
        self.services.tracking.count_dropped("worker_lost", count)
        self.scheduler.once(RECONCILE_TASK, self.services.tracking.reconcile)

    def _worker_acked(self, ack: Ack) -> None:
        """Its counters; its events were published on our bus by the IngestWorker already."""
        self.services.tracking.absorb(ack.stats)

    def _watch_registered_printers(self) -> None:
        if self.ingest is None:
            return
        with self.services.db.unit_of_work() as session:
            topics = base_topics(session)
        self.ingest.watch(topics)

    def stop(self) -> None:
        self.scheduler.stop()
        if self.services.gateways is not None:
            self.services.gateways.stop()
        if self.ingest is not None:
            self.ingest.stop()
        if self.worker is not None:
            self.worker.stop()
        if self.broker is not None:
            self.broker.stop()
        self.services.db.dispose()
