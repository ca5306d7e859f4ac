"""Output for a pipe or a log file: a line redrawn with a carriage return becomes a new line."""

from __future__ import annotations

from typing import Any, TextIO


class LinesNotRedraws:
    """Wraps a text stream that is not a terminal: each '\\r' that would redraw a line starts a new one.

    A progress bar written as '\\r[###...] 12/96' then stays one readable line per step in a CI log
    or `printfarm demo | tee`, instead of one line of carriage returns.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._at_line_start = True

    def write(self, text: str) -> int:
        first, *redraws = text.split("\r")
        out = [first]
        at_line_start = first.endswith("\n") if first else self._at_line_start
        for piece in redraws:
            if not at_line_start:
                out.append("\n")
            out.append(piece)
            at_line_start = piece.endswith("\n") if piece else True
        self._at_line_start = at_line_start
        self._stream.write("".join(out))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, encoding, isatty: the wrapped stream's
        return getattr(self._stream, name)
