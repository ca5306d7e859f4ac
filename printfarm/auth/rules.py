"""Roles and the permission policy: who may do what, on which site."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from printfarm.errors import Forbidden


class Role(enum.StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    OPERATOR = "operator"
    VIEWER = "viewer"
    HOSPITAL = "hospital"  # a hospital's liaison: its own requests and receipts


class Action(enum.StrEnum):
    READ = "read"
    MANAGE_SITES = "manage_sites"  # sites, hospitals, printer profiles
    MANAGE_TOKENS = "manage_tokens"
    READ_AUDIT = "read_audit"
    MANAGE_PARTS = "manage_parts"  # parts, print files
    MANAGE_BATCHES = "manage_batches"
    MANAGE_PRINTERS = "manage_printers"  # register, update; site-bound for operators
    OPERATE_PRINTER = "operate_printer"  # clear bed, QC, cancel/pause a job on it; site-bound
    MANAGE_DELIVERIES = "manage_deliveries"
    MANAGE_REQUESTS = "manage_requests"  # a hospital's requests; hospital-bound for hospital tokens
    RECEIVE_DELIVERIES = "receive_deliveries"  # confirm receipt; hospital-bound for hospital tokens
    POST_EXCHANGE = "post_exchange"  # offers and needs on the cooperation board; site-bound for operators
    MANAGE_EXCHANGE = "manage_exchange"  # close posts, turn capacity offers into available printers


_GRANTS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.COORDINATOR: frozenset(
        {
            Action.READ,
            Action.MANAGE_PARTS,
            Action.MANAGE_BATCHES,
            Action.MANAGE_DELIVERIES,
            Action.OPERATE_PRINTER,
            Action.MANAGE_REQUESTS,
            Action.RECEIVE_DELIVERIES,
            Action.POST_EXCHANGE,
            Action.MANAGE_EXCHANGE,
        }
    ),
    Role.OPERATOR: frozenset({Action.READ, Action.MANAGE_PRINTERS, Action.OPERATE_PRINTER, Action.POST_EXCHANGE}),
    Role.VIEWER: frozenset({Action.READ}),
    Role.HOSPITAL: frozenset({Action.READ, Action.MANAGE_REQUESTS, Action.RECEIVE_DELIVERIES}),
}

#: Actions an operator may only take on its own site's printers.
SITE_BOUND = frozenset({Action.MANAGE_PRINTERS, Action.OPERATE_PRINTER, Action.POST_EXCHANGE})
#: Actions a hospital token may only take for its own hospital.
HOSPITAL_BOUND = frozenset({Action.MANAGE_REQUESTS, Action.RECEIVE_DELIVERIES})


@dataclass(frozen=True)
class Actor:
    """Who is making a request: a token's role and, for operators, its site; for hospitals, its hospital."""

    role: Role
    token_id: int | None = None
    site_id: int | None = None
    label: str = "system"
    hospital_id: int | None = None

    @property
    def is_system(self) -> bool:
        return self.token_id is None


SYSTEM = Actor(role=Role.ADMIN, label="system")


def may(actor: Actor, action: Action, site_id: int | None = None, *, hospital_id: int | None = None) -> bool:
    if action not in _GRANTS[actor.role]:
        return False
    if actor.role is Role.OPERATOR and action in SITE_BOUND:
        return site_id is not None and site_id == actor.site_id
    if actor.role is Role.HOSPITAL and action in HOSPITAL_BOUND:
        return hospital_id is not None and hospital_id == actor.hospital_id
    return True


def own_hospital(actor: Actor, hospital_id: int | None) -> int | None:
    """The hospital a read is limited to: a hospital token reads only its own (Forbidden for another)."""
    if actor.role is not Role.HOSPITAL:
        return hospital_id
    if hospital_id is not None and hospital_id != actor.hospital_id:
        raise Forbidden(f"hospital {actor.hospital_id}'s token may not read hospital {hospital_id}'s records")
    return actor.hospital_id


def require(actor: Actor, action: Action, site_id: int | None = None, *, hospital_id: int | None = None) -> None:
    """Raise Forbidden unless the actor may take the action (on that site, for that hospital)."""
    if may(actor, action, site_id, hospital_id=hospital_id):
        return
    if actor.role is Role.OPERATOR and action in SITE_BOUND and action in _GRANTS[actor.role]:
        raise Forbidden(f"operator of site {actor.site_id} may not act on site {site_id}")
    if actor.role is Role.HOSPITAL and action in HOSPITAL_BOUND and action in _GRANTS[actor.role]:
        raise Forbidden(f"hospital {actor.hospital_id}'s token may not act for hospital {hospital_id}")
    raise Forbidden(f"role {actor.role.value} may not {action.value.replace('_', ' ')}")


def require_site_view(actor: Actor, site_id: int, what: str) -> None:
    """A site's workshop pages (its wall, a printer's own page, its labels): any reader may open them,
    an operator only its own site's. what names the page: "printer 7's page"."""
    require(actor, Action.READ)
    if actor.role is Role.OPERATOR and actor.site_id != site_id:
        raise Forbidden(f"operator of site {actor.site_id} may not open {what}: it belongs to site {site_id}")
