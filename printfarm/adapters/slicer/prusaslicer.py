"""Slice an STL with PrusaSlicer's command line, headless, in a temporary directory.

PrusaSlicer (2.5 as packaged by Debian) is run as
    prusa-slicer --datadir TMP --loglevel 1 --export-gcode --load CONFIG.ini \
        [--align-xy 0,0 --duplicate N] --output OUT part.stl
It centres one copy or arranges N on the bed itself and drops every object onto the bed (z = 0,
whether the STL lies below or above it). When the copies do not fit it aborts with "Objects
could not fit on the bed" (SIGABRT on 2.5): that is a SlicerError saying so. `--datadir` keeps
the user's own presets out of the result.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from printfarm.errors import SlicerError

logger = logging.getLogger(__name__)

STDERR_TAIL_LINES = 5
DOES_NOT_FIT = "could not fit on the bed"


def slice_stl(
    stl_path: Path,
    config_ini: Path,
    *,
    copies: int = 1,
    timeout_seconds: float = 300,
    executable: str = "prusa-slicer",
) -> bytes:
    """G-code bytes for `copies` of the part in `stl_path`, sliced with the PrusaSlicer config file.

    Raises SlicerError when the executable is missing, the files are missing, the slicer exits
    non-zero (with the last lines of its output), takes longer than `timeout_seconds` (it is
    killed) or cannot fit the copies on the bed; ValueError when copies < 1.
    """
    if copies < 1:
        raise ValueError(f"copies must be at least 1, not {copies}")
    program = shutil.which(executable)
    if program is None:
        raise SlicerError(f"slicer executable {executable!r} not found (install the prusa-slicer package)")
    for what, path in (("STL", stl_path), ("slicer config", config_ini)):
        if not path.is_file():
            raise SlicerError(f"{what} {path} does not exist")
    with tempfile.TemporaryDirectory(prefix="printfarm-slice-") as work:
        output = Path(work) / "out.gcode"
        args = [program, "--datadir", str(Path(work) / "datadir"), "--loglevel", "1", "--export-gcode"]
        args += ["--load", str(config_ini.resolve())]
        if copies > 1:
            # 2.5 fails to arrange duplicates of a part whose STL lies far from the origin
            # ("could not fit" even for one copy); aligned to 0,0 first, it arranges them.
            args += ["--align-xy", "0,0", "--duplicate", str(copies)]
        args += ["--output", str(output), str(stl_path.resolve())]
        started = time.monotonic()
        try:
            run = subprocess.run(args, capture_output=True, timeout=timeout_seconds, check=False, cwd=work)
        except subprocess.TimeoutExpired as err:  # subprocess.run has killed the slicer
            raise SlicerError(
                f"PrusaSlicer took longer than {timeout_seconds:g} s slicing {stl_path.name} ×{copies}; killed"
            ) from err
        except OSError as err:
            raise SlicerError(f"cannot run {program}: {err}") from err
        said = (run.stderr + run.stdout).decode("utf-8", errors="replace")
        if DOES_NOT_FIT in said:
            raise SlicerError(
                f"{copies} × {stl_path.name} do not fit the bed of {config_ini.name} (PrusaSlicer: objects could not fit on the bed)"
            )
        if run.returncode != 0:
            raise SlicerError(
                f"PrusaSlicer {_exit_status(run.returncode)} slicing {stl_path.name} with {config_ini.name}: {_tail(said)}"
            )
        if not output.is_file():
            raise SlicerError(f"PrusaSlicer wrote no G-code for {stl_path.name} with {config_ini.name}: {_tail(said)}")
        gcode = output.read_bytes()
    logger.info(
        "sliced %s ×%d with %s: %d bytes in %.1f s",
        stl_path.name, copies, config_ini.name, len(gcode), time.monotonic() - started,
    )
    return gcode


def _exit_status(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with status {returncode}"


def _tail(output: str) -> str:
    """The last lines of the slicer's output, without its start-up trace line."""
    lines = [line for line in output.splitlines() if line.strip() and "[trace]" not in line]
    return " | ".join(lines[-STDERR_TAIL_LINES:]) or "(no output)"
