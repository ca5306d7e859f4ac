"""Benchmark: analyse_gcode against OctoPrint 1.11.8's own G-code analysis, on real sliced files.

Slices the four face shields with PrusaSlicer (prusa-mk3s-0.4, cached in --cache-dir), builds a
stack of several million lines from the headband (its layers repeated with Z shifted, as a stack
of frames is printed), then for each file prints lines/s of analyse_gcode (median of --runs) and
the seconds `octoprint analysis gcode FILE` takes in the same run, with the ratio. OctoPrint's
figure includes starting its interpreter, so the start-up (the analysis of a one-line file) is
printed too and a ratio without it. Our CPU time is printed beside the wall time: it moves much
less than wall time when other processes share the cores. Figures only; nothing here asserts on time.

    .venv/bin/python bench/gcode_analyze.py [--stack 18] [--runs 5] [--octoprint-runs 1]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

from stl_validate import median_seconds, own_cpu_seconds, timed  # bench/ is on the path when run as a script

from printfarm.adapters.gcode import analyse_gcode
from printfarm.adapters.slicer import slice_stl

REPO = Path(__file__).resolve().parents[1]
FACESHIELDS = REPO.parent / "shared" / "data" / "stl" / "faceshield"
PROFILE = REPO / "config" / "profiles" / "prusa-mk3s-0.4.ini"
OCTOPRINT_PYTHON = REPO / ".venv-octoprint" / "bin" / "python"
_Z_WORD = re.compile(rb"(?m)^(G1 [^;\n]*?Z)(-?[0-9]*\.?[0-9]+)")


def sliced(stl: Path, cache: Path) -> Path:
    """The STL sliced with the MK3S profile, reused while STL and profile are unchanged."""
    key = hashlib.sha256(stl.read_bytes() + PROFILE.read_bytes()).hexdigest()[:12]
    path = cache / f"{stl.stem}-{key}.gcode"
    if not path.exists():
        path.write_bytes(slice_stl(stl, PROFILE))
    return path


def stacked(source: Path, copies: int, cache: Path) -> Path:
    """`copies` of the source's layers one above the other, between its start and its end."""
    path = cache / f"{source.stem}-stack{copies}.gcode"
    if path.exists():
        return path
    data = source.read_bytes()
    first_layer = data.index(b"\n;LAYER_CHANGE") + 1
    end = data.rindex(b"\n;LAYER_CHANGE")
    end = data.index(b"\n; filament used", end) + 1 if b"\n; filament used" in data[end:] else len(data)
    layers = data[first_layer:end]
    height = max(float(z) for _, z in _Z_WORD.findall(layers))
    parts = [data[:first_layer]]
    for copy in range(copies):
        shift = copy * height
        parts.append(_Z_WORD.sub(lambda m: m.group(1) + f"{float(m.group(2)) + shift:.3f}".encode(), layers))
    parts.append(data[end:])
    path.write_bytes(b"".join(parts))
    return path


def octoprint_seconds(path: Path, runs: int) -> float:
    def analyse() -> None:
        subprocess.run(
            [str(OCTOPRINT_PYTHON), "-m", "octoprint", "analysis", "gcode", str(path)],
            check=True, capture_output=True, timeout=3600,
        )

    return median_seconds(analyse, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", type=int, default=18, help="copies of the headband's layers in the big file")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--octoprint-runs", type=int, default=1)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "printfarm-bench-gcode")
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)

    files = [sliced(stl, args.cache_dir) for stl in sorted(FACESHIELDS.glob("*.stl"))]
    headband = next(f for f in files if f.name.startswith("covid19_headband_rc3"))
    files.append(stacked(headband, args.stack, args.cache_dir))

    one_line = args.cache_dir / "one-line.gcode"
    one_line.write_bytes(b"G1 X1 Y1 E1\n")
    startup = octoprint_seconds(one_line, max(args.octoprint_runs, 3))
    print(f"OctoPrint start-up (one-line file): {startup:.2f} s; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    header = (
        f"{'file':48} {'lines':>9} {'MB':>6} {'ours s':>7} {'M lines/s':>9} {'CPU s':>6} {'M lines/CPU s':>13} "
        f"{'OctoPrint s':>11} {'ratio':>7} {'ratio net':>9}"
    )
    print(header)
    for path in files:
        data = path.read_bytes()
        analysis = analyse_gcode(data)
        runs = [timed(lambda: analyse_gcode(data), own_cpu_seconds) for _ in range(args.runs)]
        ours, cpu = (statistics.median(run[i] for run in runs) for i in (0, 1))
        theirs = octoprint_seconds(path, args.octoprint_runs)
        print(
            f"{path.name:48} {analysis.lines:9d} {len(data) / 1e6:6.1f} {ours:7.3f} {analysis.lines / ours / 1e6:9.2f} "
            f"{cpu:6.3f} {analysis.lines / cpu / 1e6:13.2f} {theirs:11.2f} {theirs / ours:7.1f} {(theirs - startup) / ours:9.1f}"
        )


if __name__ == "__main__":
    main()
