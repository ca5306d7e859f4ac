"""`printfarm demo --exit-when-done` runs the whole chain on embedded defaults and exits 0; without it the
demo keeps the farm busy until Ctrl-C."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

pytestmark = pytest.mark.slow


def test_demo_prints_the_batch_and_reports_good_units_per_site(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "printfarm", "demo", "--units", "24", "--exit-when-done", "--timeout-seconds", "120"],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    per_site = [int(n) for n in re.findall(r"^  (?!total).+?\s(\d+)  \(rejected", result.stdout, re.M)]
    total = re.search(r"^  total\s+(\d+)$", result.stdout, re.M)
    assert len(per_site) == 3 and all(n > 0 for n in per_site), result.stdout
    assert total is not None and sum(per_site) == int(total.group(1)) == 24, result.stdout
    # the chain ends at the hospital: a delivery of the 24 units, traced to its plates, received
    assert re.search(r"^delivery \d+: 24 units from 3 sites \(6 plates traced\), received by .+: 24 units$",
                     result.stdout, re.M), result.stdout
    assert re.search(r"^hospital request \d+: 24 requested, 24 QC-passed, 24 delivered, 0 outstanding$",
                     result.stdout, re.M), result.stdout
    assert "Traceback" not in result.stderr


ALIVE_SECONDS = 20.0  # after the demo says how to stop; plates print in 2 s (--time-scale 2700)
# the simulated operators clear at once here (--operator-wait 0): no person is signed in to do it


def test_demo_without_exit_when_done_keeps_counting_until_sigint_and_then_exits_0(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "printfarm", "demo", "--units", "24", "--time-scale", "2700", "--operator-wait", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    lines: queue.SimpleQueue[tuple[float, str]] = queue.SimpleQueue()
    reader = threading.Thread(target=lambda: [lines.put((time.monotonic(), line)) for line in process.stdout], daemon=True)
    reader.start()
    seen: list[tuple[float, str]] = []
    try:
        while not any("press Ctrl-C" in line for _, line in seen):
            assert process.poll() is None, f"the demo ended by itself (exit {process.returncode})"
            seen.append(lines.get(timeout=60))
        started = time.monotonic()
        while time.monotonic() - started < ALIVE_SECONDS:
            assert process.poll() is None, f"the demo ended by itself (exit {process.returncode})"
            time.sleep(0.5)
        assert process.poll() is None, f"the demo ended by itself (exit {process.returncode})"
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=10)
    stderr = process.stderr.read()
    process.stdout.close()
    process.stderr.close()
    while not lines.empty():
        seen.append(lines.get())
    stdout = "".join(line for _, line in seen)
    assert returncode == 0, stdout + stderr
    assert "press Ctrl-C" in stdout, stdout
    # batches complete one after another, the farm's count rising, in the first and in the second half
    done = [(at - started, int(m.group(1))) for at, line in seen
            if (m := re.search(r"^batch \d+ done: .* so far (\d+) good units", line))]
    assert len(done) >= 3, stdout
    assert [good for _, good in done] == sorted({good for _, good in done}), stdout
    assert any(at < ALIVE_SECONDS / 2 for at, _ in done) and any(ALIVE_SECONDS / 2 < at < ALIVE_SECONDS for at, _ in done), stdout
    assert re.search(r"asks for \d+ frames: batch \d+ queued", stdout), stdout
    assert re.search(r"^printfarm demo: stopped after \d+ batch(es)? \(\d+ good units\)\.$", stdout, re.M), stdout
    assert "Traceback" not in stderr, stderr
