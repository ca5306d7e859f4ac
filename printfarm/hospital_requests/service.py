"""Hospital request use-cases: record, list with fulfilment, close."""

from __future__ import annotations

import builtins

from sqlalchemy.orm import Session

from printfarm.audit.service import record
from printfarm.auth.rules import Action, Actor, own_hospital, require
from printfarm.clock import Clock
from printfarm.db.tables import Hospital, HospitalRequest, Part
from printfarm.hospital_requests import repository
from printfarm.hospital_requests.repository import Fulfilment
from printfarm.hospital_requests.schemas import RequestCreate, RequestRead
from printfarm.db.lookup import get_existing


class RequestService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def create(self, session: Session, actor: Actor, data: RequestCreate) -> RequestRead:
        """A hospital (its own token) or a coordinator for it records what it needs."""
        require(actor, Action.MANAGE_REQUESTS, hospital_id=data.hospital_id)
        hospital = get_existing(session, Hospital, data.hospital_id, "hospital")
        get_existing(session, Part, data.part_id, "part")
        values = data.model_dump()
        values["delivery_address"] = data.delivery_address or hospital.address
        values["contact"] = data.contact or hospital.contact
        request = HospitalRequest(**values, is_closed=False, created_at=self._clock.now())
        session.add(request)
        session.flush()
        record(session, actor, request.created_at, "request.create", "hospital_request", request.id,
               data.model_dump(mode="json"))
        return self._reads(session, [request])[0]

    def close(self, session: Session, actor: Actor, request_id: int) -> RequestRead:
        """No more is needed (fulfilled, or withdrawn); new deliveries against it are refused."""
        request = get_existing(session, HospitalRequest, request_id, "hospital request")
        require(actor, Action.MANAGE_REQUESTS, hospital_id=request.hospital_id)
        if not request.is_closed:
            request.is_closed = True
            record(session, actor, self._clock.now(), "request.close", "hospital_request", request_id)
        return self._reads(session, [request])[0]

    def list(
        self, session: Session, actor: Actor, *, hospital_id: int | None = None, is_closed: bool | None = None
    ) -> builtins.list[RequestRead]:
        """Requests with fulfilment; a hospital token sees only its own hospital's."""
        require(actor, Action.READ)
        hospital_id = own_hospital(actor, hospital_id)
        return self._reads(session, repository.list_requests(session, hospital_id, is_closed))

    def get(self, session: Session, actor: Actor, request_id: int) -> RequestRead:
        require(actor, Action.READ)
        request = get_existing(session, HospitalRequest, request_id, "hospital request")
        own_hospital(actor, request.hospital_id)
        return self._reads(session, [request])[0]

    def _reads(self, session: Session, requests: builtins.list[HospitalRequest]) -> builtins.list[RequestRead]:
        done = repository.fulfilment(session, [r.id for r in requests])
        result = []
        for r in requests:
            f = done.get(r.id, Fulfilment())
            hospital = get_existing(session, Hospital, r.hospital_id, "hospital")
            part = get_existing(session, Part, r.part_id, "part")
            result.append(
                RequestRead(
                    id=r.id, hospital_id=r.hospital_id, hospital_name=hospital.name, part_id=r.part_id,
                    part_name=part.name, quantity=r.quantity, needed_by=r.needed_by, urgency=r.urgency,
                    delivery_address=r.delivery_address, contact=r.contact, is_closed=r.is_closed,
                    created_at=r.created_at, requested_units=r.quantity, batched_units=f.batched,
                    in_production_units=f.in_production, qc_passed_units=f.qc_passed, planned_units=f.planned,
                    shipped_units=f.shipped, delivered_units=f.delivered,
                    outstanding_units=max(0, r.quantity - f.delivered),
                )
            )
        return result
