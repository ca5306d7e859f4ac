"""Closed, consistently wound triangle meshes built with numpy: tubes swept along a path.

The project's own parts (models_stl/), the tests and the benchmark build their meshes here.
Facets come out in local order (neighbours near each other), as real exports have them.
"""

from __future__ import annotations

import numpy as np


def swept_tube(sections: np.ndarray, *, closed_path: bool) -> np.ndarray:
    """Triangles of the surface through `sections` (m, k, 3): m cross-sections of k points each.

    Each cross-section is a closed convex loop. An open path gets flat end caps; a closed path
    joins the last section to the first. The result is closed, manifold and wound outwards.
    """
    m, k = sections.shape[:2]
    rows = m if closed_path else m - 1
    i = np.arange(rows)[:, None]
    j = np.arange(k)[None, :]
    p00 = sections[i, j]
    p10 = sections[(i + 1) % m, j]
    p11 = sections[(i + 1) % m, (j + 1) % k]
    p01 = sections[i, (j + 1) % k]
    sides = np.stack([p00, p10, p11, p00, p11, p01], axis=2).reshape(rows * k * 2, 3, 3)
    parts = [sides]
    if not closed_path:
        fan = np.arange(1, k - 1)
        first, last = sections[0], sections[-1]
        parts.append(np.stack([np.broadcast_to(first[0], (k - 2, 3)), first[fan], first[fan + 1]], axis=1))
        parts.append(np.stack([np.broadcast_to(last[0], (k - 2, 3)), last[fan + 1], last[fan]], axis=1))
    triangles = np.concatenate(parts).astype(np.float32)
    return outward(triangles)


def outward(triangles: np.ndarray) -> np.ndarray:
    """Reverse every facet's winding if the signed volume is negative."""
    a, b, c = (triangles[:, n].astype(np.float64) for n in range(3))
    if np.einsum("ij,ij->", a, np.cross(b, c)) < 0:
        return np.ascontiguousarray(triangles[:, ::-1])
    return triangles


def torus(major_mm: float, minor_mm: float, around: int, across: int, centre_z_mm: float = 0.0) -> np.ndarray:
    """A torus of 2 × around × across facets about the Z axis."""
    u = np.linspace(0.0, 2 * np.pi, around, endpoint=False)[:, None]
    v = np.linspace(0.0, 2 * np.pi, across, endpoint=False)[None, :]
    radius = major_mm + minor_mm * np.cos(v)
    x, y = radius * np.cos(u), radius * np.sin(u)
    z = np.broadcast_to(centre_z_mm + minor_mm * np.sin(v), x.shape)
    sections = np.stack([x, y, z], axis=-1)
    return swept_tube(sections, closed_path=True)


def box(x_mm: float, y_mm: float, z_mm: float) -> np.ndarray:
    """A box with one corner at the origin, standing on z = 0 (12 facets)."""
    square = np.array([[0, 0], [x_mm, 0], [x_mm, y_mm], [0, y_mm]], dtype=np.float64)
    sections = np.stack([np.column_stack([square, np.full(4, z)]) for z in (0.0, z_mm)])
    return swept_tube(sections, closed_path=False)


def rectangle_sweep(path_xy: np.ndarray, width_mm: float, height_mm: float) -> np.ndarray:
    """A band of rectangular cross-section (width across the path, height in Z) along a 2-D path."""
    tangent = np.gradient(path_xy, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    half = width_mm / 2
    corners = [(-half, 0.0), (half, 0.0), (half, height_mm), (-half, height_mm)]
    sections = np.stack(
        [np.column_stack([path_xy + offset * normal, np.full(len(path_xy), z)]) for offset, z in corners], axis=1
    )
    return swept_tube(sections, closed_path=False)
