"""Delivery queries: stock and allocations are sums over Output and DeliverySource rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from printfarm.db.tables import (
    Delivery,
    DeliverySource,
    Output,
    Part,
    Printer,
    PrintFile,
    PrintJob,
    Site,
)
from printfarm.deliveries.rules import HOLDS_UNITS, LEFT_SITE, DeliveryState, Lot


def allocated_by_output(session: Session, output_ids: list[int]) -> dict[int, int]:
    """Units of each output held by deliveries that are not cancelled."""
    if not output_ids:
        return {}
    rows = session.execute(
        select(DeliverySource.output_id, func.sum(DeliverySource.units))
        .join(Delivery, Delivery.id == DeliverySource.delivery_id)
        .where(DeliverySource.output_id.in_(output_ids), Delivery.state.in_(HOLDS_UNITS))
        .group_by(DeliverySource.output_id)
    )
    return {output_id: int(units or 0) for output_id, units in rows}


def free_lots(session: Session, site_id: int, part_id: int, *, lock: bool) -> list[Lot]:
    """Plates of a part at a site with good units not yet allocated, oldest QC record first.

    With lock, the site's output rows of the part are locked (PostgreSQL) so that two
    coordinators planning at once allocate one after the other, never the same unit twice.
    """
    query = (
        select(Output.id, Output.good_units)
        .where(Output.site_id == site_id, Output.part_id == part_id, Output.good_units > 0)
        .order_by(Output.recorded_at, Output.id)
    )
    if lock:
        query = query.with_for_update()
    outputs = list(session.execute(query))
    taken = allocated_by_output(session, [output_id for output_id, _ in outputs])
    return [Lot(output_id, good - taken.get(output_id, 0)) for output_id, good in outputs]


@dataclass(frozen=True)
class StockCounts:
    good: int = 0
    reserved: int = 0
    shipped: int = 0


def stock_counts(session: Session) -> dict[tuple[int, int], StockCounts]:
    """(site id, part id) → good, reserved (planned) and shipped (shipped or received) units."""
    good = session.execute(
        select(Output.site_id, Output.part_id, func.sum(Output.good_units)).group_by(Output.site_id, Output.part_id)
    )
    held = session.execute(
        select(DeliverySource.site_id, Delivery.part_id, Delivery.state, func.sum(DeliverySource.units))
        .join(Delivery, Delivery.id == DeliverySource.delivery_id)
        .where(Delivery.state.in_(HOLDS_UNITS))
        .group_by(DeliverySource.site_id, Delivery.part_id, Delivery.state)
    )
    counts: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: {"good": 0, "reserved": 0, "shipped": 0})
    for site_id, part_id, units in good:
        counts[(site_id, part_id)]["good"] += int(units or 0)
    for site_id, part_id, state, units in held:
        key = "shipped" if DeliveryState(state) in LEFT_SITE else "reserved"
        counts[(site_id, part_id)][key] += int(units or 0)
    return {key: StockCounts(**value) for key, value in counts.items()}


def names(session: Session, table: type[Site] | type[Part], ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {row_id: name for row_id, name in session.execute(select(table.id, table.name).where(table.id.in_(ids)))}


def trace_rows(session: Session, delivery_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Where each delivery's units came from: one row per plate, in allocation (FIFO) order.

    Each row has the fields of deliveries.schemas.TraceLine.
    """
    if not delivery_ids:
        return {}
    rows = session.execute(
        select(
            DeliverySource.delivery_id, Output.id.label("output_id"), Site.id.label("site_id"),
            Site.name.label("site_name"), Printer.id.label("printer_id"), Printer.name.label("printer_name"),
            PrintJob.id.label("job_id"), Output.batch_id, Output.day, Output.recorded_at,
            func.coalesce(PrintFile.material, Printer.loaded_material).label("material"), DeliverySource.units,
        )
        .join(Output, Output.id == DeliverySource.output_id)
        .join(Site, Site.id == Output.site_id)
        .join(Printer, Printer.id == Output.printer_id)
        .join(PrintJob, PrintJob.id == Output.job_id)
        .join(PrintFile, PrintFile.id == PrintJob.print_file_id)
        .where(DeliverySource.delivery_id.in_(delivery_ids))
        .order_by(DeliverySource.delivery_id, DeliverySource.id)
    )
    result: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        line = dict(row._mapping)
        result[line.pop("delivery_id")].append(line)
    return result


def list_deliveries(
    session: Session, *, hospital_id: int | None = None, request_id: int | None = None,
    state: DeliveryState | None = None,
) -> list[Delivery]:
    query = select(Delivery).order_by(Delivery.id)
    if hospital_id is not None:
        query = query.where(Delivery.hospital_id == hospital_id)
    if request_id is not None:
        query = query.where(Delivery.request_id == request_id)
    if state is not None:
        query = query.where(Delivery.state == state)
    return list(session.scalars(query))


def delete_sources(session: Session, delivery_id: int) -> None:
    for source in session.scalars(select(DeliverySource).where(DeliverySource.delivery_id == delivery_id)):
        session.delete(source)
    session.flush()
