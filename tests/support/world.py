"""A printfarm app over fake printers, with one token per role and a seeded world, for API tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from printfarm.adapters.octoprint.fake import FakePrinterFleet
from printfarm.app import create_app
from printfarm.auth.rules import SYSTEM, Role
from printfarm.clock import Clock
from printfarm.demo.gcode import plate_gcode
from printfarm.services import Services
from printfarm.settings import Settings

PRINTER_KEY = "fake-api-key"


@dataclass
class World:
    client: TestClient
    services: Services
    fleet: FakePrinterFleet
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def close(self) -> None:
        self.client.close()
        self.services.db.dispose()

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def ok(self, who: str, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(who, method, path, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def token_for(self, name: str, role: Role, site_id: int | None = None, hospital_id: int | None = None) -> str:
        with self.services.db.unit_of_work() as session:
            plain, _ = self.services.tokens.create(
                session, SYSTEM, role=role, name=name, site_id=site_id, hospital_id=hospital_id
            )
        self.tokens[name] = plain
        return plain

    def publish(self, printer_id: int, suffix: str, payload: Any) -> None:
        """Hand one OctoPrint-MQTT message to tracking, as the ingest thread would."""
        topic = self.ok("admin", "GET", f"/api/printers/{printer_id}")["mqtt_base_topic"] + suffix
        body = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.services.tracking.apply_raw([(topic, body)])

    def dispatch(self) -> Any:
        return self.services.dispatch.run_pass()

    def add_printer(self, site: str, name: str, who: str = "admin", **extra: Any) -> int:
        url = f"http://{site}-{name}.printers.invalid"
        self.fleet.add(url, PRINTER_KEY)
        body = {"site_id": self.ids[site], "name": name, "base_url": url, "api_key": PRINTER_KEY,
                "profile": "prusa-mk3s-0.4", **extra}
        printer = self.ok(who, "POST", "/api/printers", json=body)
        self.ids[f"{site}/{name}"] = printer["id"]
        return int(printer["id"])


def make_world(database_url: str, data_dir: Path, clock: Clock | None = None) -> World:
    fleet = FakePrinterFleet()
    settings = Settings(data_dir=data_dir, database_url=database_url)
    app = create_app(settings, run_background=False, printer_clients=fleet, clock=clock)
    world = World(client=TestClient(app, raise_server_exceptions=False), services=app.state.services, fleet=fleet)
    with world.services.db.unit_of_work() as session:
        world.services.profiles.ensure_catalog(session, SYSTEM)
    world.token_for("admin", Role.ADMIN)
    return world


def seed(world: World, units: int = 8) -> World:
    """Two sites with a printer each, a hospital, an approved part with a 4-unit print file, a batch."""
    for site in ("acme", "uni"):
        world.ids[site] = world.ok("admin", "POST", "/api/sites", json={"name": site})["id"]
    world.token_for("coordinator", Role.COORDINATOR)
    world.token_for("viewer", Role.VIEWER)
    world.token_for("operator_acme", Role.OPERATOR, world.ids["acme"])
    world.token_for("operator_uni", Role.OPERATOR, world.ids["uni"])
    world.add_printer("acme", "mk3-1", who="operator_acme")
    world.add_printer("uni", "mk3-1", who="operator_uni")
    world.ids["hospital"] = world.ok("admin", "POST", "/api/hospitals", json={"name": "Sahlgrenska"})["id"]
    world.token_for("hospital", Role.HOSPITAL, hospital_id=world.ids["hospital"])
    part = world.ok("coordinator", "POST", "/api/parts", data={"name": "RC3 headband"})
    world.ids["part"] = part["id"]
    world.ok("coordinator", "POST", f"/api/parts/{part['id']}/approve")
    world.ok(
        "coordinator", "POST", f"/api/parts/{part['id']}/print-files",
        data={"profile": "prusa-mk3s-0.4", "units_per_print": "4"},
        files={"gcode": ("rc3-x4.gcode", plate_gcode(units=4), "text/x.gcode")},
    )
    batch = world.ok(
        "coordinator", "POST", "/api/batches",
        json={"part_id": part["id"], "hospital_id": world.ids["hospital"], "quantity": units, "priority": 5},
    )
    world.ids["batch"] = batch["id"]
    return world
