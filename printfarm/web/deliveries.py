"""The deliveries page: every delivery with its state, units and sources, each linking its printable note."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from printfarm.api.deps import ServicesDep, SessionDep
from printfarm.auth.rules import Actor
from printfarm.deliveries.rules import DeliveryState
from printfarm.web.pages import _page

router = APIRouter(include_in_schema=False)


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries_page(
    request: Request, svc: ServicesDep, session: SessionDep,
    hospital: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None, state: DeliveryState | None = None,
) -> Response:
    def build(actor: Actor) -> dict[str, Any]:
        deliveries = svc.deliveries.list(session, actor, hospital_id=hospital, state=state)
        return {"deliveries": deliveries[::-1], "hospital_filter": hospital, "state_filter": state}  # newest first

    return _page(request, svc, session, "deliveries", "Deliveries", build)
