"""Routes for sites and hospitals."""

from __future__ import annotations

from fastapi import APIRouter, status

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.registry.schemas import (
    HospitalCreate,
    HospitalRead,
    SiteCreate,
    SiteDispatchSettings,
    SiteRead,
)

router = APIRouter(tags=["registry"])


@router.post("/sites", status_code=status.HTTP_201_CREATED)
def create_site(data: SiteCreate, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> SiteRead:
    return SiteRead.model_validate(svc.registry.create_site(session, actor, data))


@router.get("/sites")
def list_sites(actor: ActorDep, svc: ServicesDep, session: SessionDep) -> list[SiteRead]:
    return [SiteRead.model_validate(s) for s in svc.registry.list_sites(session, actor)]


@router.get("/sites/{site_id}")
def get_site(site_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> SiteRead:
    return SiteRead.model_validate(svc.registry.get_site(session, actor, site_id))


@router.post("/sites/{site_id}/drain", summary="Finish current plates, start no new ones")
def drain_site(site_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> SiteRead:
    return SiteRead.model_validate(svc.registry.set_site_paused(session, actor, site_id, True))


@router.put(
    "/sites/{site_id}/dispatch-settings",
    summary="Allowed parts, working hours and heat-up stagger of a site (replaces all of them)",
)
def set_dispatch_settings(
    site_id: int, data: SiteDispatchSettings, actor: ActorDep, svc: ServicesDep, session: SessionDep
) -> SiteRead:
    return SiteRead.model_validate(svc.registry.set_dispatch_settings(session, actor, site_id, data))


@router.post("/sites/{site_id}/resume", summary="Start plates at this site again")
def resume_site(site_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> SiteRead:
    return SiteRead.model_validate(svc.registry.set_site_paused(session, actor, site_id, False))


@router.post("/hospitals", status_code=status.HTTP_201_CREATED)
def create_hospital(data: HospitalCreate, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> HospitalRead:
    return HospitalRead.model_validate(svc.registry.create_hospital(session, actor, data))


@router.get("/hospitals")
def list_hospitals(actor: ActorDep, svc: ServicesDep, session: SessionDep) -> list[HospitalRead]:
    return [HospitalRead.model_validate(h) for h in svc.registry.list_hospitals(session, actor)]


@router.get("/hospitals/{hospital_id}")
def get_hospital(hospital_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> HospitalRead:
    return HospitalRead.model_validate(svc.registry.get_hospital(session, actor, hospital_id))
