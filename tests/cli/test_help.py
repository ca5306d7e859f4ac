"""Every command's --help reads as usage, not as Python: no <bool>, <list[Path]> or {paths} anywhere."""

from __future__ import annotations

import re

import pytest
import typer

from cli.support import run_printfarm
from printfarm.cli import _register_optional_commands, app


def command_paths() -> list[list[str]]:
    _register_optional_commands()
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        paths.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


#: Typer's Python labels, its {required} usage braces, and a number range shown on a text option.
PYTHON_LABELS = re.compile(r"<(bool|int|str|float|path|file|list\[[^>]*\]|[a-z|]+)>|\{\w+\}|list\[|TEXT \[x")


@pytest.mark.parametrize("path", command_paths(), ids=lambda path: " ".join(path) or "printfarm")
def test_help_shows_no_python_types(tmp_path, path):
    result = run_printfarm(*path, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.lstrip().startswith(f"Usage: printfarm {' '.join(path)}".rstrip())
    assert not PYTHON_LABELS.search(result.stdout), result.stdout
    assert list(tmp_path.iterdir()) == []  # help creates no data directory


def test_help_writes_arguments_in_capitals_and_flags_without_a_value(tmp_path):
    validate = run_printfarm("stl", "validate", "--help", cwd=tmp_path).stdout
    assert "Usage: printfarm stl validate [OPTIONS] PATHS..." in validate
    assert re.search(r"PATHS\.\.\.\s+PATH\s+STL files", validate)
    assert re.search(r"--json\s+One JSON object", validate)
    token = run_printfarm("token", "create", "--help", cwd=tmp_path).stdout
    assert re.search(r"--site\s+INTEGER\s+Site id", token)
    assert re.search(r"--help\s+Show this message", token)


def test_the_top_help_says_where_the_data_goes(tmp_path):
    top = " ".join(run_printfarm("--help", cwd=tmp_path).stdout.replace("│", " ").split())
    assert "PRINTFARM_DATA_DIR (default ~/.local/share/printfarm)" in top
