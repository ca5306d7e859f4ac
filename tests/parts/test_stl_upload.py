"""An STL uploaded through the API gets the same report as `printfarm stl validate --json`."""

from __future__ import annotations

import json

import pytest
from support.world import seed
from typer.testing import CliRunner

from conftest import SHARED
from printfarm.cli.stl import app as stl_cli

STL = SHARED / "data" / "stl"
FILES = [
    STL / "faceshield" / "bottom_reinforcement.stl",
    STL / "tricky" / "Visor_frame_SWEDEN_v11__truncated.stl",
    STL / "tricky" / "admesh__block__normal-directions-bad.stl",
    STL / "tricky" / "prusaslicer__20mmbox-CR.stl",
]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_api_and_cli_reports_agree(new_world, path):
    world = seed(new_world())
    part = world.ok("coordinator", "POST", "/api/parts", data={"name": path.stem},
                    files={"stl": (path.name, path.read_bytes())})
    api_report = world.ok("viewer", "GET", f"/api/parts/{part['id']}/validation")["report"]
    result = CliRunner().invoke(stl_cli, ["validate", "--json", str(path)])
    cli_report = json.loads(result.stdout.splitlines()[0])
    cli_report.pop("path")
    assert api_report == cli_report
    assert part["stl_verdict"] == cli_report["verdict"]
