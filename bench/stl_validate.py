"""Benchmark: full STL validation against `admesh --exact` on closed tori of 1 M and 5 M facets.

Prints triangles per second (median of several runs), peak traced memory against the file size,
and ADMesh's time on the same file in the same run, runs interleaved (ours, ADMesh, ours, ...) so
that load from other work on the machine falls on both alike. Wall time is what a user waits;
CPU time (all our threads, or the admesh child process) is printed beside it because it moves much
less when other processes share the cores. Figures only; nothing here asserts on time.

    .venv/bin/python bench/stl_validate.py [--sizes 1000000 5000000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable
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


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], object], cpu: Callable[[], float]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    cpu_start, start = cpu(), time.perf_counter()
    action()
    return time.perf_counter() - start, cpu() - cpu_start


def median_seconds(action: Callable[[], object], runs: int) -> float:
    """Median wall seconds of `runs` calls (also used by the G-code benchmark)."""
    return statistics.median(timed(action, own_cpu_seconds)[0] for _ in range(runs))


def peak_traced_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        validate_stl_file(path, limits=LIMITS)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def compare(path: Path, admesh: str | None, runs: int) -> None:
    report = validate_stl_file(path, limits=LIMITS)  # warm: page cache and imports
    file_bytes = path.stat().st_size
    print(f"{report.triangles:>9,} triangles, {file_bytes / 1e6:.0f} MB, verdict {report.verdict} {report.codes}")
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    for _ in range(runs):
        ours.append(timed(lambda: validate_stl_file(path, limits=LIMITS), own_cpu_seconds))
        if admesh is not None:
            command = [admesh, "--exact", str(path)]
            theirs.append(timed(lambda: subprocess.run(command, check=True, capture_output=True), children_cpu_seconds))
    wall, cpu = (statistics.median(run[i] for run in ours) for i in (0, 1))
    rate = report.triangles / wall / 1e6
    print(f"  printfarm:      {wall * 1e3:7.1f} ms wall ({rate:5.2f} M tri/s), {cpu * 1e3:7.1f} ms CPU (medians of {runs})")
    peak = peak_traced_bytes(path)
    print(f"  peak traced memory {peak / 1e6:.0f} MB = {peak / file_bytes:.2f} × file size")
    if admesh is None:
        print("  admesh: not installed")
        return
    their_wall, their_cpu = (statistics.median(run[i] for run in theirs) for i in (0, 1))
    print(f"  admesh --exact: {their_wall * 1e3:7.1f} ms wall ({report.triangles / their_wall / 1e6:5.2f} M tri/s), "
          f"{their_cpu * 1e3:7.1f} ms CPU")  # fmt: skip
    pairs = [their[0] / our[0] for our, their in zip(ours, theirs, strict=True)]
    print(f"  admesh time / printfarm time: {their_wall / wall:.2f} wall (per-run pairs {min(pairs):.2f}–"
          f"{max(pairs):.2f}), {their_cpu / cpu:.2f} CPU")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            compare(write_torus(Path(tmp), size), shutil.which("admesh"), args.runs)


if __name__ == "__main__":
    main()
