"""Dashboard read models: the rollups equal the Output rows, /metrics speaks Prometheus, the card rules."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from printfarm.db.tables import Output, OutputByBatch, OutputBySite, OutputDaily
from printfarm.jobs.rules import JobState
from printfarm.output.repository import rebuild_rollups
from printfarm.metrics.rules import PrinterStatus, clamp_page, duration_text, printer_status, time_left_seconds
from printfarm.metrics.timing import DurationStats, timed
from support.world import World, seed


def finish_and_clear(world: World, good: dict[str, int]) -> None:
    world.dispatch()
    for job in world.ok("admin", "GET", "/api/jobs"):
        if job["state"] == "printing":
            name = job["remote_filename"]
            printer = world.ok("admin", "GET", f"/api/printers/{job['printer_id']}")
            world.fleet.printers[printer["base_url"]].finish_print()
            world.publish(job["printer_id"], "event/PrintDone", {"_event": "PrintDone", "name": name, "path": name, "_timestamp": 9})
    for site, units in good.items():
        world.ok(f"operator_{site}", "POST", f"/api/printers/{world.ids[site + '/mk3-1']}/clear-bed",
                 json={"good_units": units, "rejected_units": 4 - units})


def rollups(world: World) -> tuple[list[tuple[int, dt.date, int, int, int]], list[tuple[int, int, int, int]]]:
    with world.services.db.unit_of_work() as session:
        daily = session.execute(sa.select(OutputDaily.site_id, OutputDaily.day, OutputDaily.good_units,
                                          OutputDaily.rejected_units, OutputDaily.plates).order_by(OutputDaily.site_id)).all()
        batch = session.execute(sa.select(OutputByBatch.batch_id, OutputByBatch.good_units,
                                          OutputByBatch.rejected_units, OutputByBatch.plates)).all()
    return [tuple(r) for r in daily], [tuple(r) for r in batch]


def test_rollups_are_the_sums_of_the_output_rows_and_a_rebuild_agrees(new_world):
    world = seed(new_world(), units=16)
    finish_and_clear(world, {"acme": 3, "uni": 4})
    finish_and_clear(world, {"acme": 4})
    daily, batch = rollups(world)
    with world.services.db.unit_of_work() as session:
        sums = session.execute(sa.select(Output.site_id, sa.func.sum(Output.good_units), sa.func.sum(Output.rejected_units),
                                         sa.func.count()).group_by(Output.site_id).order_by(Output.site_id)).all()
    assert [(s, g, r, n) for s, _, g, r, n in daily] == [tuple(row) for row in sums] == [
        (world.ids["acme"], 7, 1, 2), (world.ids["uni"], 4, 0, 1)
    ]
    assert batch == [(world.ids["batch"], 11, 1, 3)]
    with world.services.db.unit_of_work() as session:
        by_site = session.execute(sa.select(OutputBySite.site_id, OutputBySite.good_units, OutputBySite.rejected_units,
                                            OutputBySite.plates).order_by(OutputBySite.site_id)).all()
        assert [tuple(r) for r in by_site] == [tuple(row) for row in sums]
        rebuild_rollups(session)
    assert rollups(world) == (daily, batch)
    with world.services.db.unit_of_work() as session:
        assert session.execute(sa.select(OutputBySite.site_id, OutputBySite.good_units, OutputBySite.rejected_units,
                                         OutputBySite.plates).order_by(OutputBySite.site_id)).all() == by_site
    overview = world.ok("viewer", "GET", "/api/dashboard")
    assert overview["totals"]["good_units"] == world.ok("viewer", "GET", "/api/stats/totals")["good_units"] == 11


def test_metrics_are_prometheus_text_for_any_token_and_401_without(new_world):
    world = seed(new_world())
    finish_and_clear(world, {"acme": 3})
    world.publish(world.ids["uni/mk3-1"], "event/PrintDone", "not json")
    assert world.client.get("/metrics").status_code == 401
    response = world.call("viewer", "GET", "/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = set(response.text.splitlines())
    acme = world.ids["acme"]
    assert f'printfarm_good_units_total{{site_id="{acme}",site="acme"}} 3' in lines
    assert f'printfarm_rejected_units_total{{site_id="{acme}",site="acme"}} 1' in lines
    assert 'printfarm_jobs{state="completed"} 1' in lines and 'printfarm_jobs{state="finished"} 1' in lines
    assert 'printfarm_printers{status="bed-not-clear"} 1' in lines and 'printfarm_printers{status="idle"} 1' in lines
    assert "printfarm_mqtt_messages_received_total 3" in lines
    assert any(line.startswith("printfarm_mqtt_messages_dropped_total{reason=") for line in lines)
    assert "# TYPE printfarm_dispatch_pass_seconds summary" in lines


def test_timed_work_is_counted_even_when_it_raises():
    stats = DurationStats()
    assert timed(stats, lambda: 42)() == 42

    def broken() -> None:
        raise RuntimeError("printer gone")

    try:
        timed(stats, broken)()
    except RuntimeError:
        pass
    count, total, last, longest = stats.snapshot()
    assert count == 2 and 0 <= last <= longest <= total


def test_a_card_shows_the_most_pressing_state():
    assert printer_status("online", True, True, JobState.FINISHED) is PrinterStatus.BED_NOT_CLEAR
    assert printer_status("offline", True, False, None) is PrinterStatus.BED_NOT_CLEAR
    assert printer_status("offline", True, True, JobState.PRINTING) is PrinterStatus.OFFLINE
    assert printer_status("online", False, True, JobState.PRINTING) is PrinterStatus.PRINTING
    assert printer_status("online", False, True, None) is PrinterStatus.MAINTENANCE
    assert printer_status("online", True, True, JobState.UPLOADING) is PrinterStatus.STARTING
    assert printer_status("online", True, True, None) is PrinterStatus.IDLE


def test_time_left_follows_the_pace_once_moving_and_the_estimate_before():
    now = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)
    assert time_left_seconds(25, now - dt.timedelta(minutes=30), now, 7200) == 5400
    assert time_left_seconds(0, now, now, 7200) == 7200
    assert time_left_seconds(0, None, now, None) is None
    assert time_left_seconds(100, now, now, None) == 0
    assert (duration_text(5400), duration_text(600), duration_text(30), duration_text(None)) == ("1 h 30 min", "10 min", "< 1 min", "")
    assert (clamp_page(0, 100, 48), clamp_page(9, 100, 48), clamp_page(1, 0, 48)) == (1, 3, 1)
