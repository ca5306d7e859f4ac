"""Request queries: fulfilment is summed from batches, jobs, outputs and deliveries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from printfarm.batches.repository import progress_by_batch
from printfarm.db.tables import Batch, Delivery, HospitalRequest
from printfarm.deliveries.rules import DeliveryState


@dataclass
class Fulfilment:
    batched: int = 0
    in_production: int = 0
    qc_passed: int = 0
    planned: int = 0
    shipped: int = 0
    delivered: int = 0


def list_requests(session: Session, hospital_id: int | None = None, is_closed: bool | None = None) -> list[HospitalRequest]:
    query = select(HospitalRequest).order_by(HospitalRequest.id)
    if hospital_id is not None:
        query = query.where(HospitalRequest.hospital_id == hospital_id)
    if is_closed is not None:
        query = query.where(HospitalRequest.is_closed.is_(is_closed))
    return list(session.scalars(query))


def fulfilment(session: Session, request_ids: list[int]) -> dict[int, Fulfilment]:
    result: dict[int, Fulfilment] = defaultdict(Fulfilment)
    if not request_ids:
        return result
    batches = list(session.execute(
        select(Batch.id, Batch.request_id, Batch.quantity, Batch.is_cancelled).where(Batch.request_id.in_(request_ids))
    ))
    progress = progress_by_batch(session, [b.id for b in batches]) if batches else {}
    for batch_id, request_id, quantity, is_cancelled in batches:
        if request_id is None:  # not selected; the column is nullable
            continue
        f = result[request_id]
        if not is_cancelled:
            f.batched += quantity
        p = progress.get(batch_id)
        if p is not None:
            f.in_production += p.in_production_units
            f.qc_passed += p.good_units
    deliveries = session.execute(
        select(Delivery.request_id, Delivery.state, func.sum(Delivery.units), func.sum(Delivery.units_received))
        .where(Delivery.request_id.in_(request_ids))
        .group_by(Delivery.request_id, Delivery.state)
    )
    for request_id, state, units, received in deliveries:
        if request_id is None:
            continue
        f = result[request_id]
        state = DeliveryState(state)
        if state is DeliveryState.PLANNED:
            f.planned += int(units or 0)
        elif state is DeliveryState.SHIPPED:
            f.shipped += int(units or 0)
        elif state is DeliveryState.RECEIVED:
            f.delivered += int(received or 0)
    return result
