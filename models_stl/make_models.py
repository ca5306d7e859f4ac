"""Regenerate the project's own STL parts from their parameters.

    .venv/bin/python models_stl/make_models.py [--head-circumference-mm 580]

Writes headband.stl (a simple printable face-shield headband for the given head size) and
calibration_cube.stl beside this script. Every part is closed, manifold and outward-wound.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from printfarm.adapters.stl import shapes
from printfarm.adapters.stl.writer import binary_stl

HERE = Path(__file__).resolve().parent


def headband(
    head_circumference_mm: float = 580.0,
    *,
    clearance_mm: float = 4.0,
    wrap_degrees: float = 200.0,
    wall_mm: float = 3.0,
    height_mm: float = 15.0,
    segments: int = 160,
) -> np.ndarray:
    """A band following the front of an elliptic head outline, `wrap_degrees` around, flat on z = 0.

    The head is an ellipse 1.2 × as deep as wide whose perimeter is the head circumference
    (Ramanujan's approximation); the band's mid-line sits `clearance_mm` outside it.
    """
    ratio = 1.2
    h = ((ratio - 1) / (ratio + 1)) ** 2
    half_width = head_circumference_mm / (math.pi * (1 + ratio) * (1 + 3 * h / (10 + math.sqrt(4 - 3 * h))))
    a = half_width + clearance_mm + wall_mm / 2
    b = half_width * ratio + clearance_mm + wall_mm / 2
    half_wrap = math.radians(wrap_degrees) / 2
    t = np.linspace(math.pi / 2 - half_wrap, math.pi / 2 + half_wrap, segments)
    path = np.column_stack([a * np.cos(t), b * np.sin(t)])
    band = shapes.rectangle_sweep(path, wall_mm, height_mm)
    return band - np.array([0, band[:, :, 1].min(), 0], dtype=np.float32)


def calibration_cube(size_mm: float = 20.0) -> np.ndarray:
    return shapes.box(size_mm, size_mm, size_mm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--head-circumference-mm", type=float, default=580.0)
    args = parser.parse_args()
    parts = {
        "headband.stl": (headband(args.head_circumference_mm), f"printfarm headband {args.head_circumference_mm:g} mm"),
        "calibration_cube.stl": (calibration_cube(), "printfarm calibration cube 20 mm"),
    }
    for name, (triangles, header) in parts.items():
        (HERE / name).write_bytes(binary_stl(triangles, header=header.encode()))
        print(f"{name}: {len(triangles)} facets")


if __name__ == "__main__":
    main()
