"""print_file_problems: each mismatch is one sentence naming both values; unknowns are no problem."""

from __future__ import annotations

import pytest

from printfarm.adapters.gcode import GcodeAnalysis
from printfarm.parts.compat import models_match, print_file_problems
from printfarm.printers.catalog import PROFILES

MINI = PROFILES["prusa-mini-0.4"]
MK3S = PROFILES["prusa-mk3s-0.4"]
ENDER3 = PROFILES["creality-ender3-0.4"]


def analysis(**fields: object) -> GcodeAnalysis:
    unknown = dict.fromkeys(GcodeAnalysis.__dataclass_fields__)
    unknown.update(lines=100, extents_mm={"x": (10.0, 150.0), "y": (5.0, 120.0), "z": (0.2, 20.0)})
    unknown.update(fields)
    return GcodeAnalysis(**unknown)  # type: ignore[arg-type]


def test_a_file_that_says_nothing_but_fits_has_no_problems() -> None:
    assert print_file_problems(analysis(), MINI, None) == []
    assert print_file_problems(analysis(extents_mm=None), MINI, "PLA") == []


def test_a_matching_prusaslicer_file_has_no_problems() -> None:
    good = analysis(printer_model="MINI", nozzle_mm=0.4, filament_type="PLA", nozzle_temp_c=215.0, bed_temp_c=60.0)
    assert print_file_problems(good, MINI, "PLA") == []
    assert print_file_problems(good.to_dict(), MINI, "PLA") == []


def test_every_mismatch_is_named() -> None:
    bad = analysis(
        printer_model="MK3S",
        nozzle_mm=0.6,
        filament_type="PETG",
        nozzle_temp_c=250.0,
        bed_temp_c=85.0,
        extents_mm={"x": (0.0, 240.0), "y": (-3.0, 180.0), "z": (0.2, 190.0)},
    )
    assert print_file_problems(bad, MINI, "PLA") == [
        "extents 240.0 mm > bed 180 mm on X",
        "extents 183.0 mm > bed 180 mm on Y",
        "extents 190.0 mm > build height 180 mm on Z",
        "nozzle 0.6 mm in G-code, profile prusa-mini-0.4 has 0.4 mm",
        "printer model MK3S in G-code, profile prusa-mini-0.4 is Original Prusa MINI",
        "filament PETG in G-code, printer loaded with PLA",
        "nozzle 250 °C outside PLA range 180–235 °C",
        "bed 85 °C outside PLA range 0–70 °C",
    ]


def test_extents_are_spans_so_a_bed_origin_elsewhere_still_fits() -> None:
    centred = analysis(extents_mm={"x": (-90.0, 90.0), "y": (-89.0, 89.0), "z": (0.2, 180.0)})
    assert print_file_problems(centred, MINI, None) == []


def test_without_a_loaded_material_temperatures_are_checked_against_the_files_filament() -> None:
    petg = analysis(filament_type="PETG", nozzle_temp_c=215.0, bed_temp_c=80.0)
    assert print_file_problems(petg, MK3S, None) == ["nozzle 215 °C outside PETG range 220–260 °C"]


def test_an_uncatalogued_material_has_no_temperature_rule() -> None:
    assert print_file_problems(analysis(filament_type="TPU", nozzle_temp_c=240.0), MK3S, "TPU") == []


@pytest.mark.parametrize(
    ("gcode_model", "profile", "matches"),
    [
        ("MK3S", MK3S, True),
        ("Original Prusa i3 MK3S", MK3S, True),
        ("MK3", MK3S, True),
        ("MINI", MINI, True),
        ("ENDER3", ENDER3, True),
        ("Creality Ender-3", ENDER3, True),
        ("MK3S", MINI, False),
        ("MINI", MK3S, False),
        ("ENDER3V2", ENDER3, False),
        ("i3", MK3S, False),
        ("", MK3S, False),
    ],
)
def test_printer_models_match_on_normalised_containment(gcode_model: str, profile: object, matches: bool) -> None:
    assert models_match(gcode_model, profile.printer_model) is matches  # type: ignore[attr-defined]


def test_filament_names_compare_leniently() -> None:
    assert print_file_problems(analysis(filament_type="pla+"), MK3S, "PLA") == []
