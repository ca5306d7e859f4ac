"""Printer kinds: each printer's client comes from its kind's factory; an unknown kind is refused, nothing saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from support.world import PRINTER_KEY, World, seed

from printfarm.adapters.octoprint.fake import FakePrinterFleet
from printfarm.app import create_app
from printfarm.auth.rules import SYSTEM, Role
from printfarm.db.tables import Printer
from printfarm.errors import ConfigError, PrinterUnreachable
from printfarm.printers.kinds import OCTOPRINT, PrinterKinds
from printfarm.settings import Settings

GATEWAY_URL = "http://acme-behind-nat.printers.invalid"


@pytest.fixture
def gateway_fleet() -> FakePrinterFleet:
    """The printers a second kind ("relay") reaches; the octoprint kind's fleet knows none of them."""
    fleet = FakePrinterFleet()
    fleet.add(GATEWAY_URL, PRINTER_KEY)
    return fleet


@pytest.fixture
def world(database_url: str, tmp_path: Path, gateway_fleet: FakePrinterFleet) -> Iterator[World]:
    fleet = FakePrinterFleet()
    settings = Settings(data_dir=tmp_path / "world", database_url=database_url)
    app = create_app(settings, run_background=False, printer_clients=fleet, printer_kinds={"relay": gateway_fleet})
    world = World(client=TestClient(app, raise_server_exceptions=False), services=app.state.services, fleet=fleet)
    with world.services.db.unit_of_work() as session:
        world.services.profiles.ensure_catalog(session, SYSTEM)
    world.token_for("admin", Role.ADMIN)
    yield seed(world)
    world.close()


def register(world: World, name: str, base_url: str, **extra: object):
    body = {"site_id": world.ids["acme"], "name": name, "base_url": base_url, "api_key": PRINTER_KEY,
            "profile": "prusa-mk3s-0.4", **extra}
    return world.call("admin", "POST", "/api/printers", json=body)


def test_a_printer_registered_without_a_kind_is_octoprint_and_shows_it(world: World) -> None:
    printer = world.ok("admin", "GET", f"/api/printers/{world.ids['acme/mk3-1']}")
    assert printer["kind"] == OCTOPRINT
    assert {p["kind"] for p in world.ok("admin", "GET", "/api/printers")} == {OCTOPRINT}


def test_an_unknown_kind_is_refused_naming_the_known_kinds_and_nothing_is_saved(
    world: World, gateway_fleet: FakePrinterFleet
) -> None:
    before = world.ok("admin", "GET", "/api/printers")
    response = register(world, "klipper-1", GATEWAY_URL, kind="moonraker")
    assert response.status_code == 422
    assert response.json() == {"error": "InputError", "detail": "printer kind 'moonraker' is not one of: gateway, octoprint, relay"}
    assert world.ok("admin", "GET", "/api/printers") == before
    assert gateway_fleet.printers[GATEWAY_URL].calls == []  # refused before any printer was asked


def test_each_printer_is_asked_and_driven_through_its_own_kinds_client(
    world: World, gateway_fleet: FakePrinterFleet
) -> None:
    # the octoprint kind cannot reach this address: registered as octoprint, it is refused
    refused = register(world, "behind-nat", GATEWAY_URL)
    assert refused.status_code == 422 and refused.json()["detail"].startswith(f"printer at {GATEWAY_URL} is unreachable")

    created = register(world, "behind-nat", GATEWAY_URL, kind="relay")
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "relay"
    device = gateway_fleet.printers[GATEWAY_URL]
    assert device.calls == ["GET /api/version"]

    with world.services.db.unit_of_work() as session:
        printer = session.get(Printer, created.json()["id"])
        assert printer is not None
        assert world.services.printers.client_for(printer).printer is device  # type: ignore[attr-defined]

    world.ok("admin", "PATCH", f"/api/printers/{world.ids['acme/mk3-1']}", json={"is_enabled": False})
    world.ok("admin", "PATCH", f"/api/printers/{world.ids['uni/mk3-1']}", json={"is_enabled": False})
    assert world.dispatch().started == 1
    assert len(device.uploads) == 1 and device.state_text == "Printing"


def test_the_registry_needs_its_default_kind_and_names_the_kinds_it_lacks() -> None:
    fleet = FakePrinterFleet()
    with pytest.raises(ConfigError, match="the default printer kind 'octoprint' has no client factory"):
        PrinterKinds({"gateway": fleet})
    kinds = PrinterKinds({OCTOPRINT: fleet})
    assert kinds.names == [OCTOPRINT] and kinds.checked(None) == OCTOPRINT and kinds.factory(OCTOPRINT) is fleet
    undriven = kinds.factory("moonraker")("http://klipper.invalid", "k")
    with pytest.raises(PrinterUnreachable) as caught:
        undriven.check()
    assert str(caught.value) == "printer http://klipper.invalid: printer kind 'moonraker' has no client factory here (kinds: octoprint)"
    for call in (undriven.status, undriven.ensure_connected, undriven.cancel, lambda: undriven.start_print("a.gcode", b"")):
        with pytest.raises(PrinterUnreachable):
            call()


def test_a_printer_of_a_kind_this_process_cannot_drive_goes_offline_and_its_plate_returns(world: World) -> None:
    with world.services.db.unit_of_work() as session:  # registered through a replica wired with more kinds
        printer = session.get(Printer, world.ids["acme/mk3-1"])
        assert printer is not None
        printer.kind = "moonraker"
    result = world.dispatch()
    assert (result.claimed, result.started, result.failed) == (2, 1, 1)
    acme = world.ok("admin", "GET", f"/api/printers/{world.ids['acme/mk3-1']}")
    assert acme["connection"] == "offline" and acme["kind"] == "moonraker" and acme["current_job"] is None
    with world.services.db.unit_of_work() as session:  # its backoff ran out: the health task asks it again
        session.execute(update(Printer).values(retry_after=None))
    assert world.services.health.check_printers() == 0
    assert world.ok("admin", "GET", f"/api/printers/{world.ids['acme/mk3-1']}")["connection"] == "offline"
