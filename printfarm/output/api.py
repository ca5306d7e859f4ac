"""Routes for counts."""

from __future__ import annotations

from fastapi import APIRouter

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.output.schemas import SiteUnits

router = APIRouter(tags=["stats"])


@router.get("/stats/units-per-site", summary="Good and rejected units per site, from QC-recorded plates")
def units_per_site(actor: ActorDep, svc: ServicesDep, session: SessionDep) -> list[SiteUnits]:
    return svc.output.units_per_site(session, actor)


@router.get("/stats/totals", summary="Units requested, in production, good and rejected")
def totals(actor: ActorDep, svc: ServicesDep, session: SessionDep) -> dict[str, int]:
    return svc.output.totals(session, actor)
