"""Where the nozzle goes, vectorised: positions after every G0–G3 move, the moves that extrude,
their extents and the filament they push.

The modal rules follow OctoPrint's analyser and the Marlin/Prusa firmwares:
- G90/G91 make X, Y, Z (and E) absolute/relative; M82/M83 make E absolute/relative; E is
  relative when G91 or M83 is in force (so "G90, M83" and "M83, G90" both extrude relatively).
- G92 sets the named axes; a bare G92 sets all four to 0. Positions start at 0.
- A move extrudes when E increases: its absolute E exceeds the previous E, or its relative E > 0.
- Arcs (G2/G3) count by their end points; the bulge of an arc is not followed.
- Words are read up to the first ';' of a line; a word without digits is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from printfarm.adapters.gcode.lines import Lines
from printfarm.adapters.gcode.numbers import parse_numbers

AXES = "XYZE"
BLOCK_BYTES = 1 << 18  # 256 KiB of text per block: its temporaries fit in L2

_AXIS_OF_BYTE = np.zeros(256, dtype=np.uint8)
for _i, _letter in enumerate(AXES, start=1):
    _AXIS_OF_BYTE[ord(_letter)] = _i

_MOVE, _G90, _G91, _G92, _M82, _M83 = range(6)
_KIND_CODES = {
    _MOVE: (b"G0", b"G1", b"G2", b"G3"),
    _G90: (b"G90",),
    _G91: (b"G91",),
    _G92: (b"G92",),
    _M82: (b"M82",),
    _M83: (b"M83",),
}


@dataclass(frozen=True)
class Motion:
    moves: int
    extruding_moves: int
    extents_mm: dict[str, tuple[float, float]] | None  # of the extruding moves, start and end points
    filament_mm: float  # net E advance over all moves (retractions subtract)
    layer_heights: int  # distinct Z (to 1 µm) of the extruding moves


def track_motion(lines: Lines) -> Motion:
    """Follow every move of `lines`; see the module docstring for the rules."""
    kinds = np.full(len(lines.starts), -1, dtype=np.int8)
    for kind, codes in _KIND_CODES.items():
        for code in codes:
            kinds[lines.is_command(code)] = kind
    event_lines = np.flatnonzero(kinds >= 0)
    kind = kinds[event_lines]
    values = _axis_words(lines, event_lines)
    with np.errstate(all="ignore"):
        return _follow(kind, values)


def _axis_words(lines: Lines, event_lines: np.ndarray) -> np.ndarray:
    """values[a, i]: the number after axis letter AXES[a] on event line i, NaN where absent.

    The text is read in blocks of whole lines, so that every temporary array stays small: it is
    reused from the heap and stays in cache (whole-file temporaries cost more in page faults than
    the arithmetic).
    """
    values = np.full((len(AXES), len(event_lines)), np.nan)
    flat = values.reshape(-1)
    event_starts = lines.starts[event_lines]
    code_ends = np.append(lines.newlines, lines.size)[event_lines]
    for first, last in block_bounds(event_starts, BLOCK_BYTES):
        begin, end = int(event_starts[first]), int(code_ends[last - 1])
        text = lines.buf[begin:end]
        starts = event_starts[first:last] - begin
        ends = code_ends[first:last] - begin
        semicolons = np.flatnonzero(text == ord(";"))
        if len(semicolons):
            ends = np.minimum(ends, np.append(semicolons, len(text))[np.searchsorted(semicolons, starts)])
        axis = _AXIS_OF_BYTE[text]
        positions = np.flatnonzero(axis)
        event = np.searchsorted(starts, positions, side="right") - 1
        in_code = positions < ends[event]  # event >= 0: the block starts with an event line
        positions, event = positions[in_code], event[in_code]
        numbers = parse_numbers(lines.buf, positions + (begin + 1))
        # the last word of an axis on a line counts, even one without digits
        flat[(axis[positions].astype(np.int64) - 1) * len(event_lines) + event + first] = numbers
    return values


def block_bounds(starts: np.ndarray, block_bytes: int) -> list[tuple[int, int]]:
    """Split sorted offsets `starts` into index ranges that each span about `block_bytes`."""
    if len(starts) == 0:
        return []
    marks = np.arange(int(starts[0]), int(starts[-1]) + 1, block_bytes)
    cuts = np.unique(np.append(np.searchsorted(starts, marks), len(starts)))
    cuts = cuts[cuts > 0]
    return list(zip([0, *cuts[:-1].tolist()], cuts.tolist()))


def _forward_fill(is_mark: np.ndarray, value: np.ndarray, initial: bool) -> np.ndarray:
    """At every event, `value` at the latest mark up to and including it (`initial` before any)."""
    latest = np.where(is_mark, np.arange(len(is_mark)), -1)
    np.maximum.accumulate(latest, out=latest)
    return np.where(latest >= 0, value[np.maximum(latest, 0)], initial)


def _positions(values: np.ndarray, is_move: np.ndarray, is_g92: np.ndarray, relative: np.ndarray) -> np.ndarray:
    """Solve p[i] = value (absolute move or G92), p[i-1] + value (relative move) or p[i-1]."""
    present = ~np.isnan(values)
    stepping = is_move & relative & present
    latest = np.where(present & (is_g92 | is_move & ~relative), np.arange(len(values)), -1)
    np.maximum.accumulate(latest, out=latest)
    anchor = np.maximum(latest, 0)
    if not stepping.any():
        return np.where(latest >= 0, values[anchor], 0.0)
    walked = np.cumsum(np.where(stepping, values, 0.0))
    return np.where(latest >= 0, values[anchor] - walked[anchor], 0.0) + walked


def _follow(kind: np.ndarray, values: np.ndarray) -> Motion:
    is_move = kind == _MOVE
    is_g92 = kind == _G92
    bare_g92 = is_g92 & np.isnan(values).all(axis=0)
    values[:, bare_g92] = 0.0
    absolute_marks = (kind == _G90) | (kind == _G91)
    relative_xyz = _forward_fill(absolute_marks, kind == _G91, initial=False)
    relative_e = relative_xyz | _forward_fill((kind == _M82) | (kind == _M83), kind == _M83, initial=False)

    x, y, z, e = (
        _positions(values[a], is_move, is_g92, relative_e if a == 3 else relative_xyz) for a in range(4)
    )
    advance = np.diff(e, prepend=0.0)
    advance[~is_move] = 0.0
    extruding = np.flatnonzero(advance > 0)
    extents = None
    if len(extruding):
        ends = np.zeros(len(kind), dtype=bool)
        ends[extruding] = True
        touched = ends | np.append(ends[1:], False)  # an extruding move starts where the last event ended
        origin = [0.0] if ends[0] else []  # the first event starts where every axis is 0
        extents = {}
        for name, axis in zip("xyz", (x, y, z)):
            points = np.append(axis[touched], origin)
            extents[name] = (float(points.min()), float(points.max()))
    heights = np.round(z[extruding], 3)
    layer_heights = len(np.unique(heights[np.flatnonzero(np.diff(heights, prepend=np.nan))]))
    return Motion(
        moves=int(is_move.sum()),
        extruding_moves=len(extruding),
        extents_mm=extents,
        filament_mm=float(advance.sum()),
        layer_heights=layer_heights,
    )
