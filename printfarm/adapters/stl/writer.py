"""Binary STL bytes from an (n, 3, 3) triangle array, in numpy-stl's record layout."""

from __future__ import annotations

import numpy as np

from printfarm.adapters.stl.reader import HEADER_BYTES, RECORD_DTYPE


def binary_stl(triangles: np.ndarray, header: bytes = b"printfarm") -> bytes:
    """Encode triangles as binary STL; normals are computed from the winding (unit length or zero)."""
    triangles = np.asarray(triangles, dtype=np.float32)
    if len(header) > HEADER_BYTES - 4:
        raise ValueError(f"STL header is {len(header)} bytes, more than 80")
    records = np.zeros(len(triangles), dtype=RECORD_DTYPE)
    records["vectors"] = triangles
    with np.errstate(all="ignore"):  # absurd coordinates get absurd normals; readers ignore them
        normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
        lengths = np.linalg.norm(normals, axis=1, keepdims=True)
        records["normals"] = np.divide(normals, lengths, out=np.zeros_like(normals), where=lengths > 0)
    count = np.uint32(len(triangles)).tobytes()
    return header.ljust(HEADER_BYTES - 4, b" ") + count + records.tobytes()
