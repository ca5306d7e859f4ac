"""Printer profiles and materials printfarm ships with (facts from the makers' data sheets)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProfileSpec:
    name: str  # e.g. prusa-mk3s-0.4
    printer_model: str
    nozzle_mm: float
    build_x_mm: float
    build_y_mm: float
    build_z_mm: float
    slicer_config: str  # PrusaSlicer config file under config/profiles/


@dataclass(frozen=True)
class MaterialSpec:
    name: str
    nozzle_min_c: float
    nozzle_max_c: float
    bed_min_c: float
    bed_max_c: float


PROFILES: dict[str, ProfileSpec] = {
    spec.name: spec
    for spec in (
        ProfileSpec("prusa-mk3s-0.4", "Original Prusa i3 MK3S", 0.4, 250, 210, 210, "prusa-mk3s-0.4.ini"),
        ProfileSpec("prusa-mini-0.4", "Original Prusa MINI", 0.4, 180, 180, 180, "prusa-mini-0.4.ini"),
        ProfileSpec("creality-ender3-0.4", "Creality Ender-3", 0.4, 220, 220, 250, "creality-ender3-0.4.ini"),
    )
}

MATERIALS: dict[str, MaterialSpec] = {
    spec.name: spec
    for spec in (
        MaterialSpec("PLA", 180, 235, 0, 70),
        MaterialSpec("PETG", 220, 260, 60, 100),
        MaterialSpec("ABS", 230, 270, 90, 115),
    )
}
