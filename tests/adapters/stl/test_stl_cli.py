"""`printfarm stl validate`: JSON lines, exit codes, directories and profiles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from adapters.stl.stl_meshes import DATA, cube_bytes
from typer.testing import CliRunner

from printfarm.cli.stl import app

runner = CliRunner()


def test_face_shields_directory_passes_with_one_json_line_per_file() -> None:
    result = runner.invoke(app, ["validate", "--json", str(DATA / "faceshield")])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 4
    assert set(lines[0]) == {"path", "verdict", "triangles", "bodies", "volume_mm3", "bbox_mm", "errors", "warnings"}
    assert {line["verdict"] for line in lines} <= {"ok", "warning"}


def test_a_rejected_file_exits_1_and_names_its_code(tmp_path: Path) -> None:
    broken = tmp_path / "broken.stl"
    broken.write_bytes(cube_bytes()[:-10])
    result = runner.invoke(app, ["validate", str(broken)])
    assert result.exit_code == 1
    assert result.stdout.startswith("rejected") and "binary_truncated" in result.stdout


def test_profile_build_volume_is_checked() -> None:
    rc3 = str(DATA / "faceshield" / "covid19_headband_rc3.stl")
    result = runner.invoke(app, ["validate", "--json", "--profile", "prusa-mini-0.4", rc3])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"][0]["code"] == "exceeds_build_volume"
    assert runner.invoke(app, ["validate", "--profile", "prusa-mk3s-0.4", rc3]).exit_code == 0


def test_unknown_profile_is_a_usage_error_naming_the_known_ones(tmp_path: Path) -> None:
    part = tmp_path / "cube.stl"
    part.write_bytes(cube_bytes())
    result = runner.invoke(app, ["validate", "--profile", "bambu-x1", str(part)])
    assert result.exit_code == 2
    assert "prusa-mk3s-0.4" in result.output


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    assert runner.invoke(app, ["validate", str(tmp_path / "nope.stl")]).exit_code == 2


def test_directory_without_stl_files_is_a_usage_error(tmp_path: Path) -> None:
    assert runner.invoke(app, ["validate", str(tmp_path)]).exit_code == 2


def test_limits_come_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    part = tmp_path / "cube.stl"
    part.write_bytes(cube_bytes())
    assert runner.invoke(app, ["validate", str(part)]).exit_code == 0
    monkeypatch.setenv("PRINTFARM_STL_MAX_BYTES", str(part.stat().st_size - 1))
    result = runner.invoke(app, ["validate", str(part)])
    assert result.exit_code == 1
    assert result.stdout.startswith("rejected") and "file_too_large" in result.stdout
    monkeypatch.setenv("PRINTFARM_STL_MAX_BYTES", str(part.stat().st_size))
    monkeypatch.setenv("PRINTFARM_STL_MAX_TRIANGLES", "11")
    result = runner.invoke(app, ["validate", "--json", str(part)])
    assert result.exit_code == 1
    assert [error["code"] for error in json.loads(result.stdout)["errors"]] == ["too_many_triangles"]


def test_invalid_limit_setting_is_a_usage_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    part = tmp_path / "cube.stl"
    part.write_bytes(cube_bytes())
    monkeypatch.setenv("PRINTFARM_STL_MAX_TRIANGLES", "0")
    result = runner.invoke(app, ["validate", str(part)])
    assert result.exit_code == 2
    assert "stl_max_triangles" in result.output


def test_help_says_the_limits_are_the_service_settings() -> None:
    result = runner.invoke(app, ["validate", "--help"])
    assert "stl_max_bytes" in result.stdout and "stl_max_triangles" in result.stdout
