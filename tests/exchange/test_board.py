"""The cooperation board: members post offers and needs, coordinators close them, capacity becomes printers."""

from __future__ import annotations

import pytest
from support.world import seed


@pytest.fixture
def world(new_world):
    return seed(new_world())


def test_members_post_and_coordinators_close(world):
    offer = world.ok("operator_acme", "POST", "/api/exchange", json={
        "kind": "offer", "category": "material", "site_id": world.ids["acme"], "title": "PETG spools",
        "quantity": 5, "unit": "kg"})
    need = world.ok("operator_uni", "POST", "/api/exchange", json={
        "kind": "need", "category": "transport", "site_id": world.ids["uni"], "title": "van to Sahlgrenska"})
    assert offer["posted_by"].startswith("token ") and offer["is_closed"] is False
    board = world.ok("viewer", "GET", "/api/exchange")
    assert [p["id"] for p in board] == [need["id"], offer["id"]]  # newest first
    assert [p["id"] for p in world.ok("viewer", "GET", "/api/exchange", params={"kind": "need"})] == [need["id"]]
    closed = world.ok("coordinator", "POST", f"/api/exchange/{offer['id']}/close", json={"note": "went to uni"})
    assert closed["is_closed"] and closed["closed_note"] == "went to uni"
    assert [p["id"] for p in world.ok("viewer", "GET", "/api/exchange")] == [need["id"]]
    assert [p["id"] for p in world.ok("viewer", "GET", "/api/exchange", params={"is_closed": True})] == [offer["id"]]
    again = world.call("coordinator", "POST", f"/api/exchange/{offer['id']}/close", json={})
    assert again.status_code == 409 and "already closed" in again.json()["detail"]


def test_an_operator_posts_for_its_own_site_only(world):
    response = world.call("operator_acme", "POST", "/api/exchange", json={
        "kind": "offer", "category": "capacity", "site_id": world.ids["uni"], "title": "not mine"})
    assert response.status_code == 403
    assert world.ok("viewer", "GET", "/api/exchange") == []


def test_a_capacity_offer_becomes_printers_available_for_dispatch(world):
    printer_id = world.ids["acme/mk3-1"]
    world.ok("operator_acme", "PATCH", f"/api/printers/{printer_id}", json={"is_enabled": False, "disabled_reason": "lab course"})
    assert world.dispatch().claimed == 1  # only uni's printer takes a plate
    offer = world.ok("operator_acme", "POST", "/api/exchange", json={
        "kind": "offer", "category": "capacity", "site_id": world.ids["acme"], "title": "MK3S free over Easter",
        "printer_ids": [printer_id], "available_until": "2020-04-14"})
    made = world.ok("coordinator", "POST", f"/api/exchange/{offer['id']}/make-available")
    assert made["is_closed"] and str(printer_id) in made["closed_note"]
    printer = world.ok("viewer", "GET", f"/api/printers/{printer_id}")
    assert printer["is_enabled"] is True and printer["disabled_reason"] is None
    assert world.dispatch().claimed == 1  # now acme's printer prints too
    assert world.call("coordinator", "POST", f"/api/exchange/{offer['id']}/make-available").status_code == 409


def test_bad_posts_are_refused_with_the_reason(world):
    cases = [
        ({"kind": "need", "category": "material", "title": "x", "printer_ids": [1]}, 422, "capacity offers only"),
        ({"kind": "offer", "category": "capacity", "title": "x", "printer_ids": [1]}, 422, "names the site"),
        ({"kind": "offer", "category": "capacity", "site_id": world.ids["acme"], "title": "x",
          "printer_ids": [world.ids["uni/mk3-1"]]}, 422, "are not at site"),
        ({"kind": "offer", "category": "capacity", "site_id": world.ids["acme"], "title": "x",
          "printer_ids": [999]}, 422, "do not exist"),
        ({"kind": "offer", "category": "material", "site_id": 999, "title": "x"}, 404, "site 999"),
        ({"kind": "gift", "category": "material", "title": "x"}, 422, ""),
        ({"kind": "offer", "category": "material", "title": ""}, 422, ""),
    ]
    for body, status, reason in cases:
        response = world.call("coordinator", "POST", "/api/exchange", json=body)
        assert response.status_code == status, (body, response.text)
        assert reason in str(response.json()["detail"])
    need = world.ok("coordinator", "POST", "/api/exchange", json={"kind": "need", "category": "other", "title": "x"})
    response = world.call("coordinator", "POST", f"/api/exchange/{need['id']}/make-available")
    assert response.status_code == 409 and "not a capacity offer" in response.json()["detail"]
    assert len(world.ok("viewer", "GET", "/api/exchange")) == 1
