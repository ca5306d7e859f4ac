"""Small meshes and file bytes for the STL tests (imported by the test modules beside it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from printfarm.adapters.stl import shapes
from printfarm.adapters.stl.writer import binary_stl

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA = REPO_ROOT.parent / "shared" / "data" / "stl"


def cube(size_mm: float = 20.0, offset: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    return shapes.box(size_mm, size_mm, size_mm) + np.asarray(offset, dtype=np.float32)


def cube_bytes(size_mm: float = 20.0) -> bytes:
    return binary_stl(cube(size_mm))


def ascii_solid(triangles: np.ndarray, name: str = "part", newline: str = "\n") -> str:
    lines = [f"solid {name}"]
    for facet in triangles:
        lines += ["  facet normal 0 0 0", "    outer loop"]
        lines += [f"      vertex {x!r} {y!r} {z!r}" for x, y, z in facet.tolist()]
        lines += ["    endloop", "  endfacet"]
    lines.append(f"endsolid {name}")
    return newline.join(lines) + newline
