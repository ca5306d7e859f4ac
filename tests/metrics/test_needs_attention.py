"""Which printers need attention is defined once: the card rule, the predicate and the wall's SQL filter agree."""

from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa

from printfarm.auth.rules import SYSTEM
from printfarm.db.tables import PrintFile, Printer, PrintJob
from printfarm.jobs.rules import ACTIVE, JobState
from printfarm.metrics.repository import wall
from printfarm.metrics.rules import NEEDS_ATTENTION, needs_attention, printer_status
from printfarm.printers.rules import ConnectionState
from support.world import seed

JOB_STATES: list[JobState | None] = [None, *sorted(ACTIVE)]


def test_a_printer_needs_attention_exactly_when_its_card_shows_an_attention_status():
    for connection, enabled, bed_clear, state in itertools.product(ConnectionState, (True, False), (True, False), JOB_STATES):
        status = printer_status(connection, enabled, bed_clear, state)
        assert needs_attention(connection, bed_clear, state) is (status in NEEDS_ATTENTION), (connection, bed_clear, state)


def test_the_wall_filter_in_sql_picks_the_printers_the_python_rule_picks_on_a_table_of_every_case(new_world):
    world = seed(new_world())
    now = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
    cases = list(itertools.product(ConnectionState, (True, False), JOB_STATES))
    with world.services.db.unit_of_work() as session:
        model = session.get(Printer, world.ids["acme/mk3-1"])
        assert model is not None
        print_file_id = session.scalar(sa.select(PrintFile.id).where(PrintFile.part_id == world.ids["part"]))
        for n, (connection, bed_clear, state) in enumerate(cases):
            printer = Printer(
                site_id=model.site_id, profile_id=model.profile_id, name=f"case-{n}", base_url=f"http://case-{n}.invalid",
                api_key_encrypted=model.api_key_encrypted, mqtt_base_topic=f"cases/{n}/", is_enabled=n % 2 == 0,
                is_bed_clear=bed_clear, connection=connection, created_at=now,
            )
            session.add(printer)
            session.flush()
            if state is not None:
                session.add(PrintJob(batch_id=world.ids["batch"], printer_id=printer.id, print_file_id=print_file_id,
                                     units_per_print=4, state=state, created_at=now, updated_at=now))
        session.flush()
        active = dict(session.execute(sa.select(PrintJob.printer_id, PrintJob.state).where(PrintJob.state.in_(ACTIVE))).all())
        printers = session.execute(sa.select(Printer.id, Printer.connection, Printer.is_bed_clear)).all()
        expected = {i for i, connection, bed_clear in printers if needs_attention(connection, bed_clear, active.get(i))}
        assert len(printers) == len(cases) + 2 and 0 < len(expected) < len(printers)

        picked = {line.printer.id for line in wall.printer_lines(session, None, True, 0, 1000)}
        assert picked == expected
        assert wall.wall_counts(session, None, True)[0] == len(expected)
        page = world.services.dashboard.printer_wall(session, SYSTEM, needs_attention=True, per_page=1000)
        assert {card.id for card in page.printers} == expected
        assert {card.status for card in page.printers} <= NEEDS_ATTENTION
        everyone = world.services.dashboard.printer_wall(session, SYSTEM, per_page=1000)
        assert {card.id for card in everyone.printers if card.status in NEEDS_ATTENTION} == expected
