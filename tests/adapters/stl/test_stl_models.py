"""models_stl/: every part has complete metadata, and the project's own meshes validate."""

from __future__ import annotations

import runpy
import tomllib

import numpy as np
import pytest
from adapters.stl.stl_meshes import REPO_ROOT
from typer.testing import CliRunner

from printfarm.adapters.stl import validate_stl, validate_stl_file
from printfarm.adapters.stl.writer import binary_stl
from printfarm.cli.stl import app

MODELS = REPO_ROOT / "models_stl"
KEYS = {"name", "purpose", "units_per_plate", "material", "licence", "source"}
CATALOGUE = sorted(MODELS.glob("*.toml"))


@pytest.mark.parametrize("path", CATALOGUE, ids=lambda p: p.stem)
def test_catalogue_entry_has_the_metadata_and_any_stl_it_names(path) -> None:  # noqa: ANN001
    entry = tomllib.loads(path.read_text())
    assert KEYS <= set(entry)
    assert isinstance(entry["units_per_plate"], int) and entry["units_per_plate"] >= 1
    if "stl" in entry:
        assert validate_stl_file(MODELS / entry["stl"]).verdict == "ok"


def test_no_stl_in_the_catalogue_lacks_an_entry() -> None:
    named = {tomllib.loads(p.read_text()).get("stl") for p in CATALOGUE}
    assert {p.name for p in MODELS.glob("*.stl")} <= named


def test_validate_models_directory_exits_0() -> None:
    result = CliRunner().invoke(app, ["validate", "--profile", "prusa-mk3s-0.4", str(MODELS)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("circumference_mm", [520.0, 580.0, 640.0])
def test_headband_is_closed_for_any_head_size(circumference_mm: float) -> None:
    make = runpy.run_path(str(MODELS / "make_models.py"))
    band = make["headband"](circumference_mm)
    report = validate_stl(binary_stl(band))
    assert (report.verdict, report.bodies) == ("ok", 1)
    assert np.isclose(band[:, :, 2].min(), 0.0)
