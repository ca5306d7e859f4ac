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

_X = np.uint8(ord("X"))
_E = np.uint8(ord("E"))
_E_AS_LETTER = (ord("E") - ord("X")) % 256  # what `text - _X` makes of an E
_SEMICOLON = np.uint8(ord(";"))

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
    """Follow every move of `lines`; see the module docstring for the rules.

    The events are followed a block of text at a time, the state (modes, position) carried from
    one block to the next, so that every temporary array stays small: it is reused from the heap
    and stays in cache (whole-file temporaries cost more in page faults than the arithmetic).
    """
    kinds = np.full(len(lines.starts), -1, dtype=np.int8)
    for kind, codes in _KIND_CODES.items():
        for code in codes:
            kinds[lines.is_command(code)] = kind
    event_lines = np.flatnonzero(kinds >= 0)
    event_kinds = kinds[event_lines]
    del kinds
    event_starts = lines.starts[event_lines]
    line_ends = np.append(lines.newlines, lines.size)[event_lines]
    follower = _Follower()
    with np.errstate(all="ignore"):
        for first, last in block_bounds(event_starts, BLOCK_BYTES):
            values = _axis_words(lines.buf, event_starts[first:last], line_ends[first:last])
            follower.follow(event_kinds[first:last], values)
    return follower.motion()


def _axis_words(buf: np.ndarray, starts: np.ndarray, line_ends: np.ndarray) -> np.ndarray:
    """values[a, i]: the number after axis letter AXES[a] on event line i, NaN where absent.

    `starts` and `line_ends` are the byte offsets of one block's event lines, in order.
    """
    begin, end = int(starts[0]), int(line_ends[-1])
    text = buf[begin:end]
    starts = starts - begin
    ends = line_ends - begin
    semicolons = np.flatnonzero(text == _SEMICOLON)
    if len(semicolons):
        ends = np.minimum(ends, np.append(semicolons, len(text))[np.searchsorted(semicolons, starts)])
    # X, Y, Z are 0x58-0x5A: one wrapping subtraction and one comparison find them
    letters = text - _X
    is_axis = letters <= 2
    is_axis |= text == _E
    positions = np.flatnonzero(is_axis)
    event = np.searchsorted(starts, positions, side="right") - 1
    in_code = np.flatnonzero(positions < ends[event])  # event >= 0: the block starts with an event line
    positions, event = positions[in_code], event[in_code]
    numbers = parse_numbers(buf, positions + (begin + 1))
    axis = letters[positions].astype(np.intp)
    axis[axis == _E_AS_LETTER] = 3
    count = len(starts)
    values = np.full((len(AXES), count), np.nan)
    # the last word of an axis on a line counts, even one without digits
    values.reshape(-1)[axis * count + event] = numbers
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
    if not is_mark.any():  # mode changes are rare: most blocks have none
        return np.full(len(is_mark), initial)
    latest = np.where(is_mark, np.arange(len(is_mark)), -1)
    np.maximum.accumulate(latest, out=latest)
    return np.where(latest >= 0, value[np.maximum(latest, 0)], initial)


def _positions(
    values: np.ndarray, is_move: np.ndarray, is_g92: np.ndarray, relative: np.ndarray, initial: float
) -> np.ndarray:
    """Solve p[i] = value (absolute move or G92), p[i-1] + value (relative move) or p[i-1],
    with p[-1] = `initial`."""
    present = ~np.isnan(values)
    stepping = is_move & relative & present
    latest = np.where(present & (is_g92 | is_move & ~relative), np.arange(len(values)), -1)
    np.maximum.accumulate(latest, out=latest)
    anchor = np.maximum(latest, 0)
    if not stepping.any():
        return np.where(latest >= 0, values[anchor], initial)
    walked = np.cumsum(np.where(stepping, values, 0.0))
    return np.where(latest >= 0, values[anchor] - walked[anchor], initial) + walked


class _Follower:
    """The machine state carried from block to block, and what the blocks so far add up to."""

    def __init__(self) -> None:
        self.position = [0.0, 0.0, 0.0, 0.0]  # x, y, z, e after the last event; all start at 0
        self.relative_xyz = False  # G91 in force
        self.relative_e_mode = False  # M83 in force (E is also relative under G91)
        self.moves = 0
        self.extruding_moves = 0
        self.filament_mm = 0.0
        self.lowest = [np.inf] * 3
        self.highest = [-np.inf] * 3
        self.heights: list[np.ndarray] = []

    def follow(self, kind: np.ndarray, values: np.ndarray) -> None:
        """Follow one block of events: `kind` per event, `values` as `_axis_words` returns them."""
        is_move = kind == _MOVE
        is_g92 = kind == _G92
        bare_g92 = is_g92 & np.isnan(values).all(axis=0)
        values[:, bare_g92] = 0.0
        absolute_marks = (kind == _G90) | (kind == _G91)
        relative_xyz = _forward_fill(absolute_marks, kind == _G91, initial=self.relative_xyz)
        relative_e_mode = _forward_fill((kind == _M82) | (kind == _M83), kind == _M83, initial=self.relative_e_mode)
        relative_e = relative_xyz | relative_e_mode
        x, y, z, e = (
            _positions(values[a], is_move, is_g92, relative_e if a == 3 else relative_xyz, self.position[a])
            for a in range(4)
        )
        advance = np.diff(e, prepend=self.position[3])
        advance[~is_move] = 0.0
        extruding = np.flatnonzero(advance > 0)
        if len(extruding):
            ends = np.zeros(len(kind), dtype=bool)
            ends[extruding] = True
            touched = ends | np.append(ends[1:], False)  # an extruding move starts where the last event ended
            for a, axis in enumerate((x, y, z)):
                points = axis[touched]
                low, high = float(points.min()), float(points.max())
                if ends[0]:  # it starts where the previous block ended (the origin before any)
                    low, high = min(low, self.position[a]), max(high, self.position[a])
                self.lowest[a], self.highest[a] = min(self.lowest[a], low), max(self.highest[a], high)
            heights = np.round(z[extruding], 3)
            self.heights.append(heights[np.flatnonzero(np.diff(heights, prepend=np.nan))])
        self.moves += int(np.count_nonzero(is_move))
        self.extruding_moves += len(extruding)
        self.filament_mm += float(advance.sum())
        self.position = [float(x[-1]), float(y[-1]), float(z[-1]), float(e[-1])]
        self.relative_xyz, self.relative_e_mode = bool(relative_xyz[-1]), bool(relative_e_mode[-1])

    def motion(self) -> Motion:
        extents = None
        if self.extruding_moves:
            extents = {name: (self.lowest[a], self.highest[a]) for a, name in enumerate("xyz")}
        heights = np.concatenate(self.heights) if self.heights else np.empty(0)
        return Motion(
            moves=self.moves,
            extruding_moves=self.extruding_moves,
            extents_mm=extents,
            filament_mm=self.filament_mm,
            layer_heights=len(np.unique(heights)),
        )
