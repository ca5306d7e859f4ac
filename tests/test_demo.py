"""`printfarm demo --exit-when-done` runs the whole chain on embedded defaults and exits 0."""

from __future__ import annotations

import re
import subprocess
import sys

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
