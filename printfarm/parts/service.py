"""Part use-cases: create with an STL, approve, attach print files."""

from __future__ import annotations

import builtins

import logging
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from printfarm.adapters.storage import FileStore
from printfarm.audit.service import record
from printfarm.auth.rules import Action, Actor, require
from printfarm.clock import Clock
from printfarm.db.tables import Part, PrinterProfile, PrintFile
from printfarm.errors import AlreadyExists, Conflict, Incompatible, InputError, NotFound
from printfarm.printers.catalog import ProfileSpec
from printfarm.parts.ports import CompatibilityCheck, GcodeAnalyser, Slicer, StlValidator
from printfarm.db.lookup import get_existing

log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def display_filename(name: str | None, default: str) -> str:
    """A file name for display only; stored files are named by their digest, never by this."""
    cleaned = _SAFE_NAME.sub("_", (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip(" .")
    return cleaned[:200] or default


def profile_spec(profile: PrinterProfile) -> ProfileSpec:
    return ProfileSpec(
        name=profile.name,
        printer_model=profile.printer_model,
        nozzle_mm=profile.nozzle_mm,
        build_x_mm=profile.build_x_mm,
        build_y_mm=profile.build_y_mm,
        build_z_mm=profile.build_z_mm,
        slicer_config=profile.slicer_config or "",
    )


class PartService:
    def __init__(
        self,
        clock: Clock,
        store: FileStore,
        validate_stl: StlValidator,
        analyse_gcode: GcodeAnalyser,
        check_compatibility: CompatibilityCheck,
        gcode_max_bytes: int,
        stl_max_bytes: int,
        slicer: Slicer | None = None,
    ) -> None:
        self._slicer = slicer
        self._clock = clock
        self._store = store
        self._validate_stl = validate_stl
        self._analyse_gcode = analyse_gcode
        self._check_compatibility = check_compatibility
        self._gcode_max_bytes = gcode_max_bytes
        self._stl_max_bytes = stl_max_bytes

    def create(
        self,
        session: Session,
        actor: Actor,
        *,
        name: str,
        description: str | None = None,
        design_version: str | None = None,
        stl: bytes | None = None,
        stl_filename: str | None = None,
    ) -> Part:
        """A new part; its STL (optional) is validated and the report stored, even when rejected."""
        require(actor, Action.MANAGE_PARTS)
        name = name.strip()
        if not 1 <= len(name) <= 120:
            raise InputError(f"part name must be 1 to 120 characters (got {len(name)})")
        if session.scalar(select(Part.id).where(Part.name == name)) is not None:
            raise AlreadyExists(f"part named {name!r} already exists")
        report = None
        digest = None
        if stl is not None:
            if len(stl) > self._stl_max_bytes:
                raise InputError(f"STL of {len(stl)} bytes exceeds the limit of {self._stl_max_bytes} bytes")
            report = self._validate_stl(stl, None)
            digest = self._store.put(stl)
        part = Part(
            name=name,
            description=description,
            design_version=design_version,
            stl_sha256=digest,
            stl_filename=display_filename(stl_filename, "part.stl") if stl is not None else None,
            stl_verdict=report["verdict"] if report else None,
            stl_report=report,
            is_approved=False,
            created_at=self._clock.now(),
        )
        session.add(part)
        session.flush()
        record(session, actor, part.created_at, "part.create", "part", part.id, {"name": name, "stl_verdict": part.stl_verdict})
        return part

    def approve(self, session: Session, actor: Actor, part_id: int) -> Part:
        require(actor, Action.MANAGE_PARTS)
        part = get_existing(session, Part, part_id, "part")
        if part.stl_verdict == "rejected":
            codes = ", ".join(e["code"] for e in (part.stl_report or {}).get("errors", []))
            raise Conflict(f"part {part_id}: its STL was rejected ({codes}); upload a fixed part")
        part.is_approved = True
        record(session, actor, self._clock.now(), "part.approve", "part", part_id)
        return part

    def get(self, session: Session, actor: Actor, part_id: int) -> Part:
        require(actor, Action.READ)
        return get_existing(session, Part, part_id, "part")

    def list(self, session: Session, actor: Actor) -> builtins.list[Part]:
        require(actor, Action.READ)
        return list(session.scalars(select(Part).order_by(Part.id)))

    def stl_bytes(self, session: Session, actor: Actor, part_id: int) -> bytes:
        part = self.get(session, actor, part_id)
        if part.stl_sha256 is None:
            raise NotFound(f"part {part_id} has no STL")
        return self._store.get(part.stl_sha256)

    def add_print_file(
        self,
        session: Session,
        actor: Actor,
        part_id: int,
        *,
        profile_name: str,
        gcode: bytes,
        filename: str | None,
        units_per_print: int,
        material: str | None = None,
    ) -> PrintFile:
        """Attach G-code for one printer profile; it is analysed and checked against the profile first.

        Raises GcodeRejected (not G-code), Incompatible (does not suit the profile or material).
        """
        require(actor, Action.MANAGE_PARTS)
        part = get_existing(session, Part, part_id, "part")
        profile = session.scalar(select(PrinterProfile).where(PrinterProfile.name == profile_name))
        if profile is None:
            raise NotFound(f"printer profile {profile_name!r} does not exist")
        if not 1 <= units_per_print <= 1000:
            raise InputError(f"units_per_print must be 1 to 1000 (got {units_per_print})")
        if len(gcode) > self._gcode_max_bytes:
            raise InputError(f"G-code of {len(gcode)} bytes exceeds the limit of {self._gcode_max_bytes} bytes")
        analysis = self._analyse_gcode(gcode)
        material = material or analysis.get("filament_type")
        problems = self._check_compatibility(analysis, profile_spec(profile), material)
        if problems:
            raise Incompatible(f"print file for part {part_id} on profile {profile.name}: " + "; ".join(problems))
        print_file = PrintFile(
            part_id=part.id,
            profile_id=profile.id,
            sha256=self._store.put(gcode),
            filename=display_filename(filename, f"part-{part.id}.gcode"),
            size_bytes=len(gcode),
            units_per_print=units_per_print,
            material=material,
            analysis=analysis,
            created_at=self._clock.now(),
        )
        session.add(print_file)
        session.flush()
        record(
            session, actor, print_file.created_at, "printfile.add", "print_file", print_file.id,
            {"part_id": part.id, "profile": profile.name, "units_per_print": units_per_print},
        )
        return print_file

    def slice(
        self, session: Session, actor: Actor, part_id: int, *, profile_name: str, copies: int = 1
    ) -> PrintFile:
        """Slice the part's STL for a profile, `copies` on one plate, and attach the result.

        The G-code goes through the same analysis and checks as an uploaded one; the print file
        records units_per_print = copies. Raises Conflict (no STL, or a rejected one),
        SlicerError (no slicer, a failing or hanging slice, copies that do not fit).
        """
        require(actor, Action.MANAGE_PARTS)
        part = get_existing(session, Part, part_id, "part")
        if not 1 <= copies <= 100:
            raise InputError(f"copies must be 1 to 100 (got {copies})")
        if part.stl_sha256 is None:
            raise Conflict(f"part {part_id} has no STL to slice; upload one or attach G-code")
        if part.stl_verdict == "rejected":
            codes = ", ".join(e["code"] for e in (part.stl_report or {}).get("errors", []))
            raise Conflict(f"part {part_id}: its STL was rejected ({codes}) and cannot be sliced")
        profile = session.scalar(select(PrinterProfile).where(PrinterProfile.name == profile_name))
        if profile is None:
            raise NotFound(f"printer profile {profile_name!r} does not exist")
        if not profile.slicer_config:
            raise Conflict(f"printer profile {profile.name} has no slicer config to slice with")
        if self._slicer is None:
            raise Conflict("no slicer is configured in this printfarm")
        gcode = self._slicer(self._store.get(part.stl_sha256), profile.slicer_config, copies)
        stem = (part.stl_filename or f"part-{part.id}").rsplit(".", 1)[0]
        return self.add_print_file(
            session, actor, part.id, profile_name=profile.name, gcode=gcode,
            filename=f"{stem}-{profile.name}-x{copies}.gcode", units_per_print=copies,
        )

    def list_print_files(self, session: Session, actor: Actor, part_id: int) -> builtins.list[PrintFile]:
        require(actor, Action.READ)
        get_existing(session, Part, part_id, "part")
        return list(session.scalars(select(PrintFile).where(PrintFile.part_id == part_id).order_by(PrintFile.id)))
