"""Printer profiles (printers/profiles.py): created, listed, refused when the name is taken, catalog added once."""

from __future__ import annotations

from printfarm.auth.rules import SYSTEM
from printfarm.printers.catalog import PROFILES

NEW = {"name": "voron-0.6", "printer_model": "Voron 2.4", "nozzle_mm": 0.6, "build_x_mm": 350, "build_y_mm": 350,
       "build_z_mm": 340, "slicer_config": "voron-0.6.ini"}


def test_a_created_profile_is_listed_after_the_catalog_and_audited(new_world):
    world = new_world()
    created = world.ok("admin", "POST", "/api/printer-profiles", json=NEW)
    assert created == {"id": created["id"], **NEW}
    listed = world.ok("admin", "GET", "/api/printer-profiles")
    assert [p["name"] for p in listed] == [*PROFILES, "voron-0.6"]
    audit = world.ok("admin", "GET", "/api/audit")
    assert audit[0]["action"] == "profile.create" and audit[0]["detail"] == {"name": "voron-0.6"}


def test_a_taken_profile_name_is_refused_and_changes_nothing(new_world):
    world = new_world()
    before = world.ok("admin", "GET", "/api/printer-profiles")
    response = world.call("admin", "POST", "/api/printer-profiles", json={**NEW, "name": "prusa-mk3s-0.4"})
    assert response.status_code == 409
    assert response.json() == {
        "error": "AlreadyExists", "detail": "printer profile named 'prusa-mk3s-0.4' already exists"
    }
    assert world.ok("admin", "GET", "/api/printer-profiles") == before


def test_the_catalog_is_added_once(new_world):
    world = new_world()  # make_world already added it
    with world.services.db.unit_of_work() as session:
        world.services.profiles.ensure_catalog(session, SYSTEM)
    assert [p["name"] for p in world.ok("admin", "GET", "/api/printer-profiles")] == list(PROFILES)
