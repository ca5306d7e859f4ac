"""Dashboard counts read from indexes and rollups agree with the rows they summarise; keyset pages of printers."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
import sqlalchemy as sa

from printfarm.auth.rules import SYSTEM
from printfarm.db.tables import Output, OutputBySite, Printer, PrintJob
from printfarm.jobs.rules import ACTIVE, JobState
from printfarm.metrics.repository import figures
from printfarm.metrics.rules import busy_printer_status, printer_status
from printfarm.web.pages import templates
from support.world import World, seed


def test_a_busy_printer_card_depends_on_its_connection_and_job_only():
    for connection, enabled, bed_clear, state in itertools.product(("online", "offline", "unknown"), (True, False), (True, False), ACTIVE):
        assert busy_printer_status(connection, state) is printer_status(connection, enabled, bed_clear, state)
    with pytest.raises(ValueError, match="completed is not an active job state"):
        busy_printer_status("online", JobState.COMPLETED)


def farm_in_every_state(world: World) -> None:
    """Printers idle, printing, finished, failed, offline with and without a plate, disabled, bed flagged."""
    for n in range(2, 8):
        world.add_printer("acme", f"mk3-{n}")
    world.dispatch()  # 3 plates of 4 units for 12 units: three printers get one
    jobs = [j for j in world.ok("admin", "GET", "/api/jobs") if j["state"] == "printing"]
    assert len(jobs) == 3
    done, failed = jobs[0], jobs[1]
    world.publish(done["printer_id"], "event/PrintDone", {"_event": "PrintDone", "name": done["remote_filename"],
                                                          "path": done["remote_filename"], "_timestamp": 9})
    world.publish(failed["printer_id"], "event/PrintFailed", {"_event": "PrintFailed", "name": failed["remote_filename"],
                                                              "path": failed["remote_filename"], "reason": "error", "_timestamp": 9})
    with world.services.db.unit_of_work() as session:
        flags = {"acme/mk3-5": {"connection": "offline"}, "acme/mk3-6": {"is_enabled": False},
                 "acme/mk3-7": {"is_bed_clear": False}, "uni/mk3-1": {"connection": "unknown", "is_enabled": False}}
        for name, values in flags.items():
            session.execute(sa.update(Printer).where(Printer.id == world.ids[name]).values(**values))
        busy = jobs[2]["printer_id"]  # its plate is still printing while the printer drops off
        session.execute(sa.update(Printer).where(Printer.id == busy).values(connection="offline"))


def test_printer_counts_equal_the_cards_they_summarise_overall_and_per_site(new_world):
    world = seed(new_world(), units=12)
    farm_in_every_state(world)
    dashboard = world.services.dashboard
    with world.services.db.unit_of_work() as session:
        for site_id in (None, world.ids["acme"], world.ids["uni"]):
            wall = dashboard.printer_wall(session, SYSTEM, site_id=site_id, per_page=100)
            cards = Counter(card.status for card in wall.printers)
            assert {k: v for k, v in wall.by_status.items() if v} == dict(cards)
        overview = dashboard.overview(session, SYSTEM)
        everyone = Counter(card.status for card in dashboard.printer_wall(session, SYSTEM, per_page=100).printers)
    assert {k: v for k, v in overview.printers_by_status.items() if v} == dict(everyone) == {
        "bed-not-clear": 3, "offline": 2, "maintenance": 1, "idle": 2,
    }
    assert sum(everyone.values()) == 8


def test_jobs_by_state_and_site_totals_equal_plain_sums_over_every_row(new_world):
    world = seed(new_world(), units=12)
    farm_in_every_state(world)
    finished = next(j for j in world.ok("admin", "GET", "/api/jobs") if j["state"] == "finished")
    printer = world.ok("admin", "GET", f"/api/printers/{finished['printer_id']}")
    operator = "operator_acme" if printer["site_id"] == world.ids["acme"] else "operator_uni"
    world.ok(operator, "POST", f"/api/printers/{printer['id']}/clear-bed", json={"good_units": 3, "rejected_units": 1})
    with world.services.db.unit_of_work() as session:
        plain = {s.value: n for s, n in session.execute(sa.select(PrintJob.state, sa.func.count()).group_by(PrintJob.state))}
        assert figures.jobs_by_state(session) == plain == {"completed": 1, "failed": 1, "printing": 1}
        per_site = session.execute(sa.select(Output.site_id, sa.func.sum(Output.good_units), sa.func.sum(Output.rejected_units),
                                             sa.func.count()).group_by(Output.site_id)).all()
        rollup = session.execute(sa.select(OutputBySite.site_id, OutputBySite.good_units, OutputBySite.rejected_units,
                                           OutputBySite.plates)).all()
        assert [tuple(r) for r in rollup] == [tuple(r) for r in per_site] == [(printer["site_id"], 3, 1, 1)]
    units = {s["site_id"]: (s["good_units"], s["rejected_units"]) for s in world.ok("viewer", "GET", "/api/stats/units-per-site")}
    assert units == {world.ids["acme"]: (3, 1) if printer["site_id"] == world.ids["acme"] else (0, 0),
                     world.ids["uni"]: (3, 1) if printer["site_id"] == world.ids["uni"] else (0, 0)}
    totals = world.ok("viewer", "GET", "/api/stats/totals")
    overview = world.ok("viewer", "GET", "/api/dashboard")["totals"]
    assert (totals["good_units"], totals["rejected_units"], totals["in_production_units"]) == (
        overview["good_units"], overview["rejected_units"], overview["in_production_units"]) == (3, 1, 4)


def test_printer_pages_after_the_last_or_before_the_first_printer_seen_equal_numbered_pages(new_world):
    world = seed(new_world())
    for n in range(2, 9):
        world.add_printer("acme" if n % 2 else "uni", f"mk3-{n}")
    dashboard = world.services.dashboard
    with world.services.db.unit_of_work() as session:
        numbered = [[c.id for c in dashboard.printer_wall(session, SYSTEM, page=p, per_page=3).printers] for p in (1, 2, 3)]
        walked, after, page = [], None, 1
        while True:
            wall = dashboard.printer_wall(session, SYSTEM, page=page, per_page=3, after=after)
            walked.append([c.id for c in wall.printers])
            if wall.next_after is None:
                break
            after, page = wall.next_after, page + 1
        assert walked == numbered and sorted(sum(walked, [])) == sorted(world.ids[k] for k in world.ids if "/" in k)
        back, before = [], None
        while True:  # from the last page back by the previous links: the first printer seen on each page
            wall = dashboard.printer_wall(session, SYSTEM, page=page, per_page=3, before=before)
            back.append([c.id for c in wall.printers])
            if wall.previous_before is None:
                break
            before, page = wall.previous_before, page - 1
        assert back == numbered[::-1] and page == 1
        gone = dashboard.printer_wall(session, SYSTEM, page=2, per_page=3, after=2_000_000)  # no such printer: page 2
        assert [c.id for c in gone.printers] == numbered[1]
        gone = dashboard.printer_wall(session, SYSTEM, page=2, per_page=3, before=2_000_000)
        assert [c.id for c in gone.printers] == numbered[1]
        # printers were added at the front since the link was drawn: the first page, whole
        start = dashboard.printer_wall(session, SYSTEM, page=3, per_page=3, before=numbered[0][1])
        assert [c.id for c in start.printers] == numbered[0] and start.page == 1 and start.previous_before is None
        first = dashboard.printer_wall(session, SYSTEM, page=1, per_page=3)
        second = dashboard.printer_wall(session, SYSTEM, page=2, per_page=3, after=numbered[0][-1])
    pager = templates.get_template("pager.html").render(wall=first, base="/printers?site=&")
    assert f'href="/printers?site=&amp;page=2&amp;after={numbered[0][-1]}" rel="next"' in pager and 'rel="prev"' not in pager
    pager = templates.get_template("pager.html").render(wall=second, base="/printers?site=&")
    assert f'href="/printers?site=&amp;page=1&amp;before={numbered[1][0]}" rel="prev"' in pager
    world.client.cookies.set("printfarm_token", world.tokens["viewer"])
    assert world.client.get(f"/printers?site=&page=2&after={numbered[0][-1]}").status_code == 200
    assert world.client.get(f"/printers?site=&page=1&before={numbered[1][0]}").status_code == 200
    assert world.client.get("/printers?site=&after=0").status_code == 422
    assert world.client.get("/printers?site=&before=0").status_code == 422
