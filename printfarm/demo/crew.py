"""The demo's simulated people: operators who clear beds, hospitals who ask for more, receivers.

Hospitals ask when the farm is about to run out of work (fewer unstarted units than one plate per
printer), not on a timer: a timer would either leave printers idle or grow the queue without end,
depending on the machine and the time scale.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from printfarm.auth.rules import SYSTEM
from printfarm.batches.schemas import BatchCreate, BatchRead
from printfarm.deliveries.schemas import DeliveryCreate, DeliveryRead, DeliveryReceive, SourceRequest
from printfarm.demo.seed import UNITS_PER_PLATE, DemoFarm
from printfarm.errors import PrintfarmError
from printfarm.hospital_requests.schemas import RequestCreate, RequestRead
from printfarm.jobs.rules import JobState
from printfarm.services import Services

REQUEST_UNITS = (24, 36, 48, 72, 96)


def clear_beds(services: Services, reject_rate: float, rng: random.Random, wait_seconds: float = 0.0) -> None:
    """The simulated operators: take off plates finished at least wait_seconds ago and record QC.

    The wait leaves a person signed in as an operator time to clear a bed from the dashboard first.
    """
    ready_before = services.clock.now() - dt.timedelta(seconds=wait_seconds)
    with services.db.unit_of_work() as session:
        finished = services.jobs.list(session, SYSTEM, state=JobState.FINISHED)
        plates = [
            (job.printer_id, job.units_per_print) for job in finished
            if job.finished_at is None or job.finished_at <= ready_before
        ]
    for printer_id, units in plates:
        rejected = 1 if rng.random() < reject_rate else 0
        try:
            with services.db.unit_of_work() as session:
                services.output.clear_bed(session, SYSTEM, printer_id, units - rejected, rejected)
        except PrintfarmError:
            continue  # someone else cleared it meanwhile; the next round sees the truth


def ask(services: Services, demo: DemoFarm, hospital_id: int, units: int) -> BatchRead:
    """A hospital's request for units, and the coordinator's batch for it."""
    with services.db.unit_of_work() as session:
        request = services.requests.create(
            session, SYSTEM, RequestCreate(hospital_id=hospital_id, part_id=demo.part_id, quantity=units, urgency=3)
        )
        return services.batches.create(
            session, SYSTEM,
            BatchCreate(part_id=demo.part_id, hospital_id=hospital_id, quantity=units, priority=10,
                        request_id=request.id),
        )


class Hospitals:
    """The hospitals' stream of requests: one more whenever the farm is about to run out of work."""

    def __init__(self, services: Services, demo: DemoFarm, printer_count: int, rng: random.Random) -> None:
        self._services, self._demo, self._rng = services, demo, rng
        self._low_water_units = printer_count * UNITS_PER_PLATE
        self._open: set[int] = set()
        self._turn = 0

    def track(self, batch_id: int) -> None:
        self._open.add(batch_id)

    def done(self, batch_id: int) -> None:
        self._open.discard(batch_id)

    def top_up(self) -> BatchRead | None:
        """Queue the next hospital's batch if the open batches hold fewer unstarted units than a round."""
        with self._services.db.unit_of_work() as session:
            unstarted = sum(self._services.batches.get(session, SYSTEM, b).remaining_units for b in self._open)
        if unstarted >= self._low_water_units:
            return None
        self._turn += 1
        hospital_id = self._demo.hospital_ids[self._turn % len(self._demo.hospital_ids)]
        batch = ask(self._services, self._demo, hospital_id, self._rng.choice(REQUEST_UNITS))
        self.track(batch.id)
        return batch


@dataclass(frozen=True)
class Receipt:
    delivery: DeliveryRead
    request: RequestRead


def deliver(services: Services, batch_id: int) -> Receipt:
    """The batch's units go to its hospital from every site's stock (oldest plates first), and arrive."""
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
    return Receipt(received, request)
