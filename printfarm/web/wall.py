"""A workshop's screen: one site's printers as large tiles, what waits for a person first
(metrics.rules.wall_order), re-drawn every second by the dashboard's live.js; readable across a room."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from printfarm.api.deps import ServicesDep, SessionDep
from printfarm.web.pages import _page

router = APIRouter(include_in_schema=False)


@router.get("/sites/{site_id}/wall", response_class=HTMLResponse)
def site_wall(site_id: int, request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    return _page(
        request, svc, session, "wall", f"Site {site_id}",
        lambda actor: {"wall": svc.dashboard.site_wall(session, actor, site_id)}, layout="wall_layout.html",
    )
