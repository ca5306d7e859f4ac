"""Dashboard routes: the page at / and the JSON it polls (the same numbers as the API)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from printfarm import __version__
from printfarm.api.deps import ActorDep, ServicesDep
from printfarm.batches.schemas import BatchRead
from printfarm.output.schemas import SiteUnits
from printfarm.printers.schemas import PrinterRead

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter()


def static_files() -> StaticFiles:
    return StaticFiles(directory=HERE / "static")


class Dashboard(BaseModel):
    totals: dict[str, int]
    sites: list[SiteUnits]
    batches: list[BatchRead]
    printers: list[PrinterRead]
    part_names: dict[int, str]
    hospital_names: dict[int, str]
    site_names: dict[int, str]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def overview(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "overview.html", {"version": __version__})


@router.get("/api/dashboard", tags=["stats"], summary="Everything the overview page shows, in one call")
def dashboard(actor: ActorDep, svc: ServicesDep) -> Dashboard:
    with svc.db.unit_of_work() as session:
        printers = svc.printers.list(session, actor)
        return Dashboard(
            totals=svc.output.totals(session, actor),
            sites=svc.output.units_per_site(session, actor),
            batches=svc.batches.list(session, actor),
            printers=svc.printers.read_models(session, printers),
            part_names={p.id: p.name for p in svc.parts.list(session, actor)},
            hospital_names={h.id: h.name for h in svc.registry.list_hospitals(session, actor)},
            site_names={s.id: s.name for s in svc.registry.list_sites(session, actor)},
        )
