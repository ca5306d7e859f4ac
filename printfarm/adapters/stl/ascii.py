"""Strict ASCII STL parser: every `solid` block, CRLF accepted, bare CR and malformed text rejected.

numpy-stl's ASCII reader keeps only the first `solid` of a file and mistakes a CR-only file for a
binary one, so ASCII is parsed here: each block is split into whitespace tokens and checked as a
(facets × 21) table in numpy, in chunks of a few MiB so a large file never becomes one huge list.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator

import numpy as np

from printfarm.adapters.stl.report import StlIssue

ASCII_UNPARSEABLE = "ascii_unparseable"
ASCII_CR_LINE_ENDINGS = "ascii_cr_line_endings"
TOO_MANY_TRIANGLES = "too_many_triangles"

_TOKENS_PER_FACET = 21  # facet normal n n n outer loop (vertex x y z)×3 endloop endfacet
_KEYWORDS = {
    0: b"facet", 1: b"normal", 5: b"outer", 6: b"loop",
    7: b"vertex", 11: b"vertex", 15: b"vertex", 19: b"endloop", 20: b"endfacet",
}  # fmt: skip
_NORMAL_COLUMNS = [2, 3, 4]
_VERTEX_COLUMNS = [8, 9, 10, 12, 13, 14, 16, 17, 18]
_MAX_TOKEN_BYTES = 64  # longer is no number; also bounds the fixed-width array below
_CHUNK_BYTES = 1 << 22
_WHITESPACE = b" \t\r\n\f\v"


class AsciiRejected(Exception):
    """The text is not a well-formed ASCII STL; `issue` says where and why."""

    def __init__(self, issue: StlIssue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def looks_ascii(data: bytes | mmap.mmap) -> bool:
    """True if the data starts with `solid` and holds no NUL byte (binary floats nearly always do)."""
    return data[:1024].lstrip(_WHITESPACE).startswith(b"solid") and data.find(b"\0") < 0


def read_ascii(data: bytes, max_triangles: int) -> np.ndarray:
    """Parse all `solid` blocks into an (n, 3, 3) float32 array; raise AsciiRejected if malformed."""
    bare_cr = data.count(b"\r") - data.count(b"\r\n")
    if bare_cr:
        raise AsciiRejected(
            StlIssue(ASCII_CR_LINE_ENDINGS, f"ASCII STL has {bare_cr} bare CR line ending(s); use LF or CRLF")
        )
    facets = data.count(b"endfacet")
    if facets > max_triangles:
        raise AsciiRejected(
            StlIssue(TOO_MANY_TRIANGLES, f"ASCII STL has {facets} facets, more than the limit {max_triangles}")
        )
    parts = [
        _parse_block(data, start, end, number)
        for number, (start, end) in enumerate(_solid_blocks(data), start=1)
    ]
    return np.concatenate(parts) if parts else np.empty((0, 3, 3), np.float32)


def _reject(message: str) -> AsciiRejected:
    return AsciiRejected(StlIssue(ASCII_UNPARSEABLE, message))


def _keyword_lines(data: bytes) -> Iterator[tuple[bool, int, int]]:
    """Yield (is_end, line_start, line_end) for each line that starts with `solid` or `endsolid`."""
    position = data.find(b"solid")
    while position >= 0:
        line_start = data.rfind(b"\n", 0, position) + 1
        prefix = data[line_start:position].strip(_WHITESPACE)
        if prefix in (b"", b"end"):
            line_end = data.find(b"\n", position)
            line_end = len(data) if line_end < 0 else line_end
            yield prefix == b"end", line_start, line_end
            position = line_end
        position = data.find(b"solid", position + 1)


def _solid_blocks(data: bytes) -> Iterator[tuple[int, int]]:
    """Yield the byte range of the facets of each `solid ... endsolid` block, checking the frame."""
    expect_end = False
    block_start = 0
    outside_start = 0
    for is_end, line_start, line_end in _keyword_lines(data):
        if is_end != expect_end:
            word = "endsolid" if is_end else "solid"
            line = data.count(b"\n", 0, line_start) + 1
            raise _reject(f"line {line}: unexpected '{word}' (solid blocks must alternate solid/endsolid)")
        if is_end:
            yield block_start, line_start
            outside_start = line_end
        else:
            if data[outside_start:line_start].strip(_WHITESPACE):
                line = data.count(b"\n", 0, outside_start) + 1
                raise _reject(f"line {line}: text outside any solid block")
            block_start = line_end
        expect_end = not expect_end
    if expect_end:
        raise _reject("no 'endsolid' after the last 'solid' (file cut short?)")
    if data[outside_start:].strip(_WHITESPACE):
        line = data.count(b"\n", 0, outside_start) + 1
        raise _reject(f"line {line}: text after the last 'endsolid'")


def _parse_block(data: bytes, start: int, end: int, number: int) -> np.ndarray:
    parts = []
    facet_offset = 0
    for chunk in _chunks(data, start, end):
        vertices = _parse_chunk(chunk, number, facet_offset)
        facet_offset += len(vertices)
        parts.append(vertices)
    return np.concatenate(parts) if parts else np.empty((0, 3, 3), np.float32)


def _chunks(data: bytes, start: int, end: int) -> Iterator[bytes]:
    """Slices of about _CHUNK_BYTES, each cut just after an `endfacet`."""
    while start < end:
        cut = data.find(b"endfacet", min(start + _CHUNK_BYTES, end), end)
        cut = end if cut < 0 else cut + len(b"endfacet")
        yield data[start:cut]
        start = cut


def _parse_chunk(chunk: bytes, number: int, facet_offset: int) -> np.ndarray:
    tokens = chunk.split()
    if not tokens:
        return np.empty((0, 3, 3), np.float32)
    longest = max(map(len, tokens))
    if longest > _MAX_TOKEN_BYTES:
        raise _reject(f"solid {number}: a token of {longest} bytes after facet {facet_offset}")
    if len(tokens) % _TOKENS_PER_FACET:
        raise _reject(
            f"solid {number}: {len(tokens)} tokens after facet {facet_offset} do not make whole facets "
            f"of {_TOKENS_PER_FACET} tokens"
        )
    table = np.array(tokens, dtype=f"S{longest}").reshape(-1, _TOKENS_PER_FACET)
    for column, word in _KEYWORDS.items():
        bad = np.flatnonzero(table[:, column] != word)
        if bad.size:
            found = table[bad[0], column].decode("latin-1")
            raise _reject(f"solid {number}, facet {facet_offset + int(bad[0])}: expected '{word.decode()}', found '{found}'")
    numbers = _to_float(table[:, _NORMAL_COLUMNS + _VERTEX_COLUMNS], number, facet_offset)
    return numbers[:, 3:].reshape(-1, 3, 3)


def _to_float(cells: np.ndarray, number: int, facet_offset: int) -> np.ndarray:
    try:
        with np.errstate(over="ignore"):  # 1e999 becomes inf and is rejected as non-finite later
            return cells.astype(np.float64).astype(np.float32)
    except ValueError:
        pass
    for index, cell in enumerate(cells.ravel()):  # error path only: find the first bad number
        try:
            float(cell)
        except ValueError:
            facet = facet_offset + index // cells.shape[1]
            raise _reject(f"solid {number}, facet {facet}: '{cell.decode('latin-1')}' is not a number") from None
    raise _reject(f"solid {number}: numbers after facet {facet_offset} do not parse")
