"""A G-code buffer as numpy arrays: line starts, the first bytes of every line, and command tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from printfarm.adapters.gcode.numbers import WORD_BYTES, words_at

PAD_BYTES = 32  # zeros after the data, so reading a few bytes past any line start stays in bounds
HEAD_BYTES = 6  # enough to tell "G1 ", "G01 ", "M109 " and "M190 " apart
_SCAN_BYTES = 1 << 20

_INDENT_OR_LINE_NUMBER = re.compile(rb"(?m)^[ \t]*(?:N[0-9]+[ \t]*)?")


def _is_digit(column: np.ndarray) -> np.ndarray:
    return (column >= 48) & (column <= 57)


@dataclass(frozen=True)
class Lines:
    """`buf` is the data followed by PAD_BYTES zeros; `starts[i]` is where line i begins."""

    buf: np.ndarray
    size: int
    starts: np.ndarray
    newlines: np.ndarray
    head: tuple[np.ndarray, ...]  # head[k][i]: byte k of line i (0 past the line's end)

    @property
    def count(self) -> int:
        """Lines of text: a last line without a newline counts, an empty tail after one does not."""
        return len(self.starts) - (1 if self.size == 0 or self.buf[self.size - 1] == 10 else 0)

    def is_command(self, code: bytes) -> np.ndarray:
        """Lines whose command is `code` (b"G1" also matches b"G01"), as a boolean array."""
        letter, number = code[:1], code[1:].lstrip(b"0") or b"0"
        found = np.zeros(len(self.starts), dtype=bool)
        for spelling in {letter + number, letter + b"0" + number}:
            if len(spelling) >= HEAD_BYTES:
                continue
            match = ~_is_digit(self.head[len(spelling)])
            for k, byte in enumerate(spelling):
                match &= self.head[k] == byte
            found |= match
        return found

    def is_any_command(self) -> np.ndarray:
        """Lines that start with a G or M command (a letter then a digit)."""
        letter = (self.head[0] == ord("G")) | (self.head[0] == ord("M"))
        return letter & _is_digit(self.head[1])

    def text(self, index: int) -> str:
        """Line `index` without its newline, decoded leniently (only a few lines are ever decoded)."""
        start = int(self.starts[index])
        end = int(self.newlines[index]) if index < len(self.newlines) else self.size
        return bytes(self.buf[start:end]).decode("utf-8", errors="replace").rstrip("\r")


def index_lines(data: bytes) -> Lines:
    """Index `data`; lines indented or numbered (`N12 G1 ...`) are first rewritten without that."""
    lines = _index(data)
    first = lines.head[0]
    indented = (first == ord(" ")) | (first == ord("\t")) | ((first == ord("N")) & _is_digit(lines.head[1]))
    if indented.any():
        lines = _index(_INDENT_OR_LINE_NUMBER.sub(b"", data))
    return lines


def _index(data: bytes) -> Lines:
    size = len(data)
    buf = np.zeros(size + PAD_BYTES, dtype=np.uint8)
    buf[:size] = np.frombuffer(data, dtype=np.uint8)
    # Found a block at a time: a whole-file boolean temporary costs more in page faults than the search.
    newlines = np.concatenate(
        [np.flatnonzero(buf[start : min(start + _SCAN_BYTES, size)] == 10) + start for start in range(0, size, _SCAN_BYTES)]
        or [np.empty(0, dtype=np.intp)]
    )
    starts = np.empty(len(newlines) + 1, dtype=np.int64)
    starts[0] = 0
    starts[1:] = newlines + 1
    # The first eight bytes of every line in one gather, turned into one contiguous row per byte
    # (the command tests compare rows many times: strided rows compare several times slower).
    # A short line's head runs into its newline and the next line: no command spelling holds a
    # newline, so a command test fails there, as it should.
    head_bytes = words_at(buf)[starts].view(np.uint8).reshape(-1, WORD_BYTES)
    head = tuple(np.ascontiguousarray(head_bytes[:, :HEAD_BYTES].T))
    return Lines(buf=buf, size=size, starts=starts, newlines=newlines, head=head)
