"""Temperature targets the file itself commands: M104/M109 for the nozzle, M140/M190 for the bed."""

from __future__ import annotations

import re

import numpy as np

from printfarm.adapters.gcode.lines import Lines

_TARGET = re.compile(r"\b[SR](\d+(?:\.\d+)?)")
NOZZLE_CODES = (b"M104", b"M109")
BED_CODES = (b"M140", b"M190")


def highest_target(lines: Lines, codes: tuple[bytes, ...]) -> float | None:
    """The highest non-zero S (or R) target among the lines with these commands, None if none.

    Zero is "heater off" (end G-code), not a target; placeholders a slicer left unresolved
    (`M104 S[temp]`) are not numbers and are skipped.
    """
    found = np.zeros(len(lines.starts), dtype=bool)
    for code in codes:
        found |= lines.is_command(code)
    targets = []
    for index in np.flatnonzero(found).tolist():
        code_part = lines.text(index).split(";", 1)[0]
        targets += [float(value) for value in _TARGET.findall(code_part)]
    return max((t for t in targets if t > 0), default=None)
