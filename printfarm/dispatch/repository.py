"""Dispatch queries: idle printers (locked where the database can), open batches, files, site settings.

A pass reads a few thousand rows and writes about a thousand claims, so the queries of a pass
return plain rows (no ORM objects), take no IN lists that grow with the fleet, and write the
claims in one statement with their file names.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, select, text, update
from sqlalchemy.orm import Session

from printfarm.db.base import UtcDateTime
from printfarm.db.tables import Batch, Hospital, OutputByBatch, Part, Printer, PrinterProfile, PrintFile, PrintJob, Site
from printfarm.dispatch.rules import Assignment, FileChoice, IdlePrinter, OpenBatch
from printfarm.jobs.rules import ACTIVE, JobState
from printfarm.printers.catalog import ProfileSpec
from printfarm.printers.rules import ConnectionState, online_columns


#: pg_advisory_xact_lock key of the claim phase ("pfclaim" in ASCII): one replica claims at a time.
CLAIM_LOCK_KEY = 0x7066636C61696D


def serialize_claims(session: Session) -> None:
    """PostgreSQL: wait until no other replica is in its claim transaction; held until this one ends.

    Claims of two replicas then never read the same idle printers or the same batch progress: the
    second reads after the first committed (READ COMMITTED reads per statement). One lock instead of
    a row lock per open batch, whose number grows with the queue.
    """
    session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK_KEY)))


def idle_printers(session: Session, now: dt.datetime, lock: bool) -> list[IdlePrinter]:
    """Enabled, online, bed clear, no active job, site not drained. Locked with SKIP LOCKED on PostgreSQL."""
    has_active_job = exists().where(PrintJob.printer_id == Printer.id, PrintJob.state.in_(ACTIVE))
    # drained sites as a NOT IN subquery rather than a join: the plan stays a hash lookup even before
    # the planner has statistics of a freshly loaded printers table
    drained_sites = select(Site.id).where(Site.is_paused.is_(True))
    query = (
        select(Printer.id, Printer.site_id, Printer.profile_id, Printer.loaded_material)
        .where(
            Printer.is_enabled.is_(True),
            Printer.connection == ConnectionState.ONLINE,
            Printer.is_bed_clear.is_(True),
            or_(Printer.retry_after.is_(None), Printer.retry_after <= now),
            Printer.site_id.not_in(drained_sites),
            ~has_active_job,
        )
        .order_by(Printer.id)
    )
    if lock:
        query = query.with_for_update(skip_locked=True, of=Printer)
    return [IdlePrinter(*row) for row in session.execute(query)]


def batches_needing_units(session: Session) -> list[OpenBatch]:
    """Batches not cancelled and still short of units, most urgent first: priority, due date, age.

    Short of units is batches.repository's BatchProgress.remaining() in one query: good units from
    the output_by_batch rollup (kept in each QC transaction, so not a sum over every Output row),
    units in production from the active jobs (at most one per printer).
    """
    running = (
        select(PrintJob.batch_id, func.sum(PrintJob.units_per_print).label("units"))
        .where(PrintJob.state.in_(ACTIVE))
        .group_by(PrintJob.batch_id)
        .subquery()
    )
    remaining = Batch.quantity - func.coalesce(OutputByBatch.good_units, 0) - func.coalesce(running.c.units, 0)
    rows = session.execute(
        select(Batch.id, Batch.part_id, remaining, Batch.hospital_id, Batch.priority, Batch.due_at)
        .outerjoin(OutputByBatch, OutputByBatch.batch_id == Batch.id)
        .outerjoin(running, running.c.batch_id == Batch.id)
        .where(Batch.is_cancelled.is_(False), remaining > 0)
        .order_by(Batch.priority.desc(), Batch.due_at.is_(None), Batch.due_at, Batch.created_at, Batch.id)
    )
    return [OpenBatch(*row) for row in rows]


def print_files(
    session: Session, part_ids: set[int]
) -> tuple[dict[tuple[int, int], list[FileChoice]], dict[int, str]]:
    """Every print file per (part, profile) of approved parts, newest first, with its analysis;
    and each file's part name (for the names of the files sent to printers)."""
    rows = session.execute(
        select(
            PrintFile.part_id, PrintFile.profile_id, PrintFile.id, PrintFile.units_per_print, PrintFile.material,
            PrintFile.analysis, Part.name,
        )
        .join(Part, Part.id == PrintFile.part_id)
        .where(PrintFile.part_id.in_(part_ids), Part.is_approved.is_(True))
        .order_by(PrintFile.id.desc())
    )
    files: dict[tuple[int, int], list[FileChoice]] = {}
    part_names: dict[int, str] = {}
    for part, profile, file_id, units, material, analysis, part_name in rows:
        files.setdefault((part, profile), []).append(FileChoice(file_id, units, material, analysis))
        part_names[file_id] = part_name
    return files, part_names


def profiles(session: Session) -> dict[int, ProfileSpec]:
    return {
        row.id: ProfileSpec(
            row.name, row.printer_model, row.nozzle_mm, row.build_x_mm, row.build_y_mm, row.build_z_mm,
            row.slicer_config or "",
        )
        for row in session.scalars(select(PrinterProfile))
    }


def sites(session: Session) -> Sequence[Any]:
    """Every site's dispatch settings (a few hundred rows; cheaper than an IN list of the idle ones)."""
    return session.execute(
        select(
            Site.id, Site.is_paused, Site.allowed_part_ids, Site.work_starts_at, Site.work_ends_at, Site.timezone,
            Site.heatup_max_starts, Site.heatup_window_seconds, Site.latitude, Site.longitude,
        )
    ).all()


def recent_claim_counts(session: Session, windows: dict[int, int], now: dt.datetime) -> Counter[int]:
    """Per site, plates claimed within that site's heat-up window (seconds) before now.

    Counted in SQL, one query per distinct window length (sites mostly share one).
    """
    counts: Counter[int] = Counter()
    by_window: dict[int, list[int]] = {}
    for site_id, seconds in windows.items():
        by_window.setdefault(seconds, []).append(site_id)
    for seconds, site_ids in by_window.items():
        rows = session.execute(
            select(Printer.site_id, func.count())
            .select_from(PrintJob)
            .join(Printer, Printer.id == PrintJob.printer_id)
            .where(PrintJob.created_at >= now - dt.timedelta(seconds=seconds), Printer.site_id.in_(site_ids))
            .group_by(Printer.site_id)
        )
        counts.update({site_id: int(n) for site_id, n in rows})
    return counts


def hospital_locations(session: Session, hospital_ids: set[int]) -> dict[int, tuple[float, float]]:
    rows = session.execute(
        select(Hospital.id, Hospital.latitude, Hospital.longitude).where(
            Hospital.id.in_(hospital_ids), Hospital.latitude.is_not(None), Hospital.longitude.is_not(None)
        )
    )
    return {hid: (lat, lon) for hid, lat, lon in rows if lat is not None and lon is not None}


_INSERT_CLAIMS_POSTGRESQL = text("""
INSERT INTO print_jobs (id, batch_id, printer_id, print_file_id, units_per_print, state, progress_percent,
                        remote_filename, created_at, updated_at)
SELECT c.id, c.batch_id, c.printer_id, c.print_file_id, c.units, :state, 0, c.prefix || c.id || c.suffix, :now, :now
FROM (
    SELECT nextval(pg_get_serial_sequence('print_jobs', 'id')) AS id, u.*
    FROM unnest(CAST(:batch_ids AS integer[]), CAST(:printer_ids AS integer[]), CAST(:file_ids AS integer[]),
                CAST(:units AS integer[]), CAST(:prefixes AS text[]), CAST(:suffixes AS text[]))
         AS u(batch_id, printer_id, print_file_id, units, prefix, suffix)
) AS c
RETURNING id, printer_id
""")

# SQLite writes one statement at a time and this one holds the write lock while it reads max(id),
# so the ids it gives are the ones SQLite would have chosen (an INTEGER PRIMARY KEY is max + 1).
_INSERT_CLAIMS_SQLITE = text("""
INSERT INTO print_jobs (id, batch_id, printer_id, print_file_id, units_per_print, state, progress_percent,
                        remote_filename, created_at, updated_at)
SELECT n.base + r.key + 1, json_extract(r.value, '$[0]'), json_extract(r.value, '$[1]'),
       json_extract(r.value, '$[2]'), json_extract(r.value, '$[3]'), :state, 0,
       json_extract(r.value, '$[4]') || (n.base + r.key + 1) || json_extract(r.value, '$[5]'), :now, :now
FROM json_each(:rows) AS r, (SELECT coalesce(max(id), 0) AS base FROM print_jobs) AS n
RETURNING id, printer_id
""")


def insert_claims(
    session: Session, assignments: Sequence[Assignment], names: dict[int, tuple[str, str]], state: str, now: dt.datetime
) -> list[tuple[int, int]]:
    """Write the claims of a pass in one statement, each with its file name; [(job id, printer id)].

    names maps a print file id to what comes before and after the job id in the file name
    (jobs.rules.remote_filename_around_id). The rows travel as arrays (PostgreSQL) or one JSON
    document (SQLite) rather than as thousands of bound parameters, and the file name is built
    from the new id in the same statement, so no second UPDATE. Raises IntegrityError when a
    printer already has an active job (another replica claimed it first).
    """
    if not assignments:
        return []
    stamp = bindparam("now", now, type_=UtcDateTime())
    if session.get_bind().dialect.name == "postgresql":
        statement = _INSERT_CLAIMS_POSTGRESQL.bindparams(
            stamp,
            state=state,
            batch_ids=[a.batch_id for a in assignments],
            printer_ids=[a.printer_id for a in assignments],
            file_ids=[a.print_file_id for a in assignments],
            units=[a.units_per_print for a in assignments],
            prefixes=[names[a.print_file_id][0] for a in assignments],
            suffixes=[names[a.print_file_id][1] for a in assignments],
        )
    else:
        rows = [
            [a.batch_id, a.printer_id, a.print_file_id, a.units_per_print, *names[a.print_file_id]] for a in assignments
        ]
        statement = _INSERT_CLAIMS_SQLITE.bindparams(stamp, state=state, rows=json.dumps(rows))
    return [(job_id, printer_id) for job_id, printer_id in session.execute(statement)]


def lock_jobs(session: Session, job_ids: list[int]) -> None:
    """Lock these jobs' rows in id order (the order tracking locks them in)."""
    if job_ids:
        session.execute(select(PrintJob.id).where(PrintJob.id.in_(job_ids)).order_by(PrintJob.id).with_for_update())


def lock_printer_rows(session: Session, printer_ids: set[int]) -> None:
    """Lock these printers' rows in id order, loading no objects."""
    if printer_ids:
        session.execute(select(Printer.id).where(Printer.id.in_(printer_ids)).order_by(Printer.id).with_for_update())


def printers_answered(session: Session, printer_ids: list[int], now: dt.datetime) -> None:
    """Printers that accepted a start: online (as printers.health.mark_online), no failures in a row.

    Their beds: jobs/moves.py.
    """
    if printer_ids:
        session.execute(
            update(Printer)
            .where(Printer.id.in_(printer_ids))
            .values(consecutive_failures=0, **online_columns(now))
            .execution_options(synchronize_session=False)
        )


def job_states(session: Session, job_ids: list[int]) -> dict[int, JobState]:
    return dict(session.execute(select(PrintJob.id, PrintJob.state).where(PrintJob.id.in_(job_ids))).all())
