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


_GRANTS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.COORDINATOR: frozenset(
        {
            Action.READ,
            Action.MANAGE_PARTS,
            Action.MANAGE_BATCHES,
            Action.MANAGE_DELIVERIES,
            Action.OPERATE_PRINTER,
        }
    ),
    Role.OPERATOR: frozenset({Action.READ, Action.MANAGE_PRINTERS, Action.OPERATE_PRINTER}),
    Role.VIEWER: frozenset({Action.READ}),
}

#: Actions an operator may only take on its own site's printers.
SITE_BOUND = frozenset({Action.MANAGE_PRINTERS, Action.OPERATE_PRINTER})


@dataclass(frozen=True)
class Actor:
    """Who is making a request: a token's role and, for operators, its site."""

    role: Role
    token_id: int | None = None
    site_id: int | None = None
    label: str = "system"

    @property
    def is_system(self) -> bool:
        return self.token_id is None


SYSTEM = Actor(role=Role.ADMIN, label="system")


def may(actor: Actor, action: Action, site_id: int | None = None) -> bool:
    if action not in _GRANTS[actor.role]:
        return False
    if actor.role is Role.OPERATOR and action in SITE_BOUND:
        return site_id is not None and site_id == actor.site_id
    return True


def require(actor: Actor, action: Action, site_id: int | None = None) -> None:
    """Raise Forbidden unless the actor may take the action (on that site)."""
    if may(actor, action, site_id):
        return
    if actor.role is Role.OPERATOR and action in SITE_BOUND and action in _GRANTS[actor.role]:
        raise Forbidden(f"operator of site {actor.site_id} may not act on site {site_id}")
    raise Forbidden(f"role {actor.role.value} may not {action.value.replace('_', ' ')}")
