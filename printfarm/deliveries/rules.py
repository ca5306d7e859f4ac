"""Delivery states as data, and first-in first-out allocation of units to QC-recorded plates."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from printfarm.errors import Conflict, InvalidTransition


class DeliveryState(enum.StrEnum):
    PLANNED = "planned"  # units allocated (reserved) at their sites, nothing has left yet
    SHIPPED = "shipped"  # units left their sites
    RECEIVED = "received"  # the hospital confirmed receipt, with the count it received
    CANCELLED = "cancelled"  # a planned delivery dropped; its units are free again


#: States whose allocated units no longer count as available at their sites.
HOLDS_UNITS = frozenset({DeliveryState.PLANNED, DeliveryState.SHIPPED, DeliveryState.RECEIVED})
#: States in which the units have left their sites.
LEFT_SITE = frozenset({DeliveryState.SHIPPED, DeliveryState.RECEIVED})
#: Only a planned delivery may change its sources, units or notes.
EDITABLE = frozenset({DeliveryState.PLANNED})

ALLOWED: dict[DeliveryState, frozenset[DeliveryState]] = {
    DeliveryState.PLANNED: frozenset({DeliveryState.SHIPPED, DeliveryState.CANCELLED}),
    DeliveryState.SHIPPED: frozenset({DeliveryState.RECEIVED}),
    DeliveryState.RECEIVED: frozenset(),
    DeliveryState.CANCELLED: frozenset(),
}


def check_move(delivery_id: int, current: DeliveryState, target: DeliveryState) -> None:
    """Raise InvalidTransition unless the delivery may move from current to target."""
    if target not in ALLOWED[current]:
        raise InvalidTransition(f"delivery {delivery_id}: cannot go from {current.value} to {target.value}")


def check_editable(delivery_id: int, current: DeliveryState) -> None:
    if current not in EDITABLE:
        raise InvalidTransition(f"delivery {delivery_id} is {current.value}; only a planned delivery can be changed")


@dataclass(frozen=True)
class Lot:
    """Good units of one QC-recorded plate still free at its site, oldest first."""

    output_id: int
    available_units: int


@dataclass(frozen=True)
class Allocation:
    output_id: int
    units: int


def allocate_fifo(site_id: int, wanted_units: int, lots: Iterable[Lot]) -> list[Allocation]:
    """Take wanted_units from lots in the order given (oldest plate first).

    Raises Conflict, naming the site and both counts, when the lots hold fewer units than wanted.
    """
    if wanted_units <= 0:
        raise ValueError(f"wanted_units must be positive (got {wanted_units})")
    taken: list[Allocation] = []
    still = wanted_units
    held = 0
    for lot in lots:
        if lot.available_units <= 0:
            continue
        held += lot.available_units
        if still > 0:
            units = min(still, lot.available_units)
            taken.append(Allocation(lot.output_id, units))
            still -= units
    if still > 0:
        raise Conflict(f"site {site_id} holds {held} units of this part, not {wanted_units}")
    return taken
