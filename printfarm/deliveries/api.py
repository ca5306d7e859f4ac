"""Routes for deliveries and stock."""

from __future__ import annotations

from fastapi import APIRouter, status

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.deliveries.rules import DeliveryState
from printfarm.deliveries.schemas import DeliveryCreate, DeliveryRead, DeliveryReceive, DeliveryUpdate, StockRow

router = APIRouter(tags=["deliveries"])


@router.get("/stock", summary="QC-passed units per site and part, minus what is reserved or shipped")
def stock(
    actor: ActorDep, svc: ServicesDep, session: SessionDep, part_id: int | None = None, site_id: int | None = None
) -> list[StockRow]:
    return svc.deliveries.stock(session, actor, part_id=part_id, site_id=site_id)


@router.post("/deliveries", status_code=status.HTTP_201_CREATED,
             summary="Plan a delivery; each site's oldest QC-passed units are allocated first (409 if short)")
def plan_delivery(data: DeliveryCreate, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> DeliveryRead:
    return svc.deliveries.plan(session, actor, data)


@router.get("/deliveries")
def list_deliveries(
    actor: ActorDep, svc: ServicesDep, session: SessionDep, hospital_id: int | None = None,
    request_id: int | None = None, state: DeliveryState | None = None,
) -> list[DeliveryRead]:
    return svc.deliveries.list(session, actor, hospital_id=hospital_id, request_id=request_id, state=state)


@router.get("/deliveries/{delivery_id}", summary="A delivery with every plate its units came from")
def get_delivery(delivery_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> DeliveryRead:
    return svc.deliveries.get(session, actor, delivery_id)


@router.patch("/deliveries/{delivery_id}", summary="Change a planned delivery (409 once shipped)")
def update_delivery(
    delivery_id: int, data: DeliveryUpdate, actor: ActorDep, svc: ServicesDep, session: SessionDep
) -> DeliveryRead:
    return svc.deliveries.update(session, actor, delivery_id, data)


@router.post("/deliveries/{delivery_id}/ship")
def ship_delivery(delivery_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> DeliveryRead:
    return svc.deliveries.ship(session, actor, delivery_id)


@router.post("/deliveries/{delivery_id}/receive", summary="The hospital confirms receipt with the count received")
def receive_delivery(
    delivery_id: int, data: DeliveryReceive, actor: ActorDep, svc: ServicesDep, session: SessionDep
) -> DeliveryRead:
    return svc.deliveries.receive(session, actor, delivery_id, data)


@router.post("/deliveries/{delivery_id}/cancel", summary="Drop a planned delivery; its units are free again")
def cancel_delivery(delivery_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> DeliveryRead:
    return svc.deliveries.cancel(session, actor, delivery_id)
