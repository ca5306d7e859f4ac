"""Output that is not a terminal gets lines, not carriage-return redraws (the demo's progress bar)."""

from __future__ import annotations

import io
import re

import pytest

from cli.support import run_printfarm
from printfarm.cli.terminal import LinesNotRedraws


@pytest.mark.parametrize(
    ("writes", "expected"),
    [
        (["API docs\n", "\r[#.] 1/2", "\r[##] 2/2", "\n", "done\n"], "API docs\n[#.] 1/2\n[##] 2/2\ndone\n"),
        (["\r[#.] 1/2\r[##] 2/2\n"], "[#.] 1/2\n[##] 2/2\n"),
        (["a\r", "\rb\n"], "a\nb\n"),
        (["plain\n", "text"], "plain\ntext"),
    ],
)
def test_a_redraw_becomes_a_new_line_and_never_a_blank_one(writes, expected):
    out = io.StringIO()
    stream = LinesNotRedraws(out)
    for text in writes:
        assert stream.write(text) == len(text)
    assert out.getvalue() == expected


@pytest.mark.slow
def test_the_demo_piped_writes_its_progress_as_lines_without_carriage_returns(tmp_path):
    result = run_printfarm("demo", "--units", "4", "--exit-when-done", "--timeout-seconds", "120", cwd=tmp_path,
                           timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\r" not in result.stdout
    progress = re.findall(r"^\[[#.]{40}\] (\d+)/4 good units$", result.stdout, re.M)
    assert progress and progress[-1] == "4", result.stdout
    assert "Traceback" not in result.stderr
