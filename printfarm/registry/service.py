"""Use-cases of the registry: create and list sites and hospitals, drain sites, set their dispatch settings, audit broker logins."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from printfarm.audit.service import record
from printfarm.auth.rules import Action, Actor, require
from printfarm.clock import Clock
from printfarm.db.lookup import get_existing
from printfarm.db.tables import Hospital, Part, Site
from printfarm.errors import AlreadyExists, Conflict, InputError, NotFound
from printfarm.registry.broker_access import CENTRAL_USERNAME, site_username
from printfarm.registry.schemas import HospitalCreate, SiteCreate, SiteDispatchSettings


class RegistryService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def _unique_name(self, session: Session, table: type[Site] | type[Hospital], name: str, label: str) -> None:
        if session.scalar(select(table.id).where(table.name == name)) is not None:
            raise AlreadyExists(f"{label} named {name!r} already exists")

    def create_site(self, session: Session, actor: Actor, data: SiteCreate) -> Site:
        require(actor, Action.MANAGE_SITES)
        self._unique_name(session, Site, data.name, "site")
        _check_parts_exist(session, data.allowed_part_ids)
        site = Site(**data.model_dump(), created_at=self._clock.now())
        session.add(site)
        session.flush()
        record(session, actor, site.created_at, "site.create", "site", site.id, {"name": site.name})
        return site

    def set_site_paused(self, session: Session, actor: Actor, site_id: int, is_paused: bool) -> Site:
        """Drain (pause) a site: its printers finish current plates and start no new ones."""
        require(actor, Action.MANAGE_PRINTERS, site_id)
        site = get_existing(session, Site, site_id, "site")
        site.is_paused = is_paused
        record(session, actor, self._clock.now(), "site.drain" if is_paused else "site.resume", "site", site_id)
        return site

    def set_dispatch_settings(self, session: Session, actor: Actor, site_id: int, data: SiteDispatchSettings) -> Site:
        """Replace a site's dispatch settings (allowed parts, working hours, heat-up stagger).

        Raises NotFound for an unknown site, InputError naming part ids that do not exist.
        """
        require(actor, Action.MANAGE_PRINTERS, site_id)
        site = get_existing(session, Site, site_id, "site")
        _check_parts_exist(session, data.allowed_part_ids)
        values = data.model_dump()
        before = {key: _jsonable(getattr(site, key)) for key in values}
        for key, value in values.items():
            setattr(site, key, value)
        record(
            session, actor, self._clock.now(), "site.dispatch_settings", "site", site_id,
            {"before": before, "after": {key: _jsonable(value) for key, value in values.items()}},
        )
        return site

    def list_sites(self, session: Session, actor: Actor) -> list[Site]:
        require(actor, Action.READ)
        return list(session.scalars(select(Site).order_by(Site.id)))

    def get_site(self, session: Session, actor: Actor, site_id: int) -> Site:
        require(actor, Action.READ)
        return get_existing(session, Site, site_id, "site")

    def find_site(self, session: Session, actor: Actor, reference: str) -> Site:
        """A site by its id, its name or its slug (its broker username); NotFound naming the reference."""
        require(actor, Action.READ)
        if reference.isdigit():
            return get_existing(session, Site, int(reference), "site")
        site = session.scalar(select(Site).where(Site.name == reference))
        if site is None:
            site = next((s for s in session.scalars(select(Site)) if site_username(s.name) == reference), None)
        if site is None:
            raise NotFound(f"site {reference!r} does not exist (by id, name or slug)")
        return site

    def record_site_broker_user(self, session: Session, actor: Actor, site: Site, password_file: str) -> str:
        """Audit a new broker password for the site's gateway; returns the broker username (the site's slug).

        Raises Conflict when another site has the same slug: the two would share a login and topics.
        """
        require(actor, Action.MANAGE_SITES)
        username = site_username(site.name)
        twins = [s.id for s in session.scalars(select(Site).where(Site.id != site.id)) if site_username(s.name) == username]
        if twins:
            raise Conflict(f"site {site.id}: its slug {username!r} is also site {twins[0]}'s; rename one of them first")
        record(session, actor, self._clock.now(), "site.gateway_credentials", "site", site.id,
               {"username": username, "password_file": password_file})
        return username

    def record_central_broker_user(self, session: Session, actor: Actor, password_file: str) -> None:
        """Audit a new broker password for the central service's user."""
        require(actor, Action.MANAGE_SITES)
        record(session, actor, self._clock.now(), "broker.central_user", "broker", None,
               {"username": CENTRAL_USERNAME, "password_file": password_file})

    def create_hospital(self, session: Session, actor: Actor, data: HospitalCreate) -> Hospital:
        require(actor, Action.MANAGE_SITES)
        self._unique_name(session, Hospital, data.name, "hospital")
        hospital = Hospital(**data.model_dump(), created_at=self._clock.now())
        session.add(hospital)
        session.flush()
        record(session, actor, hospital.created_at, "hospital.create", "hospital", hospital.id, {"name": hospital.name})
        return hospital

    def list_hospitals(self, session: Session, actor: Actor) -> list[Hospital]:
        require(actor, Action.READ)
        return list(session.scalars(select(Hospital).order_by(Hospital.id)))

    def get_hospital(self, session: Session, actor: Actor, hospital_id: int) -> Hospital:
        require(actor, Action.READ)
        return get_existing(session, Hospital, hospital_id, "hospital")


def _check_parts_exist(session: Session, part_ids: list[int] | None) -> None:
    if not part_ids:
        return
    known = set(session.scalars(select(Part.id).where(Part.id.in_(part_ids))))
    missing = sorted(set(part_ids) - known)
    if missing:
        raise InputError(f"allowed_part_ids: part {', '.join(map(str, missing))} does not exist")


def _jsonable(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value
