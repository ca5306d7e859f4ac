"""Claims of a pass: written by one statement with ids after every job and names embedding them; replicas take turns."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from printfarm.db.session import Database, make_engine
from printfarm.db.tables import PrintFile, PrintJob
from printfarm.dispatch import repository
from printfarm.jobs.rules import JobState, remote_filename
from support.world import World, seed


def print_file_id(world: World) -> int:
    with world.services.db.unit_of_work() as session:
        return int(session.scalar(select(PrintFile.id)) or 0)


def jobs(world: World) -> list[tuple[int, int, str | None, JobState]]:
    with world.services.db.unit_of_work() as session:
        rows = session.execute(
            select(PrintJob.id, PrintJob.printer_id, PrintJob.remote_filename, PrintJob.state).order_by(PrintJob.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_claims_get_ids_after_every_job_and_file_names_embedding_them(new_world):
    world = seed(new_world(), units=80)
    for n in (2, 3, 4):
        world.add_printer("uni", f"mk3-{n}")
    first = world.dispatch()
    assert (first.claimed, first.started) == (5, 5)
    claimed = jobs(world)
    assert len({job_id for job_id, *_ in claimed}) == 5
    assert {printer for _, printer, *_ in claimed} == {world.ids[k] for k in ("acme/mk3-1", "uni/mk3-1")} | {
        world.ids[f"uni/mk3-{n}"] for n in (2, 3, 4)
    }
    assert all(name == remote_filename(job_id, "RC3 headband") for job_id, _, name, _ in claimed)

    # a job written another way (one ORM row) takes the next id; the next pass's claims come after it
    now = world.services.clock.now()
    with world.services.db.unit_of_work() as session:
        other = PrintJob(batch_id=world.ids["batch"], printer_id=world.ids["acme/mk3-1"], print_file_id=print_file_id(world),
                         units_per_print=4, state=JobState.CANCELLED, progress_percent=0, created_at=now, updated_at=now)
        session.add(other)
        session.flush()
        other_id = other.id
    assert other_id > max(job_id for job_id, *_ in claimed)
    world.add_printer("acme", "mk3-2")
    world.add_printer("acme", "mk3-3")
    second = world.dispatch()
    assert (second.claimed, second.started) == (2, 2)
    new = [job for job in jobs(world) if job[0] > other_id]
    assert [printer for _, printer, *_ in new] == [world.ids["acme/mk3-2"], world.ids["acme/mk3-3"]]
    assert all(name == remote_filename(job_id, "RC3 headband") and state is JobState.PRINTING
               for job_id, _, name, state in new)


def test_a_pass_claims_no_more_than_a_batch_still_needs_after_qc(new_world):
    """Good units come from the output_by_batch rollup, units in production from active jobs."""
    world = seed(new_world(), units=6)  # two plates of 4: 8 units in production, 6 wanted
    assert world.dispatch().claimed == 2
    acme = world.ok("viewer", "GET", "/api/jobs", params={"printer_id": world.ids["acme/mk3-1"]})[0]
    printer_id = world.ids["acme/mk3-1"]
    world.publish(printer_id, "event/PrintDone", {"name": acme["remote_filename"], "path": acme["remote_filename"],
                                                  "origin": "local", "_timestamp": 1})
    world.ok("operator_acme", "POST", f"/api/printers/{printer_id}/clear-bed", json={"good_units": 4, "rejected_units": 0})
    assert world.dispatch().claimed == 0  # 4 good + 4 printing ≥ 6
    world.add_printer("acme", "mk3-2")
    assert world.dispatch().claimed == 0  # an idle printer changes nothing while the batch is covered


def test_a_second_replicas_claim_transaction_waits_for_the_first_on_postgresql(postgres_migrated: str):
    engine = make_engine(postgres_migrated)
    try:
        db = Database(engine)
        with db.unit_of_work() as first:
            repository.serialize_claims(first)
            with engine.connect() as other:
                other.execute(text("SET lock_timeout = '200ms'"))
                with pytest.raises(OperationalError, match="lock timeout"):
                    other.execute(select(func.pg_advisory_xact_lock(repository.CLAIM_LOCK_KEY)))
                other.rollback()
        with engine.connect() as other:  # the first committed: the lock is free
            other.execute(text("SET lock_timeout = '200ms'"))
            other.execute(select(func.pg_advisory_xact_lock(repository.CLAIM_LOCK_KEY)))
            other.rollback()
    finally:
        engine.dispose()


def test_heat_ups_are_counted_per_site_within_each_sites_own_window(new_world):
    world = seed(new_world(), units=80)
    now, file_id = world.services.clock.now(), print_file_id(world)
    with world.services.db.unit_of_work() as session:
        for seconds_ago, printer in ((10, "acme/mk3-1"), (100, "acme/mk3-1"), (10, "uni/mk3-1"), (100, "uni/mk3-1")):
            at = now - dt.timedelta(seconds=seconds_ago)
            session.add(PrintJob(batch_id=world.ids["batch"], printer_id=world.ids[printer], print_file_id=file_id,
                                 units_per_print=4, state=JobState.FAILED, progress_percent=0, created_at=at,
                                 updated_at=at))
        session.flush()
        counts = repository.recent_claim_counts(session, {world.ids["acme"]: 60, world.ids["uni"]: 300}, now)
    assert counts == {world.ids["acme"]: 1, world.ids["uni"]: 2}
