"""A full run through the API that touches every secret: printers with distinctive API keys, every
role's token, a revoked token, bad tokens, a refused key, plates printed, tracked and QC-recorded."""

from __future__ import annotations

import secrets
from typing import Any

from support.world import World, seed

from printfarm.auth.rules import Role


def full_run(world: World) -> dict[str, str]:
    """Drive world through the chain; returns every secret it used, by a name for messages."""
    seed(world)
    found: dict[str, str] = {f"token {name}": token for name, token in world.tokens.items()}
    found["printer key fake"] = "fake-api-key"
    for site in ("acme", "uni"):
        key = f"octo-{secrets.token_hex(16)}"
        found[f"printer key {site}/mk3-2"] = key
        url = f"http://{site}-mk3-2.printers.invalid"
        world.fleet.add(url, key)
        world.ok("admin", "POST", "/api/printers", json={
            "site_id": world.ids[site], "name": "mk3-2", "base_url": url, "api_key": key, "profile": "prusa-mk3s-0.4"})
    wrong = f"wrong-{secrets.token_hex(16)}"
    found["a refused printer key"] = wrong
    world.fleet.add("http://acme-mk3-3.printers.invalid", f"octo-{secrets.token_hex(16)}")
    refused = world.call("admin", "POST", "/api/printers", json={
        "site_id": world.ids["acme"], "name": "mk3-3", "base_url": "http://acme-mk3-3.printers.invalid",
        "api_key": wrong, "profile": "prusa-mk3s-0.4"})
    assert refused.status_code == 422, refused.text
    extra = world.ok("admin", "POST", "/api/tokens", json={"name": "to revoke", "role": "viewer"})
    world.tokens["revoked"] = found["token revoked"] = extra["token"]
    world.ok("admin", "POST", f"/api/tokens/{extra['id']}/revoke")
    assert world.call("revoked", "GET", "/api/me").status_code == 401
    for _ in range(25):  # enough bad tokens to trip the limiter and log it
        world.client.get("/api/me", headers={"Authorization": f"Bearer pf_{secrets.token_hex(8)}"})
    world.token_for("late operator", Role.OPERATOR, world.ids["acme"])
    found["token late operator"] = world.tokens["late operator"]

    world.dispatch()
    for job in world.ok("admin", "GET", "/api/jobs"):
        if job["state"] != "printing":
            continue
        name = job["remote_filename"]
        world.publish(job["printer_id"], "progress/printing", {"location": "local", "path": name, "progress": 50})
        world.publish(job["printer_id"], "event/PrintDone", {"name": name, "path": name, "origin": "local"})
        world.ok("admin", "POST", f"/api/printers/{job['printer_id']}/clear-bed", json={"good_units": 4})
    world.dispatch()
    return found


def get_paths(world: World) -> list[str]:
    """Every GET path: the API's from its OpenAPI schema, pages (outside the schema) from the routers."""
    schema = world.client.get("/openapi.json").json()
    paths = [path for path, operations in schema["paths"].items() if "get" in operations]
    for route in world.client.app.routes:
        router = getattr(route, "original_router", None)  # an included router (mounted at no prefix for pages)
        for inner in getattr(router, "routes", []):
            if "GET" in (getattr(inner, "methods", None) or set()) and not getattr(inner, "include_in_schema", True):
                paths.append(inner.path)
    return paths


def get_every_page(world: World) -> list[Any]:
    """Every GET route of the app (API, exports, pages) as admin, ids filled with 1 and 2."""
    responses = []
    world.client.cookies.set("printfarm_token", world.tokens["admin"])
    try:
        for template in get_paths(world):
            for filler in ("1", "2"):
                path = template
                while "{" in path:
                    start = path.index("{")
                    path = path[:start] + filler + path[path.index("}", start) + 1:]
                responses.append(world.call("admin", "GET", path))
    finally:
        world.client.cookies.clear()
    return responses
