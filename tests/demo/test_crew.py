"""The demo's simulated operators leave a finished plate on its bed long enough for a person."""

from __future__ import annotations

import datetime as dt
import random

from support.world import make_world, seed

from printfarm.clock import FrozenClock
from printfarm.demo.crew import clear_beds

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def test_simulated_operators_take_a_plate_off_only_after_it_waited_for_a_person(database_url, tmp_path):
    clock = FrozenClock(NOW)
    world = seed(make_world(database_url, tmp_path / "world", clock=clock))
    try:
        world.dispatch()
        printer = world.ids["acme/mk3-1"]
        [job] = world.ok("viewer", "GET", "/api/jobs", params={"printer_id": printer})
        world.publish(printer, "event/PrintDone", {"name": job["remote_filename"], "path": job["remote_filename"]})

        clock.advance(19)
        clear_beds(world.services, 0.0, random.Random(1), wait_seconds=20)
        assert world.ok("viewer", "GET", f"/api/jobs/{job['id']}")["state"] == "finished"  # still the person's

        clock.advance(1)
        clear_beds(world.services, 0.0, random.Random(1), wait_seconds=20)
        assert world.ok("viewer", "GET", f"/api/jobs/{job['id']}")["state"] == "completed"
        assert world.ok("viewer", "GET", f"/api/printers/{printer}")["is_bed_clear"] is True
    finally:
        world.close()
