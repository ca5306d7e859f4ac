"""The central side of the gateway: plates served only against their credential; gateway printers' rows."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.world import World, make_world, seed

from printfarm.demo.gcode import plate_gcode

SHA = hashlib.sha256(plate_gcode(units=4)).hexdigest()  # seed()'s print file


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    world = seed(make_world(database_url, tmp_path / "world"))
    yield world
    world.close()


def plate(world: World, file_name: str, credential: str | None):
    headers = {"X-Plate-Credential": credential} if credential is not None else {}
    return world.client.get(f"/api/gateway/plates/{file_name}", headers=headers)


def test_a_plate_is_served_to_its_credential_and_refused_to_any_other(world: World) -> None:
    credentials = world.services.plate_credentials
    name = "pf-1-rc3_headband.gcode"
    good = credentials.issue(name, SHA, int(time.time()) + 60)
    served = plate(world, name, good)
    assert served.status_code == 200 and served.content == plate_gcode(units=4)

    refusals = {
        "none": plate(world, name, None),
        "expired": plate(world, name, credentials.issue(name, SHA, int(time.time()) - 5)),
        "another plate": plate(world, "pf-2-rc3_headband.gcode", good),
        "tampered": plate(world, name, good[:-1] + ("0" if good[-1] != "0" else "1")),
    }
    assert {why: r.status_code for why, r in refusals.items()} == dict.fromkeys(refusals, 403)
    details = {why: r.json()["detail"] for why, r in refusals.items()}
    assert details["none"] == f"plate {name}: no plate credential (header X-Plate-Credential)"
    assert details["expired"].startswith(f"plate {name}: the plate credential for '{name}' expired ")
    assert details["another plate"] == ("plate pf-2-rc3_headband.gcode: the plate credential is not valid for "
                                        "'pf-2-rc3_headband.gcode' (another plate, or altered)")
    assert details["tampered"] == f"plate {name}: the plate credential is not valid for '{name}' (another plate, or altered)"
    assert all(r.json()["error"] == "Forbidden" and b"G1" not in r.content for r in refusals.values())


def register(world: World, **body: object):
    return world.call("admin", "POST", "/api/printers", json={
        "site_id": world.ids["acme"], "name": "gw-1", "profile": "prusa-mk3s-0.4", **body,
    })


def test_a_gateway_printer_keeps_no_key_and_has_its_sites_address(world: World) -> None:
    before = world.ok("admin", "GET", "/api/printers")
    with_key = register(world, kind="gateway", api_key="secret")
    assert with_key.status_code == 422
    assert "a gateway printer's API key stays at its site" in with_key.json()["detail"][0]["msg"]
    http_url = register(world, kind="gateway", base_url="http://10.0.0.5")
    assert http_url.status_code == 422
    assert "a gateway printer's address is gateway://<site-slug>/<printer name>" in http_url.json()["detail"][0]["msg"]
    no_key = register(world, base_url="http://10.0.0.5")
    assert no_key.status_code == 422
    assert "api_key: required for a printer of kind octoprint" in no_key.json()["detail"][0]["msg"]
    # no broker yet (the embedded one starts with the runtime): refused, saying so
    unwired = register(world, kind="gateway")
    assert unwired.json() == {"error": "InputError", "detail": "printer at gateway://acme/gw-1 is unreachable: printer "
                              "gw-1 at site acme (through its gateway): no MQTT broker to reach gateways through yet"}
    assert world.ok("admin", "GET", "/api/printers") == before


def test_a_gateway_printer_is_asked_through_its_kinds_client_and_stored_without_its_lan_address(
    database_url: str, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from printfarm.adapters.octoprint.fake import FakePrinterFleet
    from printfarm.app import create_app
    from printfarm.auth.rules import SYSTEM, Role
    from printfarm.settings import Settings

    through_gateway = FakePrinterFleet()  # stands for the gateway kind's client (tests/gateway/test_link.py has the real one)
    device = through_gateway.add("gateway://acme/gw-1", "")
    app = create_app(Settings(data_dir=tmp_path, database_url=database_url), run_background=False,
                     printer_clients=FakePrinterFleet(), printer_kinds={"gateway": through_gateway})
    world = World(client=TestClient(app, raise_server_exceptions=False), services=app.state.services,
                  fleet=through_gateway)
    try:
        with world.services.db.unit_of_work() as session:
            world.services.profiles.ensure_catalog(session, SYSTEM)
        world.token_for("admin", Role.ADMIN)
        world.ids["acme"] = world.ok("admin", "POST", "/api/sites", json={"name": "ACME"})["id"]
        elsewhere = register(world, kind="gateway", base_url="gateway://uni/gw-1")
        assert elsewhere.json() == {"error": "InputError", "detail": f"printer 'gw-1' of site {world.ids['acme']} is "
                                    "reached through its site's gateway at gateway://acme/gw-1, not gateway://uni/gw-1"}
        assert device.calls == []
        created = register(world, kind="gateway")
        assert created.status_code == 201, created.text
        row = created.json()
        assert (row["kind"], row["base_url"], row["mqtt_base_topic"]) == ("gateway", "gateway://acme/gw-1",
                                                                          "printfarm/acme/gw-1/")
        assert device.calls == ["GET /api/version"]
    finally:
        world.close()


def test_with_the_embedded_broker_a_gateway_printer_registers_through_an_in_process_gateway(
    database_url: str, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from printfarm.adapters.octoprint.fake import FakePrinterFleet
    from printfarm.app import create_app
    from printfarm.auth.rules import SYSTEM, Role
    from printfarm.gateway import Gateway, GatewayConfig, GatewayPrinter
    from printfarm.settings import Settings

    lan = FakePrinterFleet()
    lan.add("http://192.168.1.20", "lan-key")
    app = create_app(Settings(data_dir=tmp_path, database_url=database_url, mqtt_ingest_worker="thread"))
    with TestClient(app) as client:  # the runtime starts the embedded broker (MQTT 3.1.1 only)
        runtime = app.state.runtime
        gateway = Gateway(GatewayConfig(
            site="acme", mqtt_url=f"mqtt://127.0.0.1:{runtime.mqtt_port}", mqtt_protocol="3.1.1",
            central_url="http://127.0.0.1:1", state_dir=tmp_path / "gateway",
            printers=[GatewayPrinter(name="gw-1", url="http://192.168.1.20", api_key="lan-key")],
        ), client_factory=lan)
        try:
            assert gateway.start(wait_connected_seconds=10)
            services = app.state.services
            with services.db.unit_of_work() as session:
                services.profiles.ensure_catalog(session, SYSTEM)
                admin, _ = services.tokens.create(session, SYSTEM, role=Role.ADMIN, name="t")
            headers = {"Authorization": f"Bearer {admin}"}
            site = client.post("/api/sites", json={"name": "ACME"}, headers=headers).json()["id"]
            created = client.post("/api/printers", headers=headers, json={
                "site_id": site, "name": "gw-1", "kind": "gateway", "profile": "prusa-mk3s-0.4"})
            assert created.status_code == 201, created.text
            assert lan.printers["http://192.168.1.20"].calls == ["GET /api/version"]
        finally:
            gateway.stop()
