"""How long a simulated plate prints: the slicer's own estimate from the G-code header."""

from __future__ import annotations

import re

# PrusaSlicer/SuperSlicer/OrcaSlicer: "; estimated printing time (normal mode) = 1d 2h 3m 4s";
# Cura: ";TIME:3723".
_SLICER_ESTIMATE = re.compile(rb"^;\s*estimated printing time(?: \(normal mode\))?\s*=\s*(.+?)\s*$", re.M | re.I)
_CURA_TIME = re.compile(rb"^;TIME:\s*(\d+(?:\.\d+)?)\s*$", re.M)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")
_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_HEADER_BYTES = 64 * 1024  # estimates sit in the first or last lines; both ends are searched


def estimated_print_seconds(gcode: bytes) -> float | None:
    """The slicer's estimated print time in seconds, or None when the G-code carries none."""
    for chunk in (gcode[:_HEADER_BYTES], gcode[-_HEADER_BYTES:]):
        match = _SLICER_ESTIMATE.search(chunk)
        if match:
            parts = _DURATION_PART.findall(match.group(1).decode("ascii", "replace").lower())
            if parts:
                return sum(float(value) * _UNIT_SECONDS[unit] for value, unit in parts)
        cura = _CURA_TIME.search(chunk)
        if cura:
            return float(cura.group(1))
    return None
