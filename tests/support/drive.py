"""Helpers for delivery tests: print plates of a batch through the fake fleet with chosen QC results."""

from __future__ import annotations

import csv
import io
from typing import Any

from support.world import World

SITES = ("acme", "uni")


def finish_printing_plates(world: World, rejected: dict[str, list[int]]) -> dict[str, int]:
    """Dispatch, finish every printing plate (PrintDone over MQTT) and clear its bed.

    rejected[site] is consumed one plate at a time (the units rejected on that site's next plate;
    0 once empty). Returns the good units recorded per site in this round.
    """
    world.dispatch()
    good: dict[str, int] = {}
    for site in SITES:
        printer_id = world.ids[f"{site}/mk3-1"]
        jobs = world.ok("viewer", "GET", "/api/jobs", params={"printer_id": printer_id, "state": "printing"})
        for job in jobs:
            done = {"name": job["remote_filename"], "path": job["remote_filename"], "origin": "local", "_timestamp": 1}
            world.fleet.printers[f"http://{site}-mk3-1.printers.invalid"].finish_print()
            world.publish(printer_id, "event/PrintDone", done)
            bad = rejected[site].pop(0) if rejected.get(site) else 0
            cleared = world.ok(f"operator_{site}", "POST", f"/api/printers/{printer_id}/clear-bed",
                               json={"good_units": job["units_per_print"] - bad, "rejected_units": bad})
            good[site] = good.get(site, 0) + cleared["good_units"]
    return good


def csv_rows(text: str) -> list[dict[str, Any]]:
    return list(csv.DictReader(io.StringIO(text)))


def snapshot(world: World) -> dict[str, Any]:
    """Everything a refused request must leave unchanged."""
    return {
        "stock": world.ok("admin", "GET", "/api/stock"),
        "deliveries": world.ok("admin", "GET", "/api/deliveries"),
        "requests": world.ok("admin", "GET", "/api/requests"),
        "audit": len(world.ok("admin", "GET", "/api/audit", params={"limit": 1000})),
    }
