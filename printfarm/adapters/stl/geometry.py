"""Per-facet geometry in one chunked float32 pass: bounding box, zero-area facets, volume, base."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_CHUNK = 1 << 15  # facets per chunk: the temporaries stay in cache
# A facet is degenerate if its height is below this fraction of the part's largest coordinate:
# a few float32 ulps, so points collinear before rounding to float32 still count as collinear.
RELATIVE_HEIGHT = 2.0**-20
BED_TOLERANCE_MM = 0.01  # facets whose corners all lie this close to the lowest z form the base


@dataclass(frozen=True)
class Geometry:
    """What one pass over the facets measured (from vertices; stored normals are ignored)."""

    lowest: np.ndarray  # float64 xyz of the bounding box; NaN or inf if a coordinate is not finite
    highest: np.ndarray
    signed_volume_mm3: float  # positive when facets wind counter-clockwise seen from outside
    flatness: np.ndarray  # float32 per facet: (2 × area)² / (|e1|² + |e2|²), about height²
    top_z: np.ndarray  # float32 per facet: its highest corner's z
    twice_down_area: np.ndarray  # float32 per facet: |z component of the cross product|

    @property
    def is_finite(self) -> bool:
        return bool(np.isfinite(self.lowest).all() and np.isfinite(self.highest).all())

    @property
    def extents_mm(self) -> tuple[float, float, float]:
        x, y, z = (self.highest - self.lowest).tolist()
        return x, y, z

    def degenerate(self) -> np.ndarray:
        """Bool per facet: zero area (height below the float32 resolution of the part's size)."""
        size = max(float(np.abs(self.lowest).max()), float(np.abs(self.highest).max()), 1e-30)
        return ~(self.flatness > np.float32((RELATIVE_HEIGHT * size) ** 2))  # NaN: all corners equal

    def base_area_mm2(self) -> float:
        """Area of the facets that lie flat on the lowest z."""
        on_bed = self.top_z <= np.float32(self.lowest[2] + BED_TOLERANCE_MM)
        return float(self.twice_down_area[on_bed].sum(dtype=np.float64)) / 2.0


def count_non_finite(triangles: np.ndarray) -> int:
    """Number of corners with a NaN or infinite coordinate."""
    return int(np.count_nonzero(~np.isfinite(triangles.reshape(-1, 3)).all(axis=1)))


def measure(triangles: np.ndarray) -> Geometry:
    """Measure every facet of an (n, 3, 3) float32 array, in chunks of structure-of-arrays."""
    n = len(triangles)
    flat = triangles.reshape(n, 9)
    origin = flat[0, :3].copy() if n else np.zeros(3, np.float32)  # a nearby origin loses less to rounding
    lowest = np.full(3, np.inf)
    highest = np.full(3, -np.inf)
    flatness = np.empty(n, np.float32)
    top_z = np.empty(n, np.float32)
    down = np.empty(n, np.float32)
    volume = 0.0
    with np.errstate(all="ignore"):  # non-finite input is reported from the bounding box
        for start in range(0, n, _CHUNK):
            columns = np.ascontiguousarray(flat[start : start + _CHUNK].T)
            stop = start + columns.shape[1]
            for axis in range(3):
                lowest[axis] = min(lowest[axis], float(columns[axis::3].min()))
                highest[axis] = max(highest[axis], float(columns[axis::3].max()))
            x0, y0, z0, x1, y1, z1, x2, y2, z2 = columns
            ax, ay, az = x1 - x0, y1 - y0, z1 - z0
            bx, by, bz = x2 - x0, y2 - y0, z2 - z0
            cx = ay * bz - az * by
            cy = az * bx - ax * bz
            cz = ax * by - ay * bx
            area = cx * cx + cy * cy + cz * cz
            flatness[start:stop] = area / (ax * ax + ay * ay + az * az + bx * bx + by * by + bz * bz)
            np.maximum(np.maximum(z0, z1), z2, out=top_z[start:stop])
            np.abs(cz, out=down[start:stop])
            # einsum, not dot: no BLAS threads spinning on the shared cores; float64 sums.
            volume += float(
                np.einsum("i,i->", x0 - origin[0], cx, dtype=np.float64)
                + np.einsum("i,i->", y0 - origin[1], cy, dtype=np.float64)
                + np.einsum("i,i->", z0 - origin[2], cz, dtype=np.float64)
            )
    return Geometry(lowest, highest, volume / 6.0, flatness, top_z, down)
