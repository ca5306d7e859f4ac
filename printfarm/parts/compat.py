"""Does a print file suit a printer profile and the material loaded? Pure rules, no I/O.

Each problem is one sentence naming both values; no problems means compatible. What the G-code
does not say (a None field) is never a problem: a file without a printer model may print anywhere.

Rules:
- Extents: the span (max − min) of the extruding moves on X and Y must not exceed the bed, and
  their highest Z the build height (within EXTENT_TOLERANCE_MM, the G-code's rounding). Spans,
  not positions, so that beds with their origin elsewhere (centre, negative purge area) pass.
- Nozzle: equal to the profile's nozzle (within NOZZLE_TOLERANCE_MM).
- Printer model: slicers write short ids (`MK3S`, `MINI`, `ENDER3`) where profiles hold names
  (`Original Prusa i3 MK3S`, `Creality Ender-3`). Both are lower-cased and cut down to letters
  and digits; they match when one contains the other and the shorter has at least
  MIN_MODEL_CHARS characters (`mk3s` ⊂ `originalprusai3mk3s`, `ender3` ⊂ `crealityender3`;
  `mk3s` vs `originalprusamini` does not match).
- Filament: the G-code's filament type equals the loaded material, compared the same way
  (`PLA+` is PLA).
- Temperatures: the nozzle and bed targets lie within the catalogue range of the loaded
  material (or, with none loaded, of the G-code's own filament type), when that is catalogued.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from printfarm.printers.catalog import MATERIALS, MaterialSpec, ProfileSpec

if TYPE_CHECKING:
    from printfarm.adapters.gcode import GcodeAnalysis

EXTENT_TOLERANCE_MM = 0.05
NOZZLE_TOLERANCE_MM = 0.001
MIN_MODEL_CHARS = 3

_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


def print_file_problems(
    analysis: GcodeAnalysis | Mapping[str, Any], profile: ProfileSpec, material: str | None
) -> list[str]:
    """Why the analysed G-code does not suit `profile` loaded with `material`; [] when it does."""
    facts = analysis if isinstance(analysis, Mapping) else analysis.to_dict()
    problems = _extent_problems(facts.get("extents_mm"), profile)

    nozzle = facts.get("nozzle_mm")
    if nozzle is not None and abs(nozzle - profile.nozzle_mm) > NOZZLE_TOLERANCE_MM:
        problems.append(f"nozzle {nozzle:g} mm in G-code, profile {profile.name} has {profile.nozzle_mm:g} mm")

    model = facts.get("printer_model")
    if model and not models_match(model, profile.printer_model):
        problems.append(f"printer model {model} in G-code, profile {profile.name} is {profile.printer_model}")

    filament = facts.get("filament_type")
    if filament and material and _normalised(filament) != _normalised(material):
        problems.append(f"filament {filament} in G-code, printer loaded with {material}")

    spec = _material_spec(material or filament)
    if spec is not None:
        problems += _temperature_problems(facts, spec)
    return problems


def models_match(gcode_model: str, profile_model: str) -> bool:
    """The lenient printer-model rule of the module docstring."""
    a, b = _normalised(gcode_model), _normalised(profile_model)
    shorter, longer = sorted((a, b), key=len)
    if len(shorter) < MIN_MODEL_CHARS:
        return a == b
    return shorter in longer


def _extent_problems(extents: Mapping[str, Any] | None, profile: ProfileSpec) -> list[str]:
    if not extents:
        return []
    problems = []
    for axis, bed in (("x", profile.build_x_mm), ("y", profile.build_y_mm)):
        if axis in extents:
            low, high = extents[axis]
            if high - low > bed + EXTENT_TOLERANCE_MM:
                problems.append(f"extents {high - low:.1f} mm > bed {bed:g} mm on {axis.upper()}")
    if "z" in extents:
        top = extents["z"][1]
        if top > profile.build_z_mm + EXTENT_TOLERANCE_MM:
            problems.append(f"extents {top:.1f} mm > build height {profile.build_z_mm:g} mm on Z")
    return problems


def _temperature_problems(facts: Mapping[str, Any], spec: MaterialSpec) -> list[str]:
    problems = []
    checks = (
        ("nozzle", facts.get("nozzle_temp_c"), spec.nozzle_min_c, spec.nozzle_max_c),
        ("bed", facts.get("bed_temp_c"), spec.bed_min_c, spec.bed_max_c),
    )
    for what, target, low, high in checks:
        if target is not None and not low <= target <= high:
            problems.append(f"{what} {target:g} °C outside {spec.name} range {low:g}–{high:g} °C")
    return problems


def _material_spec(name: str | None) -> MaterialSpec | None:
    if not name:
        return None
    wanted = _normalised(name)
    return next((spec for key, spec in MATERIALS.items() if _normalised(key) == wanted), None)


def _normalised(text: str) -> str:
    return _NOT_ALPHANUMERIC.sub("", text.lower())
