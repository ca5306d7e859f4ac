"""Delivery use-cases: plan (allocating plates first in, first out), change, ship, receive, cancel; stock."""

from __future__ import annotations

import builtins

import logging

from sqlalchemy.orm import Session

from printfarm.audit.service import record
from printfarm.auth.rules import Action, Actor, own_hospital, require
from printfarm.clock import Clock
from printfarm.db.tables import Delivery, DeliverySource, Hospital, HospitalRequest, Part, Site
from printfarm.deliveries import repository
from printfarm.deliveries.rules import DeliveryState, allocate_fifo, check_editable, check_move
from printfarm.deliveries.schemas import (
    DeliveryCreate,
    DeliveryRead,
    DeliveryReceive,
    DeliveryUpdate,
    SiteShare,
    SourceRequest,
    StockRow,
    TraceLine,
)
from printfarm.errors import Conflict, InputError, NotFound
from printfarm.db.lookup import get_existing
from printfarm.events import DeliveryReceived, DeliveryShipped, raise_event

log = logging.getLogger(__name__)


def _locked(session: Session, delivery_id: int) -> Delivery:
    """The delivery, its row locked (PostgreSQL) so two state changes cannot both pass the check."""
    delivery = session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None:
        raise NotFound(f"delivery {delivery_id} does not exist")
    return delivery


class DeliveryService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    # --- reading -------------------------------------------------------------------------

    def stock(
        self, session: Session, actor: Actor, *, part_id: int | None = None, site_id: int | None = None
    ) -> builtins.list[StockRow]:
        """Units per site and part: QC-passed, reserved, shipped, in stock, available (never negative)."""
        require(actor, Action.READ)
        counts = repository.stock_counts(session)
        keys = sorted(k for k in counts if (part_id is None or k[1] == part_id) and (site_id is None or k[0] == site_id))
        sites = repository.names(session, Site, {k[0] for k in keys})
        parts = repository.names(session, Part, {k[1] for k in keys})
        rows = []
        for key in keys:
            c = counts[key]
            rows.append(
                StockRow(
                    site_id=key[0], site_name=sites[key[0]], part_id=key[1], part_name=parts[key[1]],
                    good_units=c.good, reserved_units=c.reserved, shipped_units=c.shipped,
                    in_stock_units=c.good - c.shipped, available_units=c.good - c.shipped - c.reserved,
                )
            )
        return rows

    def list(
        self, session: Session, actor: Actor, *, hospital_id: int | None = None, request_id: int | None = None,
        state: DeliveryState | None = None,
    ) -> builtins.list[DeliveryRead]:
        """Deliveries, oldest first; a hospital token sees only its own hospital's."""
        require(actor, Action.READ)
        hospital_id = own_hospital(actor, hospital_id)
        rows = repository.list_deliveries(session, hospital_id=hospital_id, request_id=request_id, state=state)
        return self._reads(session, rows)

    def get(self, session: Session, actor: Actor, delivery_id: int) -> DeliveryRead:
        require(actor, Action.READ)
        delivery = get_existing(session, Delivery, delivery_id, "delivery")
        own_hospital(actor, delivery.hospital_id)
        return self._reads(session, [delivery])[0]

    def _reads(self, session: Session, deliveries: builtins.list[Delivery]) -> builtins.list[DeliveryRead]:
        traces = repository.trace_rows(session, [d.id for d in deliveries])
        hospitals = {h.id: h.name for h in (session.get(Hospital, i) for i in {d.hospital_id for d in deliveries}) if h}
        parts = {p.id: p for p in (session.get(Part, i) for i in {d.part_id for d in deliveries}) if p}
        result = []
        for d in deliveries:
            lines = [TraceLine(**row) for row in traces.get(d.id, [])]
            shares: dict[int, SiteShare] = {}
            for line in lines:
                share = shares.setdefault(line.site_id, SiteShare(site_id=line.site_id, site_name=line.site_name, units=0))
                share.units += line.units
            result.append(
                DeliveryRead(
                    id=d.id, hospital_id=d.hospital_id, hospital_name=hospitals[d.hospital_id], part_id=d.part_id,
                    part_name=parts[d.part_id].name, design_version=parts[d.part_id].design_version,
                    request_id=d.request_id, state=d.state, units=d.units, units_received=d.units_received,
                    notes=d.notes, received_by=d.received_by, receipt_note=d.receipt_note, created_at=d.created_at,
                    shipped_at=d.shipped_at, received_at=d.received_at, cancelled_at=d.cancelled_at,
                    materials=sorted({line.material for line in lines if line.material}),
                    sites=list(shares.values()), sources=lines,
                )
            )
        return result

    # --- changing ------------------------------------------------------------------------

    def plan(self, session: Session, actor: Actor, data: DeliveryCreate) -> DeliveryRead:
        """Plan a delivery, allocating each site's oldest QC-passed units first.

        Raises NotFound for an unknown hospital, part, request or site; Conflict when the
        request is for another hospital or part, or is closed, or a site holds fewer free units
        than asked — and then nothing is written.
        """
        require(actor, Action.MANAGE_DELIVERIES)
        get_existing(session, Hospital, data.hospital_id, "hospital")
        get_existing(session, Part, data.part_id, "part")
        if data.request_id is not None:
            request = get_existing(session, HospitalRequest, data.request_id, "hospital request")
            if request.hospital_id != data.hospital_id or request.part_id != data.part_id:
                raise Conflict(
                    f"hospital request {request.id} is for hospital {request.hospital_id} and part {request.part_id}, "
                    f"not hospital {data.hospital_id} and part {data.part_id}"
                )
            if request.is_closed:
                raise Conflict(f"hospital request {request.id} is closed")
        now = self._clock.now()
        delivery = Delivery(
            hospital_id=data.hospital_id, part_id=data.part_id, request_id=data.request_id,
            state=DeliveryState.PLANNED, units=sum(s.units for s in data.sources), notes=data.notes, created_at=now,
        )
        session.add(delivery)
        session.flush()
        self._allocate(session, delivery, data.sources)
        record(session, actor, now, "delivery.plan", "delivery", delivery.id, data.model_dump(mode="json"))
        log.info("delivery %s planned: %s units of part %s for hospital %s", delivery.id, delivery.units,
                 delivery.part_id, delivery.hospital_id)
        return self._reads(session, [delivery])[0]

    def _allocate(self, session: Session, delivery: Delivery, sources: builtins.list[SourceRequest]) -> None:
        site_ids = [s.site_id for s in sources]
        if len(set(site_ids)) != len(site_ids):
            raise InputError(f"each site may appear once in sources (got sites {site_ids})")
        for source in sources:
            get_existing(session, Site, source.site_id, "site")
            lots = repository.free_lots(session, source.site_id, delivery.part_id, lock=True)
            for taken in allocate_fifo(source.site_id, source.units, lots):
                session.add(
                    DeliverySource(delivery_id=delivery.id, site_id=source.site_id, output_id=taken.output_id,
                                   units=taken.units)
                )
        session.flush()

    def update(self, session: Session, actor: Actor, delivery_id: int, data: DeliveryUpdate) -> DeliveryRead:
        """Change a planned delivery's sources (re-allocated) or notes; anything later raises InvalidTransition."""
        require(actor, Action.MANAGE_DELIVERIES)
        delivery = _locked(session, delivery_id)
        check_editable(delivery_id, delivery.state)
        changes = data.model_dump(exclude_unset=True, mode="json")
        if data.sources is not None:
            repository.delete_sources(session, delivery_id)
            delivery.units = sum(s.units for s in data.sources)
            self._allocate(session, delivery, data.sources)
        if "notes" in changes:
            delivery.notes = data.notes
        record(session, actor, self._clock.now(), "delivery.update", "delivery", delivery_id, changes)
        return self._reads(session, [delivery])[0]

    def ship(self, session: Session, actor: Actor, delivery_id: int) -> DeliveryRead:
        require(actor, Action.MANAGE_DELIVERIES)
        delivery = _locked(session, delivery_id)
        check_move(delivery_id, delivery.state, DeliveryState.SHIPPED)
        delivery.state = DeliveryState.SHIPPED
        delivery.shipped_at = self._clock.now()
        record(session, actor, delivery.shipped_at, "delivery.ship", "delivery", delivery_id, {"units": delivery.units})
        raise_event(session, DeliveryShipped(delivery.shipped_at, delivery_id, delivery.hospital_id))
        return self._reads(session, [delivery])[0]

    def receive(self, session: Session, actor: Actor, delivery_id: int, data: DeliveryReceive) -> DeliveryRead:
        """The hospital (or a coordinator for it) confirms receipt with the count that arrived."""
        delivery = _locked(session, delivery_id)
        require(actor, Action.RECEIVE_DELIVERIES, hospital_id=delivery.hospital_id)
        check_move(delivery_id, delivery.state, DeliveryState.RECEIVED)
        if data.units_received > delivery.units:
            raise InputError(
                f"delivery {delivery_id} shipped {delivery.units} units; {data.units_received} cannot have arrived"
            )
        delivery.state = DeliveryState.RECEIVED
        delivery.units_received = data.units_received
        delivery.received_by = data.received_by
        delivery.receipt_note = data.note
        delivery.received_at = self._clock.now()
        record(session, actor, delivery.received_at, "delivery.receive", "delivery", delivery_id,
               data.model_dump(mode="json"))
        raise_event(session, DeliveryReceived(delivery.received_at, delivery_id, delivery.hospital_id))
        return self._reads(session, [delivery])[0]

    def cancel(self, session: Session, actor: Actor, delivery_id: int) -> DeliveryRead:
        """Drop a planned delivery; its units are free at their sites again."""
        require(actor, Action.MANAGE_DELIVERIES)
        delivery = _locked(session, delivery_id)
        check_move(delivery_id, delivery.state, DeliveryState.CANCELLED)
        delivery.state = DeliveryState.CANCELLED
        delivery.cancelled_at = self._clock.now()
        record(session, actor, delivery.cancelled_at, "delivery.cancel", "delivery", delivery_id)
        return self._reads(session, [delivery])[0]
