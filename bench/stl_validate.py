"""Benchmark: full STL validation against `admesh --exact` on closed tori, in local and shuffled facet order.

Files: tori of 1 M and 4 M facets in the grid order a CAD export writes them, and a 1 M torus with
its facets in random order (as some exporters write them: no locality left for caches).
For each file, runs alternate (ours, ADMesh, ours, ...) so load from other work on the machine
falls on both alike, and print medians:

- printfarm wall time in a fresh process, as `printfarm stl validate` runs: the validation call
  only, not Python's start-up and imports; every page it touches is new to the process, which is
  what a CLI user and an upload to a freshly started worker wait for. ADMesh too is a fresh process;
- ADMesh's wall time, and the ratio ADMesh / printfarm of those medians (> 1: printfarm faster),
  with the range of the per-run ratios;
- CPU time (user + system) of both, which moves less than wall time when the cores are shared,
  and printfarm's wall time in a warm process (the same call repeated, as in a long-running service);
- peak traced memory against the file size, and the load average before and after the file.

Figures only; nothing here asserts on time.

    .venv/bin/python bench/stl_validate.py [--sizes 1000000 4000000] [--shuffled 1000000] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from printfarm.adapters.stl import StlLimits, shapes, validate_stl_file
from printfarm.adapters.stl.writer import binary_stl

LIMITS = StlLimits(max_bytes=2 << 30, max_triangles=50_000_000)


def write_torus(directory: Path, triangles: int, *, shuffled: bool = False) -> Path:
    """A torus of about `triangles` facets, in grid order or (`shuffled`) in a fixed random order."""
    across = int((triangles / 8) ** 0.5)
    around = triangles // (2 * across)
    facets = shapes.torus(60.0, 15.0, around, across, centre_z_mm=15.0)
    if shuffled:
        facets = facets[np.random.default_rng(19).permutation(len(facets))]
    path = directory / f"torus_{triangles}{'_shuffled' if shuffled else ''}.stl"
    path.write_bytes(binary_stl(facets))
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


def fresh_process_run(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one validation in a new Python process, its start-up excluded."""
    command = [sys.executable, __file__, "--child", str(path)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    figures = json.loads(result.stdout)
    return figures["wall"], figures["cpu"]


def child(path: Path) -> None:
    wall, cpu = timed(lambda: validate_stl_file(path, limits=LIMITS), own_cpu_seconds)
    print(json.dumps({"wall": wall, "cpu": cpu}))


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}"


@dataclass(frozen=True)
class Row:
    name: str
    ours_ms: float
    admesh_ms: float | None
    memory_per_file: float
    load: str

    def line(self) -> str:
        admesh = "not installed" if self.admesh_ms is None else f"{self.admesh_ms:8.0f} ms"
        ratio = "" if self.admesh_ms is None else f"{self.admesh_ms / self.ours_ms:5.2f}×"
        return f"  {self.name:24} {self.ours_ms:8.0f} ms  {admesh}  {ratio:>6}  {self.memory_per_file:5.2f}×  {self.load}"


def compare(path: Path, name: str, admesh: str | None, runs: int) -> Row:
    load_before = load_average()
    report = validate_stl_file(path, limits=LIMITS)  # warm: page cache and imports
    file_bytes = path.stat().st_size
    print(f"{name}: {report.triangles:,} triangles, {file_bytes / 1e6:.0f} MB, verdict {report.verdict} "
          f"{report.codes}, load average {load_before}")  # fmt: skip
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    warm: list[float] = []
    for _ in range(runs):
        ours.append(fresh_process_run(path))
        if admesh is not None:
            command = [admesh, "--exact", str(path)]
            theirs.append(timed(lambda: subprocess.run(command, check=True, capture_output=True), children_cpu_seconds))
        warm.append(timed(lambda: validate_stl_file(path, limits=LIMITS), own_cpu_seconds)[0])
    wall, cpu = (statistics.median(run[i] for run in ours) for i in (0, 1))
    print(f"  printfarm, fresh process: {wall * 1e3:7.1f} ms wall ({report.triangles / wall / 1e6:5.2f} M tri/s), "
          f"{cpu * 1e3:7.1f} ms CPU (medians of {runs}); warm process {statistics.median(warm) * 1e3:7.1f} ms wall")  # fmt: skip
    peak = peak_traced_bytes(path)
    print(f"  peak traced memory {peak / 1e6:.0f} MB = {peak / file_bytes:.2f} × file size")
    load = f"{load_before} → {load_average()}"
    if admesh is None:
        print("  admesh: not installed")
        return Row(name, wall * 1e3, None, peak / file_bytes, load)
    their_wall, their_cpu = (statistics.median(run[i] for run in theirs) for i in (0, 1))
    print(f"  admesh --exact:           {their_wall * 1e3:7.1f} ms wall ({report.triangles / their_wall / 1e6:5.2f} M tri/s), "
          f"{their_cpu * 1e3:7.1f} ms CPU")  # fmt: skip
    pairs = [their[0] / our[0] for our, their in zip(ours, theirs, strict=True)]
    print(f"  admesh time / printfarm time: {their_wall / wall:.2f} wall (per-run pairs {min(pairs):.2f}–"
          f"{max(pairs):.2f}), {their_cpu / cpu:.2f} CPU")  # fmt: skip
    return Row(name, wall * 1e3, their_wall * 1e3, peak / file_bytes, load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 4_000_000])
    parser.add_argument("--shuffled", type=int, nargs="*", default=[1_000_000], help="sizes of facet-shuffled tori")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    print(f"load average {load_average()} on {os.cpu_count()} cores")
    admesh = shutil.which("admesh")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = [(size, False) for size in args.sizes] + [(size, True) for size in args.shuffled]
        for size, shuffled in files:
            path = write_torus(Path(tmp), size, shuffled=shuffled)
            name = f"{size / 1e6:g} M{' shuffled' if shuffled else ''}"
            rows.append(compare(path, name, admesh, args.runs))
            path.unlink()
    print(f"\n  {'file':24} {'printfarm':>11}  {'admesh':>11}  {'ratio':>6}  memory/file  load average")
    for row in rows:
        print(row.line())


if __name__ == "__main__":
    main()
