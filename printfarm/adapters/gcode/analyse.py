"""analyse_gcode: what a print file is for and where it prints, without running it.

Fast by construction: the bytes are scanned as numpy arrays (lines.py), moves are followed with
vectorised state (motion.py) and numbers are read eight bytes at a time (numbers.py); only the
slicer's comments and a few command lines are ever decoded to str.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from printfarm.adapters.gcode.commands import BED_CODES, NOZZLE_CODES, highest_target
from printfarm.adapters.gcode.header import read_header
from printfarm.adapters.gcode.lines import index_lines
from printfarm.adapters.gcode.motion import track_motion
from printfarm.adapters.gcode.sniff import refuse_non_text
from printfarm.errors import GcodeRejected


@dataclass(frozen=True)
class GcodeAnalysis:
    """What one G-code file says and does. None: the file does not say (or does not do) it.

    Temperatures are the highest targets the file commands (the slicer's setting where it
    commands none); time, filament and layers are the slicer's own figures where it wrote them,
    else filament is the net E advance of the moves and layers the distinct Z of extruding moves.
    `extents_mm` covers the start and end points of every move that extrudes (skirt, purge line
    and all), as {"x": (min, max), "y": ..., "z": ...}.
    """

    slicer: str | None
    slicer_version: str | None
    printer_model: str | None
    nozzle_mm: float | None
    filament_type: str | None
    nozzle_temp_c: float | None
    bed_temp_c: float | None
    estimated_seconds: float | None
    filament_mm: float | None
    filament_g: float | None
    layers: int | None
    extents_mm: dict[str, tuple[float, float]] | None
    lines: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: extents become [min, max] lists."""
        result = asdict(self)
        if self.extents_mm is not None:
            result["extents_mm"] = {axis: [low, high] for axis, (low, high) in self.extents_mm.items()}
        return result


def analyse_gcode(data: bytes) -> GcodeAnalysis:
    """Analyse G-code bytes. Raises GcodeRejected naming what was found when they are not G-code
    (empty, binary G-code, an STL or 3MF, binary data, or text without any G or M command)."""
    refuse_non_text(data)
    lines = index_lines(data)
    if not lines.is_any_command().any():
        raise GcodeRejected(f"no G or M commands in {lines.count} lines of text, not G-code")
    header = read_header(data)
    motion = track_motion(lines)
    nozzle_c = highest_target(lines, NOZZLE_CODES)
    bed_c = highest_target(lines, BED_CODES)
    return GcodeAnalysis(
        slicer=header.slicer,
        slicer_version=header.slicer_version,
        printer_model=header.printer_model,
        nozzle_mm=header.nozzle_mm,
        filament_type=header.filament_type,
        nozzle_temp_c=nozzle_c if nozzle_c is not None else header.nozzle_temp_c,
        bed_temp_c=bed_c if bed_c is not None else header.bed_temp_c,
        estimated_seconds=header.estimated_seconds,
        filament_mm=header.filament_mm if header.filament_mm is not None else _rounded(motion.filament_mm),
        filament_g=header.filament_g,
        layers=header.layers if header.layers is not None else (motion.layer_heights or None),
        extents_mm=motion.extents_mm,
        lines=lines.count,
    )


def _rounded(filament_mm: float) -> float | None:
    return round(filament_mm, 3) if filament_mm > 0 else None
