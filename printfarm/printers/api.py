"""Routes for printers (register, update, list, clear the bed) and printer profiles."""

from __future__ import annotations

from fastapi import APIRouter, status

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.output.schemas import ClearBedResult
from printfarm.printers.schemas import (
    ClearBed, PrinterCreate, PrinterRead, PrinterUpdate, ProfileCreate, ProfileRead, ReportFault, TimelinePage,
)

router = APIRouter(tags=["printers"])


@router.post(
    "/printers",
    status_code=status.HTTP_201_CREATED,
    summary="Register a printer (it is called first; unreachable or a refused key saves nothing)",
)
def register_printer(data: PrinterCreate, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> PrinterRead:
    printer = svc.printers.register(session, actor, data)
    return svc.printers.read_models(session, [printer])[0]


@router.get("/printers")
def list_printers(
    actor: ActorDep, svc: ServicesDep, session: SessionDep, site_id: int | None = None
) -> list[PrinterRead]:
    return svc.printers.read_models(session, svc.printers.list(session, actor, site_id))


@router.get("/printers/{printer_id}")
def get_printer(printer_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> PrinterRead:
    return svc.printers.read_models(session, [svc.printers.get(session, actor, printer_id)])[0]


@router.patch("/printers/{printer_id}", summary="Enable, disable (maintenance) or change the loaded material")
def update_printer(
    printer_id: int, data: PrinterUpdate, actor: ActorDep, svc: ServicesDep, session: SessionDep
) -> PrinterRead:
    return svc.printers.read_models(session, [svc.printers.update(session, actor, printer_id, data)])[0]


@router.post(
    "/printers/{printer_id}/clear-bed",
    summary="The plate is off the bed: record good and rejected units, free the printer",
)
def clear_bed(
    printer_id: int, data: ClearBed, actor: ActorDep, svc: ServicesDep, session: SessionDep
) -> ClearBedResult:
    return svc.output.clear_bed(session, actor, printer_id, data.good_units, data.rejected_units)


@router.post(
    "/printers/{printer_id}/acknowledge-fault",
    summary="An operator looked at the printer in fault: plates may start there again once it answers",
)
def acknowledge_fault(printer_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> PrinterRead:
    return svc.printers.read_models(session, [svc.printers.acknowledge_fault(session, actor, printer_id)])[0]


@router.post(
    "/printers/{printer_id}/report-fault",
    summary="A person at the printer reports a fault: it is held, like a firmware fault, until acknowledged",
)
def report_fault(
    printer_id: int, data: ReportFault, actor: ActorDep, svc: ServicesDep, session: SessionDep
) -> PrinterRead:
    return svc.printers.read_models(session, [svc.printers.report_fault(session, actor, printer_id, data.reason)])[0]


@router.get("/printers/{printer_id}/timeline", summary="Connection changes, faults, plates and beds, newest first")
def printer_timeline(
    printer_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep, before: int | None = None, limit: int = 50
) -> TimelinePage:
    return svc.printers.timeline(session, actor, printer_id, before, limit)


@router.post("/printer-profiles", status_code=status.HTTP_201_CREATED)
def create_profile(data: ProfileCreate, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> ProfileRead:
    return ProfileRead.model_validate(svc.profiles.create(session, actor, data))


@router.get("/printer-profiles")
def list_profiles(actor: ActorDep, svc: ServicesDep, session: SessionDep) -> list[ProfileRead]:
    return [ProfileRead.model_validate(p) for p in svc.profiles.list(session, actor)]
