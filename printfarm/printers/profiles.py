"""Printer profile use-cases: create, list, look up by name, and add the catalog printfarm ships with."""

from __future__ import annotations

import builtins

from sqlalchemy.orm import Session

from printfarm.audit.service import record
from printfarm.auth.rules import Action, Actor, require
from printfarm.clock import Clock
from printfarm.db.tables import PrinterProfile
from printfarm.errors import AlreadyExists, NotFound
from printfarm.printers import repository
from printfarm.printers.catalog import PROFILES
from printfarm.printers.schemas import ProfileCreate


def get_by_name(session: Session, name: str) -> PrinterProfile:
    """The profile called name; NotFound when there is none."""
    profile = repository.profile_named(session, name)
    if profile is None:
        raise NotFound(f"printer profile {name!r} does not exist")
    return profile


class ProfileService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def create(self, session: Session, actor: Actor, data: ProfileCreate) -> PrinterProfile:
        """A new profile; AlreadyExists when the name is taken."""
        require(actor, Action.MANAGE_SITES)
        if repository.profile_named(session, data.name) is not None:
            raise AlreadyExists(f"printer profile named {data.name!r} already exists")
        profile = PrinterProfile(**data.model_dump())
        session.add(profile)
        session.flush()
        record(
            session, actor, self._clock.now(), "profile.create", "printer_profile", profile.id, {"name": profile.name}
        )
        return profile

    def list(self, session: Session, actor: Actor) -> builtins.list[PrinterProfile]:
        require(actor, Action.READ)
        return repository.list_profiles(session)

    def ensure_catalog(self, session: Session, actor: Actor) -> None:
        """Add the profiles printfarm ships with (printers/catalog.py) that are not there yet."""
        existing = repository.profile_names(session)
        for spec in PROFILES.values():
            if spec.name not in existing:
                self.create(
                    session,
                    actor,
                    ProfileCreate(
                        name=spec.name,
                        printer_model=spec.printer_model,
                        nozzle_mm=spec.nozzle_mm,
                        build_x_mm=spec.build_x_mm,
                        build_y_mm=spec.build_y_mm,
                        build_z_mm=spec.build_z_mm,
                        slicer_config=spec.slicer_config,
                    ),
                )
