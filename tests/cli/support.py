"""Run the installed `printfarm` console script as a newcomer would, with only the settings a test gives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PRINTFARM = str(Path(sys.executable).parent / "printfarm")


def run_printfarm(*args: str, cwd: Path, timeout: float = 120, **settings: str) -> subprocess.CompletedProcess[str]:
    """`printfarm ARGS` in cwd with no PRINTFARM_* from this process, plus settings (e.g. PRINTFARM_DATA_DIR=...)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PRINTFARM_")}
    env.update({"COLUMNS": "120", "PRINTFARM_LOG_LEVEL": "WARNING", **settings})
    return subprocess.run(
        [PRINTFARM, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout, stdin=subprocess.DEVNULL
    )
