"""Routes for print jobs: list, get, cancel, pause, resume."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Response

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.jobs.plates import plate_for_gateway
from printfarm.jobs.rules import JobState
from printfarm.jobs.schemas import JobRead

router = APIRouter(tags=["print jobs"])


@router.get("/jobs")
def list_jobs(
    actor: ActorDep,
    svc: ServicesDep,
    session: SessionDep,
    state: JobState | None = None,
    printer_id: int | None = None,
    batch_id: int | None = None,
) -> list[JobRead]:
    jobs = svc.jobs.list(session, actor, state=state, printer_id=printer_id, batch_id=batch_id)
    return [JobRead.model_validate(j) for j in jobs]


@router.get("/jobs/{job_id}")
def get_job(job_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> JobRead:
    return JobRead.model_validate(svc.jobs.get(session, actor, job_id))


@router.post("/jobs/{job_id}/cancel", summary="Cancel the plate (on the printer too); its units return to the batch")
def cancel_job(job_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> JobRead:
    return JobRead.model_validate(svc.jobs.cancel(session, actor, job_id))


@router.post("/jobs/{job_id}/pause")
def pause_job(job_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> JobRead:
    return JobRead.model_validate(svc.jobs.pause(session, actor, job_id))


@router.post("/jobs/{job_id}/resume")
def resume_job(job_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> JobRead:
    return JobRead.model_validate(svc.jobs.resume(session, actor, job_id))


@router.get(
    "/gateway/plates/{file_name}",
    summary="A plate's G-code, for the site gateway starting it (with its short-lived plate credential, no token)",
    response_class=Response,
    responses={200: {"content": {"text/x-gcode": {}}}},
)
def gateway_plate(
    file_name: Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._-]+$")],
    svc: ServicesDep,
    x_plate_credential: Annotated[str | None, Header(max_length=400)] = None,
) -> Response:
    gcode = plate_for_gateway(svc.store, svc.plate_credentials, svc.clock, file_name, x_plate_credential)
    return Response(gcode, media_type="text/x-gcode")
