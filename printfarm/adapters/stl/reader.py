"""Bytes to triangles: size and header checks first, then binary or ASCII parsing into float32.

The binary record layout is numpy-stl's (`stl.mesh.Mesh.dtype`); the header's triangle count is
checked against the file size before anything is parsed, since numpy-stl trusts it blindly.
Stored normals are never read: they are recomputed from the vertices where needed.
"""

from __future__ import annotations

import mmap

import numpy as np
from stl import mesh as stl_mesh

from printfarm.adapters.stl import ascii as stl_ascii
from printfarm.adapters.stl.report import StlIssue, StlLimits

EMPTY_FILE = "empty_file"
FILE_TOO_LARGE = "file_too_large"
BINARY_TOO_SHORT = "binary_too_short"
BINARY_TRUNCATED = "binary_truncated"
BINARY_COUNT_MISMATCH = "binary_count_mismatch"
TOO_MANY_TRIANGLES = stl_ascii.TOO_MANY_TRIANGLES
NO_FACETS = "no_facets"

HEADER_BYTES = 84  # 80-byte free text + little-endian uint32 triangle count
RECORD_DTYPE = np.dtype(stl_mesh.Mesh.dtype)  # normals, vectors (3×3 float32), attribute uint16
RECORD_BYTES = RECORD_DTYPE.itemsize  # 50


class Rejected(Exception):
    """The bytes are not a usable STL; `issues` name the problems found before stopping."""

    def __init__(self, issues: list[StlIssue]) -> None:
        super().__init__("; ".join(issue.message for issue in issues))
        self.issues = issues


def size_issues(size: int, limits: StlLimits) -> list[StlIssue]:
    """The checks that need only the file size (run on `stat` before a file is read)."""
    if size == 0:
        return [StlIssue(EMPTY_FILE, "file is empty (0 bytes)")]
    if size > limits.max_bytes:
        return [StlIssue(FILE_TOO_LARGE, f"file is {size} bytes, more than the limit {limits.max_bytes}")]
    return []


def read_triangles(data: bytes | mmap.mmap, limits: StlLimits) -> tuple[np.ndarray, str]:
    """Return the triangles as an (n, 3, 3) float32 array and the format name.

    Each facet's 9 floats are contiguous, but binary facets are a view of `data`'s 50-byte records
    (strided, unaligned, read-only, and valid only while `data` is): a memory-mapped file is never
    copied whole, so the heap holds only what validation derives from it. Coordinates may be -0.0.

    Raises Rejected for empty, oversized, truncated, lying or unparseable data.
    """
    issues = size_issues(len(data), limits)
    if issues:
        raise Rejected(issues)
    if not _is_exact_binary(data) and stl_ascii.looks_ascii(data):
        try:
            triangles = stl_ascii.read_ascii(data if isinstance(data, bytes) else data[:], limits.max_triangles)
        except stl_ascii.AsciiRejected as err:
            raise Rejected([err.issue]) from err
        file_format = "ascii"
    else:
        triangles = _read_binary(data, limits)
        file_format = "binary"
    if not len(triangles):
        raise Rejected([StlIssue(NO_FACETS, f"{file_format} STL holds no facets")])
    return triangles, file_format


def _header_count(data: bytes | mmap.mmap) -> int:
    return int.from_bytes(data[80:HEADER_BYTES], "little")


def _is_exact_binary(data: bytes | mmap.mmap) -> bool:
    """A file whose size is exactly 84 + 50 × header count is binary, even if it starts with `solid`."""
    return len(data) >= HEADER_BYTES and len(data) == HEADER_BYTES + RECORD_BYTES * _header_count(data)


def _read_binary(data: bytes | mmap.mmap, limits: StlLimits) -> np.ndarray:
    size = len(data)
    if size < HEADER_BYTES:
        raise Rejected([StlIssue(BINARY_TOO_SHORT, f"{size} bytes: shorter than the 84-byte binary STL header")])
    count = _header_count(data)
    expected = HEADER_BYTES + RECORD_BYTES * count
    issues = []
    if size < expected:
        issues.append(StlIssue(
            BINARY_TRUNCATED,
            f"header says {count} triangles ({expected} bytes) but the file has {size} bytes "
            f"({(size - HEADER_BYTES) / RECORD_BYTES:.2f} triangles): truncated or lying header",
        ))  # fmt: skip
    elif size > expected:
        issues.append(StlIssue(
            BINARY_COUNT_MISMATCH,
            f"header says {count} triangles ({expected} bytes) but the file has {size} bytes "
            f"({(size - HEADER_BYTES) / RECORD_BYTES:.2f} triangles): header count too low or trailing data",
        ))  # fmt: skip
    if count > limits.max_triangles:
        issues.append(StlIssue(
            TOO_MANY_TRIANGLES, f"header says {count} triangles, more than the limit {limits.max_triangles}"
        ))  # fmt: skip
    if issues:
        raise Rejected(issues)
    records = np.frombuffer(data, dtype=RECORD_DTYPE, count=count, offset=HEADER_BYTES)
    vectors: np.ndarray = records["vectors"]
    return vectors
