"""Print files through the API: analysed on attach, refused when they do not suit the profile,
sliced from an approved STL with the real PrusaSlicer, and never dispatched to a printer they do not suit."""

from __future__ import annotations

import pytest
from support.world import PRINTER_KEY, seed

from conftest import SHARED
from printfarm.demo.gcode import plate_gcode

FACESHIELDS = SHARED / "data" / "stl" / "faceshield"
TRICKY = SHARED / "data" / "stl" / "tricky"


@pytest.fixture
def world(new_world):
    return seed(new_world())


def attach(world, gcode: bytes, profile: str = "prusa-mk3s-0.4", **form):
    return world.call(
        "coordinator", "POST", f"/api/parts/{world.ids['part']}/print-files",
        data={"profile": profile, "units_per_print": "4", **form},
        files={"gcode": ("plate.gcode", gcode, "text/plain")},
    )


@pytest.mark.parametrize(
    ("gcode", "profile", "form", "reason"),
    [
        (plate_gcode(width_mm=200, printer_model="MINI"), "prusa-mini-0.4", {}, "mm > bed 180 mm on X"),
        (plate_gcode(nozzle_mm=0.6), "prusa-mk3s-0.4", {}, "nozzle 0.6 mm"),
        (plate_gcode(material="PETG", nozzle_c=240, bed_c=85), "prusa-mk3s-0.4", {"material": "PLA"}, "PETG"),
        (plate_gcode(nozzle_c=260), "prusa-mk3s-0.4", {}, "outside PLA range"),
    ],
    ids=["too big for the bed", "another nozzle", "another material", "too hot for PLA"],
)
def test_an_unsuitable_print_file_is_refused_at_attach_time_and_names_the_values(world, gcode, profile, form, reason):
    before = world.ok("viewer", "GET", f"/api/parts/{world.ids['part']}/print-files")
    response = attach(world, gcode, profile, **form)
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "Incompatible"
    assert reason in response.json()["detail"]
    assert world.ok("viewer", "GET", f"/api/parts/{world.ids['part']}/print-files") == before


def test_an_attached_print_file_carries_its_analysis(world):
    files = world.ok("viewer", "GET", f"/api/parts/{world.ids['part']}/print-files")
    analysis = files[0]["analysis"]
    assert analysis["nozzle_mm"] == 0.4 and analysis["filament_type"] == "PLA"
    assert analysis["extents_mm"]["x"][1] - analysis["extents_mm"]["x"][0] == pytest.approx(160, abs=0.5)


def test_a_plate_is_never_dispatched_to_a_printer_it_does_not_suit(world):
    # seed() attached an MK3S PLA print file; park the seeded printers so only the misfits are idle
    for key in ("acme/mk3-1", "uni/mk3-1"):
        world.ok("admin", "PATCH", f"/api/printers/{world.ids[key]}", json={"is_enabled": False})
    url = "http://acme-mini.printers.invalid"
    world.fleet.add(url, PRINTER_KEY)
    world.ok("admin", "POST", "/api/printers", json={"site_id": world.ids["acme"], "name": "mini", "base_url": url,
                                                     "api_key": PRINTER_KEY, "profile": "prusa-mini-0.4"})
    world.add_printer("uni", "mk3-petg", loaded_material="PETG")
    assert world.dispatch().claimed == 0
    assert world.ok("viewer", "GET", "/api/jobs") == []
    world.ok("admin", "PATCH", f"/api/printers/{world.ids['uni/mk3-petg']}", json={"loaded_material": "PLA"})
    assert world.dispatch().claimed == 1


def test_slicing_an_approved_stl_with_prusaslicer_attaches_an_analysed_print_file(world):
    stl = (FACESHIELDS / "Visor_frame_SWEDEN_v11.stl").read_bytes()
    part = world.ok("coordinator", "POST", "/api/parts", data={"name": "visor"}, files={"stl": ("visor.stl", stl)})
    assert part["stl_verdict"] == "ok"
    made = world.ok("coordinator", "POST", f"/api/parts/{part['id']}/slice",
                    json={"profile": "creality-ender3-0.4", "copies": 1})
    assert made["units_per_print"] == 1
    analysis = made["analysis"]
    assert analysis["slicer"] == "PrusaSlicer"
    width = analysis["extents_mm"]["x"][1] - analysis["extents_mm"]["x"][0]
    assert 150 < width <= 220  # the visor frame is 158 x 183 mm; the bed is 220 mm
    listed = world.ok("viewer", "GET", f"/api/parts/{part['id']}/print-files")
    assert [f["id"] for f in listed] == [made["id"]]


def test_a_rejected_stl_can_be_neither_approved_nor_sliced(world):
    stl = (TRICKY / "Visor_frame_SWEDEN_v11__inverted.stl").read_bytes()
    part = world.ok("coordinator", "POST", "/api/parts", data={"name": "inside out"}, files={"stl": ("x.stl", stl)})
    assert part["stl_verdict"] == "rejected"
    report = world.ok("viewer", "GET", f"/api/parts/{part['id']}/validation")["report"]
    assert [e["code"] for e in report["errors"]] == ["inside_out"]
    for path, body in ((f"/api/parts/{part['id']}/approve", None),
                       (f"/api/parts/{part['id']}/slice", {"profile": "prusa-mk3s-0.4"})):
        response = world.call("coordinator", "POST", path, json=body)
        assert response.status_code == 409 and "inside_out" in response.json()["detail"], response.text


def test_slicing_a_part_without_an_stl_is_a_clear_conflict(world):
    response = world.call("coordinator", "POST", f"/api/parts/{world.ids['part']}/slice", json={"profile": "prusa-mk3s-0.4"})
    assert response.status_code == 409
    assert "has no STL" in response.json()["detail"]
