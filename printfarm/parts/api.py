"""Routes for parts (multipart STL upload) and their print files (multipart G-code upload)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.errors import InputError
from printfarm.parts.schemas import PartRead, PrintFileRead, ValidationRead

router = APIRouter(tags=["parts"])


def read_upload(upload: UploadFile, limit_bytes: int, what: str) -> bytes:
    """The upload's bytes, refusing more than limit_bytes without reading the rest."""
    data = upload.file.read(limit_bytes + 1)
    if len(data) > limit_bytes:
        raise InputError(f"{what} is larger than the limit of {limit_bytes} bytes")
    return data


@router.post("/parts", status_code=status.HTTP_201_CREATED, summary="Create a part, optionally with its STL (validated)")
def create_part(
    actor: ActorDep,
    svc: ServicesDep,
    session: SessionDep,
    name: Annotated[str, Form(min_length=1, max_length=120)],
    description: Annotated[str | None, Form(max_length=5000)] = None,
    design_version: Annotated[str | None, Form(max_length=40)] = None,
    stl: Annotated[UploadFile | None, File(description="The part's STL, binary or ASCII")] = None,
) -> PartRead:
    data = read_upload(stl, svc.settings.stl_max_bytes, "STL") if stl is not None else None
    part = svc.parts.create(
        session, actor, name=name, description=description, design_version=design_version,
        stl=data, stl_filename=stl.filename if stl is not None else None,
    )
    return PartRead.model_validate(part)


@router.get("/parts")
def list_parts(actor: ActorDep, svc: ServicesDep, session: SessionDep) -> list[PartRead]:
    return [PartRead.model_validate(p) for p in svc.parts.list(session, actor)]


@router.get("/parts/{part_id}")
def get_part(part_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> PartRead:
    return PartRead.model_validate(svc.parts.get(session, actor, part_id))


@router.get("/parts/{part_id}/validation", summary="The STL validation report stored with the part")
def get_validation(part_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> ValidationRead:
    part = svc.parts.get(session, actor, part_id)
    return ValidationRead(part_id=part.id, stl_filename=part.stl_filename, report=part.stl_report)


@router.post("/parts/{part_id}/approve", summary="Approve the part for hospital batches (refused for a rejected STL)")
def approve_part(part_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> PartRead:
    return PartRead.model_validate(svc.parts.approve(session, actor, part_id))


@router.post(
    "/parts/{part_id}/print-files",
    status_code=status.HTTP_201_CREATED,
    summary="Attach G-code for one printer profile (analysed and checked against the profile)",
)
def add_print_file(
    part_id: int,
    actor: ActorDep,
    svc: ServicesDep,
    session: SessionDep,
    profile: Annotated[str, Form(min_length=1, max_length=80, description="Printer profile name")],
    units_per_print: Annotated[int, Form(ge=1, le=1000, description="Units one plate yields")],
    gcode: Annotated[UploadFile, File(description="The G-code file")],
    material: Annotated[str | None, Form(max_length=40)] = None,
) -> PrintFileRead:
    data = read_upload(gcode, svc.settings.gcode_max_bytes, "G-code")
    print_file = svc.parts.add_print_file(
        session, actor, part_id, profile_name=profile, gcode=data, filename=gcode.filename,
        units_per_print=units_per_print, material=material,
    )
    return PrintFileRead.model_validate(print_file)


class SliceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: str = Field(min_length=1, max_length=80, description="Printer profile name, e.g. prusa-mk3s-0.4")
    copies: int = Field(1, ge=1, le=100, description="Copies on one plate: the print file's units_per_print")


@router.post(
    "/parts/{part_id}/slice",
    status_code=status.HTTP_201_CREATED,
    summary="Slice the part's STL with PrusaSlicer for a profile and attach the print file",
)
def slice_part(
    part_id: int, data: SliceRequest, actor: ActorDep, svc: ServicesDep, session: SessionDep
) -> PrintFileRead:
    print_file = svc.parts.slice(session, actor, part_id, profile_name=data.profile, copies=data.copies)
    return PrintFileRead.model_validate(print_file)


@router.get("/parts/{part_id}/print-files")
def list_print_files(part_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> list[PrintFileRead]:
    return [PrintFileRead.model_validate(f) for f in svc.parts.list_print_files(session, actor, part_id)]
