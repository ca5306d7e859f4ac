"""Benchmark: full STL validation against `admesh --exact` on closed tori of 1 M and 5 M facets.

Prints triangles per second (median of several runs), peak traced memory against the file size,
and ADMesh's time on the same file in the same run. Figures only; nothing here asserts on time.

    .venv/bin/python bench/stl_validate.py [--sizes 1000000 5000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

from printfarm.adapters.stl import StlLimits, shapes, validate_stl_file
from printfarm.adapters.stl.writer import binary_stl

LIMITS = StlLimits(max_bytes=2 << 30, max_triangles=50_000_000)


def write_torus(directory: Path, triangles: int) -> Path:
    """A torus of about `triangles` facets, in the grid order a CAD export writes them."""
    across = int((triangles / 8) ** 0.5)
    around = triangles // (2 * across)
    path = directory / f"torus_{triangles}.stl"
    path.write_bytes(binary_stl(shapes.torus(60.0, 15.0, around, across, centre_z_mm=15.0)))
    return path


def median_seconds(action, runs: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_traced_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        validate_stl_file(path, limits=LIMITS)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    admesh = shutil.which("admesh")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = write_torus(Path(tmp), size)
            report = validate_stl_file(path, limits=LIMITS)
            file_bytes = path.stat().st_size
            ours = median_seconds(lambda: validate_stl_file(path, limits=LIMITS), args.runs)
            peak = peak_traced_bytes(path)
            print(f"{report.triangles:>9,} triangles, {file_bytes / 1e6:.0f} MB, verdict {report.verdict} {report.codes}")
            print(f"  printfarm: {ours * 1e3:7.1f} ms  {report.triangles / ours / 1e6:5.2f} M tri/s (median of {args.runs})")
            print(f"  peak traced memory {peak / 1e6:.0f} MB = {peak / file_bytes:.2f} × file size")
            if admesh is None:
                print("  admesh: not installed")
                continue
            theirs = median_seconds(
                lambda: subprocess.run([admesh, "--exact", str(path)], check=True, capture_output=True), args.runs
            )
            print(f"  admesh --exact: {theirs * 1e3:7.1f} ms  {report.triangles / theirs / 1e6:5.2f} M tri/s")
            print(f"  admesh time / printfarm time = {theirs / ours:.2f}")


if __name__ == "__main__":
    main()
