"""Delivery rules: the state machine and first-in first-out allocation."""

from __future__ import annotations

import pytest

from printfarm.deliveries.rules import (
    ALLOWED,
    DeliveryState,
    Lot,
    allocate_fifo,
    check_editable,
    check_move,
)
from printfarm.errors import Conflict, InvalidTransition


def test_allocation_takes_the_oldest_lots_first_and_skips_empty_ones():
    lots = [Lot(1, 0), Lot(2, 3), Lot(3, 4), Lot(4, 4)]
    assert [(a.output_id, a.units) for a in allocate_fifo(7, 5, lots)] == [(2, 3), (3, 2)]
    assert [(a.output_id, a.units) for a in allocate_fifo(7, 11, lots)] == [(2, 3), (3, 4), (4, 4)]


def test_allocation_beyond_what_the_site_holds_names_both_counts():
    with pytest.raises(Conflict, match="site 7 holds 11 units of this part, not 12"):
        allocate_fifo(7, 12, [Lot(2, 3), Lot(3, 4), Lot(4, 4)])
    with pytest.raises(Conflict, match="holds 0 units"):
        allocate_fifo(7, 1, [])


def test_only_planned_deliveries_change_and_received_is_final():
    check_editable(1, DeliveryState.PLANNED)
    for state in (DeliveryState.SHIPPED, DeliveryState.RECEIVED, DeliveryState.CANCELLED):
        with pytest.raises(InvalidTransition, match=f"delivery 1 is {state.value}"):
            check_editable(1, state)
    check_move(1, DeliveryState.PLANNED, DeliveryState.SHIPPED)
    check_move(1, DeliveryState.SHIPPED, DeliveryState.RECEIVED)
    with pytest.raises(InvalidTransition, match="cannot go from planned to received"):
        check_move(1, DeliveryState.PLANNED, DeliveryState.RECEIVED)
    assert ALLOWED[DeliveryState.RECEIVED] == ALLOWED[DeliveryState.CANCELLED] == frozenset()
