"""Refuse bytes that are not plain-text G-code, naming what they are instead."""

from __future__ import annotations

import re

from printfarm.errors import GcodeRejected

BGCODE_MAGIC = b"GCDE"
ZIP_MAGIC = b"PK\x03\x04"
STL_HEADER_BYTES = 80
STL_TRIANGLE_BYTES = 50
SNIFF_BYTES = 65536  # control bytes are looked for here; a NUL anywhere

_CONTROL_BYTE = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")


def refuse_non_text(data: bytes) -> None:
    """Raise GcodeRejected unless `data` could be G-code text (empty, bgcode, STL, 3MF, binary)."""
    if not data:
        raise GcodeRejected("empty file (0 bytes), not G-code")
    if data.startswith(BGCODE_MAGIC):
        raise GcodeRejected("binary G-code (.bgcode, magic 'GCDE'): upload G-code exported as plain text")
    if data.startswith(ZIP_MAGIC):
        raise GcodeRejected("a ZIP archive (a 3MF project?), not G-code")
    triangles = _binary_stl_triangles(data)
    if triangles is not None:
        raise GcodeRejected(f"a binary STL ({triangles} triangles), not G-code: slice it first")
    start = data[:1024].lstrip()
    if start[:5].lower() == b"solid" and b"facet" in start:
        raise GcodeRejected("an ASCII STL (starts with 'solid', has facets), not G-code: slice it first")
    control = _CONTROL_BYTE.search(data, 0, SNIFF_BYTES)
    offset = control.start() if control else data.find(b"\0")
    if offset >= 0:
        raise GcodeRejected(f"binary data (byte 0x{data[offset]:02x} at offset {offset}), not G-code text")


def _binary_stl_triangles(data: bytes) -> int | None:
    """The triangle count when `data` has exactly the size a binary STL with that count has."""
    if len(data) < STL_HEADER_BYTES + 4:
        return None
    count = int.from_bytes(data[STL_HEADER_BYTES : STL_HEADER_BYTES + 4], "little")
    if len(data) != STL_HEADER_BYTES + 4 + STL_TRIANGLE_BYTES * count:
        return None
    return count
