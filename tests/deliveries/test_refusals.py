"""Refusals: each a clear 4xx naming the problem, and nothing changed (stock, deliveries, requests, audit)."""

from __future__ import annotations

import pytest
from support.drive import finish_printing_plates, snapshot
from support.world import seed

from printfarm.auth.rules import Role


@pytest.fixture
def world(new_world):
    """acme and uni hold 4 QC-passed units each (acme rejected 1 of its first plate, then 4 more)."""
    world = seed(new_world(), units=16)
    finish_printing_plates(world, {"acme": [1]})
    finish_printing_plates(world, {})
    world.ids["other_hospital"] = world.ok("admin", "POST", "/api/hospitals", json={"name": "Östra"})["id"]
    world.token_for("hospital_other", Role.HOSPITAL, hospital_id=world.ids["other_hospital"])
    world.ids["request"] = world.ok("coordinator", "POST", "/api/requests", json={
        "hospital_id": world.ids["hospital"], "part_id": world.ids["part"], "quantity": 10,
    })["id"]
    return world


def plan(world, who="coordinator", **overrides):
    body = {"hospital_id": world.ids["hospital"], "part_id": world.ids["part"], "request_id": world.ids["request"],
            "sources": [{"site_id": world.ids["acme"], "units": 3}]}
    body.update(overrides)
    return world.call(who, "POST", "/api/deliveries", json=body)


def refused(world, response, status, error, detail_part):
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert detail_part in str(response.json()["detail"]), response.json()


def test_stock_before_any_delivery(world):
    stock = {r["site_name"]: r for r in world.ok("viewer", "GET", "/api/stock")}
    assert {s: r["available_units"] for s, r in stock.items()} == {"acme": 7, "uni": 8}


def test_over_shipping_is_409_and_changes_nothing(world):
    before = snapshot(world)
    refused(world, plan(world, sources=[{"site_id": world.ids["acme"], "units": 8}]), 409, "Conflict",
            f"site {world.ids['acme']} holds 7 units of this part, not 8")
    # one site fine, the other short: the whole plan is refused, the first site's allocation too
    refused(world, plan(world, sources=[{"site_id": world.ids["uni"], "units": 8},
                                        {"site_id": world.ids["acme"], "units": 9}]), 409, "Conflict", "holds 7")
    assert snapshot(world) == before
    # reserved units count: a second plan cannot take what a planned delivery holds
    first = plan(world, sources=[{"site_id": world.ids["acme"], "units": 6}]).json()
    middle = snapshot(world)
    refused(world, plan(world, sources=[{"site_id": world.ids["acme"], "units": 2}]), 409, "Conflict", "holds 1")
    assert snapshot(world) == middle
    # nor can growing a planned delivery beyond the site's stock
    refused(world, world.call("coordinator", "PATCH", f"/api/deliveries/{first['id']}",
                              json={"sources": [{"site_id": world.ids["acme"], "units": 8}]}), 409, "Conflict", "holds 7")
    assert snapshot(world) == middle


def test_a_delivery_to_the_hospital_of_another_request_is_409(world):
    before = snapshot(world)
    refused(world, plan(world, hospital_id=world.ids["other_hospital"]), 409, "Conflict",
            f"hospital request {world.ids['request']} is for hospital {world.ids['hospital']}")
    assert snapshot(world) == before


def test_viewers_operators_and_hospitals_cannot_take_coordinator_actions(world):
    delivery = plan(world).json()
    before = snapshot(world)
    for who in ("viewer", "operator_acme", "hospital"):
        refused(world, plan(world, who=who), 403, "Forbidden", "may not manage deliveries")
        for action in ("ship", "cancel"):
            refused(world, world.call(who, "POST", f"/api/deliveries/{delivery['id']}/{action}"), 403, "Forbidden",
                    "may not manage deliveries")
        refused(world, world.call(who, "PATCH", f"/api/deliveries/{delivery['id']}", json={"notes": "x"}), 403,
                "Forbidden", "may not manage deliveries")
    for who in ("viewer", "operator_acme"):
        refused(world, world.call(who, "POST", "/api/requests", json={
            "hospital_id": world.ids["hospital"], "part_id": world.ids["part"], "quantity": 1}), 403, "Forbidden",
            "may not manage requests")
    # a hospital's token records requests and receipts for its own hospital only
    refused(world, world.call("hospital_other", "POST", "/api/requests", json={
        "hospital_id": world.ids["hospital"], "part_id": world.ids["part"], "quantity": 1}), 403, "Forbidden",
        f"token may not act for hospital {world.ids['hospital']}")
    refused(world, world.call("hospital_other", "GET", f"/api/deliveries/{delivery['id']}"), 403, "Forbidden",
            "may not read")
    assert world.ok("hospital_other", "GET", "/api/deliveries") == []
    assert snapshot(world) == before
    world.ok("coordinator", "POST", f"/api/deliveries/{delivery['id']}/ship")
    shipped = snapshot(world)
    for who in ("viewer", "operator_acme", "hospital_other"):
        response = world.call(who, "POST", f"/api/deliveries/{delivery['id']}/receive", json={"units_received": 3})
        refused(world, response, 403, "Forbidden", "may not")
    assert snapshot(world) == shipped
    assert world.ok("hospital", "POST", f"/api/deliveries/{delivery['id']}/receive",
                    json={"units_received": 3})["state"] == "received"


def test_a_received_delivery_cannot_be_edited_shipped_cancelled_or_received_again(world):
    delivery = plan(world).json()
    world.ok("coordinator", "POST", f"/api/deliveries/{delivery['id']}/ship")
    refused(world, world.call("coordinator", "PATCH", f"/api/deliveries/{delivery['id']}", json={"notes": "late"}),
            409, "InvalidTransition", "only a planned delivery can be changed")
    refused(world, world.call("hospital", "POST", f"/api/deliveries/{delivery['id']}/receive",
                              json={"units_received": 4}), 422, "InputError", "shipped 3 units; 4 cannot have arrived")
    world.ok("hospital", "POST", f"/api/deliveries/{delivery['id']}/receive", json={"units_received": 3})
    before = snapshot(world)
    refused(world, world.call("coordinator", "PATCH", f"/api/deliveries/{delivery['id']}",
                              json={"sources": [{"site_id": world.ids["uni"], "units": 1}]}),
            409, "InvalidTransition", f"delivery {delivery['id']} is received")
    for action in ("ship", "cancel"):
        refused(world, world.call("coordinator", "POST", f"/api/deliveries/{delivery['id']}/{action}"), 409,
                "InvalidTransition", "cannot go from received")
    refused(world, world.call("hospital", "POST", f"/api/deliveries/{delivery['id']}/receive",
                              json={"units_received": 3}), 409, "InvalidTransition", "cannot go from received to received")
    assert snapshot(world) == before


def test_bad_input_is_4xx_and_changes_nothing(world):
    before = snapshot(world)
    refused(world, plan(world, sources=[{"site_id": world.ids["acme"], "units": 1},
                                        {"site_id": world.ids["acme"], "units": 1}]), 422, "InputError",
            "each site may appear once")
    refused(world, plan(world, sources=[{"site_id": 999, "units": 1}]), 404, "NotFound", "site 999 does not exist")
    refused(world, plan(world, request_id=999), 404, "NotFound", "hospital request 999 does not exist")
    assert plan(world, sources=[]).status_code == 422
    assert plan(world, sources=[{"site_id": world.ids["acme"], "units": 0}]).status_code == 422
    assert plan(world, sources=[{"site_id": world.ids["acme"], "units": -3}]).status_code == 422
    assert world.call("coordinator", "POST", "/api/deliveries/999/ship").status_code == 404
    assert world.call("admin", "POST", "/api/tokens", json={"name": "h", "role": "hospital"}).status_code == 422
    assert world.call("admin", "POST", "/api/tokens",
                      json={"name": "h", "role": "viewer", "hospital_id": world.ids["hospital"]}).status_code == 422
    assert world.call("admin", "POST", "/api/tokens", json={"name": "h", "role": "hospital", "hospital_id": 999}).status_code == 404
    world.ok("coordinator", "POST", f"/api/requests/{world.ids['request']}/close")
    closed = snapshot(world)
    refused(world, plan(world), 409, "Conflict", f"hospital request {world.ids['request']} is closed")
    assert snapshot(world) == closed
    assert before["stock"] == closed["stock"]


def test_a_planned_delivery_can_change_sources_and_cancelling_frees_its_units(world):
    delivery = plan(world).json()
    changed = world.ok("coordinator", "PATCH", f"/api/deliveries/{delivery['id']}",
                       json={"sources": [{"site_id": world.ids["uni"], "units": 5}], "notes": "uni has more"})
    assert (changed["units"], changed["notes"]) == (5, "uni has more")
    assert [s["site_name"] for s in changed["sites"]] == ["uni"]
    stock = {r["site_name"]: r for r in world.ok("viewer", "GET", "/api/stock")}
    assert (stock["acme"]["available_units"], stock["uni"]["available_units"], stock["uni"]["reserved_units"]) == (7, 3, 5)
    world.ok("coordinator", "POST", f"/api/deliveries/{delivery['id']}/cancel")
    stock = {r["site_name"]: r for r in world.ok("viewer", "GET", "/api/stock")}
    assert (stock["uni"]["available_units"], stock["uni"]["reserved_units"]) == (8, 0)
