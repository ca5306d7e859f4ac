"""The printable delivery note: part, design version, material, units, sources, a line for the receiver."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from printfarm import __version__
from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.web.templating import templates

router = APIRouter()


@router.get("/deliveries/{delivery_id}/note", response_class=HTMLResponse, tags=["deliveries"],
            summary="The delivery note as an HTML page that prints on A4")
def delivery_note(
    delivery_id: int, request: Request, actor: ActorDep, svc: ServicesDep, session: SessionDep
) -> HTMLResponse:
    delivery = svc.deliveries.get(session, actor, delivery_id)
    hospital = svc.registry.get_hospital(session, actor, delivery.hospital_id)
    hospital_request = (
        svc.requests.get(session, actor, delivery.request_id) if delivery.request_id is not None else None
    )
    return templates.TemplateResponse(
        request, "delivery_note.html",
        {"d": delivery, "hospital": hospital, "hospital_request": hospital_request, "version": __version__},
    )
