"""The sites and hospitals pages: each row with its printers or its requests, batches and deliveries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from printfarm.db.tables import Batch, Delivery, Hospital, HospitalRequest, OutputByBatch, OutputBySite, Printer, PrintJob, Site
from printfarm.metrics.repository.states import ACTIVE_STATES, RECEIVED_STATE, SHIPPED_STATES
from printfarm.printers.rules import ConnectionState

@dataclass(frozen=True, slots=True)
class SiteLine:
    id: int
    name: str
    city: str | None
    is_paused: bool
    printers: int
    online: int
    busy: int
    beds_not_clear: int
    good_units: int
    rejected_units: int


def site_rows(session: Session) -> list[SiteLine]:
    """Every site with its printers (all, online, busy, beds not clear) and units, by name.

    Columns, not Site objects: 500 ORM instances cost more than the query (and a collection of
    their short-lived state on every few requests)."""
    fleet = (
        select(
            Printer.site_id,
            func.count().label("printers"),
            func.sum(case((Printer.connection == ConnectionState.ONLINE, 1), else_=0)).label("online"),
            func.count(PrintJob.printer_id).label("busy"),
            func.sum(case((Printer.is_bed_clear.is_(False), 1), else_=0)).label("not_clear"),
        )
        .select_from(Printer)
        .outerjoin(PrintJob, (PrintJob.printer_id == Printer.id) & PrintJob.state.in_(ACTIVE_STATES))
        .group_by(Printer.site_id)
        .subquery()
    )
    query = (
        select(
            Site.id, Site.name, Site.city, Site.is_paused,
            func.coalesce(fleet.c.printers, 0), func.coalesce(fleet.c.online, 0), func.coalesce(fleet.c.busy, 0),
            func.coalesce(fleet.c.not_clear, 0), func.coalesce(OutputBySite.good_units, 0),
            func.coalesce(OutputBySite.rejected_units, 0),
        )
        .outerjoin(fleet, fleet.c.site_id == Site.id)
        .outerjoin(OutputBySite, OutputBySite.site_id == Site.id)
        .order_by(Site.name)
    )
    return [
        SiteLine(i, name, city, bool(paused), int(p), int(o), int(b), int(n), int(g), int(r))
        for i, name, city, paused, p, o, b, n, g, r in session.execute(query)
    ]


def hospital_rows(session: Session, hospital_id: int | None = None) -> list[tuple[Hospital, int, int, int, int, int]]:
    """(hospital, open requested, batched, good of its batches, shipped, received), by name; one hospital's if given."""
    requested = (
        select(HospitalRequest.hospital_id, func.sum(HospitalRequest.quantity).label("units"))
        .where(HospitalRequest.is_closed.is_(False))
        .group_by(HospitalRequest.hospital_id)
        .subquery()
    )
    batched = (
        select(
            Batch.hospital_id,
            func.sum(Batch.quantity).label("units"),
            func.sum(func.coalesce(OutputByBatch.good_units, 0)).label("good"),
        )
        .outerjoin(OutputByBatch, OutputByBatch.batch_id == Batch.id)
        .where(Batch.is_cancelled.is_(False))
        .group_by(Batch.hospital_id)
        .subquery()
    )
    delivered = (
        select(
            Delivery.hospital_id,
            func.sum(case((Delivery.state.in_(SHIPPED_STATES), Delivery.units), else_=0)).label("shipped"),
            func.sum(
                case((Delivery.state == RECEIVED_STATE, func.coalesce(Delivery.units_received, Delivery.units)), else_=0)
            ).label("received"),
        )
        .group_by(Delivery.hospital_id)
        .subquery()
    )
    query = (
        select(
            Hospital,
            func.coalesce(requested.c.units, 0), func.coalesce(batched.c.units, 0), func.coalesce(batched.c.good, 0),
            func.coalesce(delivered.c.shipped, 0), func.coalesce(delivered.c.received, 0),
        )
        .outerjoin(requested, requested.c.hospital_id == Hospital.id)
        .outerjoin(batched, batched.c.hospital_id == Hospital.id)
        .outerjoin(delivered, delivered.c.hospital_id == Hospital.id)
        .order_by(Hospital.name)
    )
    if hospital_id is not None:
        query = query.where(Hospital.id == hospital_id)
    return [(h, int(q), int(b), int(g), int(s), int(r)) for h, q, b, g, s, r in session.execute(query)]
