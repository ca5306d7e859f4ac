"""`printfarm sites add`, `hospitals add` and `printers add` create what the API creates; `printers add`
calls the printer first (here a simulated OctoPrint over HTTP) and a refusal names why, exits 1 and saves nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from printfarm.cli import _register_optional_commands, app
from printfarm.sim.http import SimulatedOctoPrintServer
from printfarm.sim.machine import SimulatedMachine
from support.world import World, seed

Run = Callable[..., Result]


class Silent:
    """Telemetry that goes nowhere: these tests only ask the printer who it is."""

    def event(self, name: str, payload: dict[str, Any]) -> None: ...

    def progress(self, path: str, progress_percent: int) -> None: ...

    def temperature(self, heater: str, actual_c: float, target_c: float) -> None: ...


@pytest.fixture
def cli(new_world: Callable[[], World], database_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[World, Run]:
    world = seed(new_world())
    monkeypatch.setenv("PRINTFARM_DATABASE_URL", database_url)
    monkeypatch.setenv("PRINTFARM_DATA_DIR", str(world.services.settings.data_dir))
    monkeypatch.delenv("PRINTFARM_PRINTER_API_KEY", raising=False)
    _register_optional_commands()
    runner = CliRunner()

    def run(*args: str, **kwargs: Any) -> Result:
        return runner.invoke(app, list(args), **kwargs)

    return world, run


@pytest.fixture
def octoprint() -> Iterator[SimulatedOctoPrintServer]:
    server = SimulatedOctoPrintServer(SimulatedMachine(Silent()), api_key="SIMKEY", name="cli-test")
    server.start()
    yield server
    server.stop()


def snapshot(world: World) -> dict[str, Any]:
    return {path: world.ok("admin", "GET", path) for path in ("/api/sites", "/api/hospitals", "/api/printers", "/api/audit")}


def test_sites_and_hospitals_add_and_list(cli: tuple[World, Run]) -> None:
    world, run = cli
    result = run("sites", "add", "Makerspace Lund", "--city", "Lund", "--auto-accept-qc")
    assert result.exit_code == 0, result.output
    site = next(s for s in world.ok("viewer", "GET", "/api/sites") if s["name"] == "Makerspace Lund")
    assert result.stdout == f"site {site['id']}: Makerspace Lund (Lund)\n"
    assert (site["city"], site["auto_accept_qc"]) == ("Lund", True)
    assert f"{site['id']:>4}  Makerspace Lund" in run("sites", "list").stdout

    result = run("hospitals", "add", "Skåne University Hospital", "--contact", "ward 3")
    assert result.exit_code == 0, result.output
    hospital = next(h for h in world.ok("viewer", "GET", "/api/hospitals") if h["contact"] == "ward 3")
    assert result.stdout == f"hospital {hospital['id']}: Skåne University Hospital\n"
    assert "Skåne University Hospital" in run("hospitals", "list").stdout
    audit = world.ok("admin", "GET", "/api/audit")
    assert {e["action"] for e in audit if e["actor"].startswith("cli:")} == {"site.create", "hospital.create"}


def test_printers_add_stores_a_printer_that_answered_with_the_key(cli: tuple[World, Run], octoprint: SimulatedOctoPrintServer) -> None:
    world, run = cli
    result = run("printers", "add", "mk3-9", "--site", str(world.ids["acme"]), "--url", octoprint.base_url,
                 "--profile", "prusa-mk3s-0.4", input="SIMKEY\n")  # the key typed at the prompt
    assert result.exit_code == 0, result.output
    printer = next(p for p in world.ok("viewer", "GET", "/api/printers") if p["name"] == "mk3-9")
    assert (printer["site_id"], printer["base_url"], printer["connection"]) == (world.ids["acme"], octoprint.base_url, "online")
    assert f"printer {printer['id']}: mk3-9 at site {world.ids['acme']}" in result.stdout
    assert "SIMKEY" not in result.stdout


@pytest.mark.parametrize("name, changes, reason", [
    ("mk3-9", {"--api-key": "WRONG"}, "refused the API key"),
    ("mk3-9", {"--url": "http://127.0.0.1:9"}, "printer at http://127.0.0.1:9 is unreachable"),
    ("mk3-9", {"--site": "999"}, "NotFound: site 999 does not exist"),
    ("mk3-1", {"--site": "ACME"}, "already has a printer named 'mk3-1'"),
], ids=["refused key", "unreachable", "unknown site", "duplicate name"])
def test_printers_add_refused_says_why_exits_1_and_saves_nothing(
    cli: tuple[World, Run], octoprint: SimulatedOctoPrintServer, name: str, changes: dict[str, str], reason: str,
) -> None:
    world, run = cli
    options = {"--site": str(world.ids["uni"]), "--url": octoprint.base_url, "--profile": "prusa-mk3s-0.4",
               "--api-key": "SIMKEY", **changes}
    options = {flag: value.replace("ACME", str(world.ids["acme"])) for flag, value in options.items()}
    before = snapshot(world)
    result = run("printers", "add", name, *[part for pair in options.items() for part in pair])
    assert result.exit_code == 1, result.output
    assert reason in result.stderr and "Traceback" not in result.output
    assert snapshot(world) == before


def test_a_bad_value_is_a_usage_error_naming_the_field(cli: tuple[World, Run]) -> None:
    world, run = cli
    before = snapshot(world)
    result = run("printers", "add", "x", "--site", "1", "--url", "file:///etc/passwd", "--profile", "p", "--api-key", "k")
    assert result.exit_code == 2 and "base_url" in result.stderr and "must start with http://" in result.stderr
    result = run("sites", "add", "far", "--latitude", "95")
    assert result.exit_code == 2 and "latitude" in result.stderr
    result = run("sites", "add", "acme")
    assert result.exit_code == 1 and "site named 'acme' already exists" in result.stderr
    assert snapshot(world) == before


def test_the_commands_are_listed_in_help(cli: tuple[World, Run]) -> None:
    _, run = cli
    assert "add" in run("sites", "--help").stdout and "add" in run("printers", "--help").stdout
    assert "hospitals" in run("--help").stdout


def test_printers_add_gateway_asks_through_the_sites_gateway_and_takes_no_key(cli: tuple[World, Run]) -> None:
    world, run = cli
    before = snapshot(world)
    site = str(world.ids["acme"])
    with_key = run("printers", "add", "gw-1", "--site", site, "--profile", "prusa-mk3s-0.4", "--gateway", "--api-key", "k")
    assert with_key.exit_code == 2 and "a gateway printer's API key stays at its site" in with_key.stderr
    no_gateway = run("printers", "add", "gw-1", "--site", site, "--profile", "prusa-mk3s-0.4", "--gateway")
    assert no_gateway.exit_code == 1, no_gateway.output
    assert "printer at gateway://acme/gw-1 is unreachable" in no_gateway.stderr
    assert snapshot(world) == before
