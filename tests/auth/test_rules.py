"""The permission policy."""

import pytest

from printfarm.auth.rules import Action, Actor, Role, may, require
from printfarm.errors import Forbidden

OPERATOR_A = Actor(role=Role.OPERATOR, token_id=1, site_id=1)


def test_operator_acts_on_its_own_site_only():
    assert may(OPERATOR_A, Action.OPERATE_PRINTER, site_id=1)
    assert not may(OPERATOR_A, Action.OPERATE_PRINTER, site_id=2)
    with pytest.raises(Forbidden, match="operator of site 1 may not act on site 2"):
        require(OPERATOR_A, Action.OPERATE_PRINTER, site_id=2)


def test_viewer_reads_only():
    viewer = Actor(role=Role.VIEWER, token_id=2)
    assert may(viewer, Action.READ)
    for action in set(Action) - {Action.READ}:
        assert not may(viewer, action, site_id=1)


def test_coordinator_queues_batches_but_manages_no_tokens():
    coordinator = Actor(role=Role.COORDINATOR, token_id=3)
    assert may(coordinator, Action.MANAGE_BATCHES)
    with pytest.raises(Forbidden, match="role coordinator may not manage tokens"):
        require(coordinator, Action.MANAGE_TOKENS)


def test_admin_may_do_everything_everywhere():
    admin = Actor(role=Role.ADMIN, token_id=4)
    assert all(may(admin, action, site_id=99) for action in Action)
