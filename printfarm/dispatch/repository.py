"""Dispatch queries: idle printers (locked where the database can), open batches, files, site settings."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session

from printfarm.batches.repository import open_batches, progress_by_batch
from printfarm.db.tables import Batch, Hospital, Part, Printer, PrinterProfile, PrintFile, PrintJob, Site
from printfarm.dispatch.rules import FileChoice, IdlePrinter, OpenBatch
from printfarm.jobs.rules import ACTIVE, JobState
from printfarm.printers.catalog import ProfileSpec
from printfarm.printers.rules import ConnectionState


def idle_printers(session: Session, now: dt.datetime, lock: bool) -> list[IdlePrinter]:
    """Enabled, online, bed clear, no active job, site not drained. Locked with SKIP LOCKED on PostgreSQL."""
    has_active_job = exists().where(PrintJob.printer_id == Printer.id, PrintJob.state.in_(ACTIVE))
    query = (
        select(Printer.id, Printer.site_id, Printer.profile_id, Printer.loaded_material)
        .join(Site, Site.id == Printer.site_id)
        .where(
            Printer.is_enabled.is_(True),
            Printer.connection == ConnectionState.ONLINE,
            Printer.is_bed_clear.is_(True),
            or_(Printer.retry_after.is_(None), Printer.retry_after <= now),
            Site.is_paused.is_(False),
            ~has_active_job,
        )
        .order_by(Printer.id)
    )
    if lock:
        query = query.with_for_update(skip_locked=True, of=Printer)
    return [IdlePrinter(*row) for row in session.execute(query)]


def batches_needing_units(session: Session, lock: bool) -> list[OpenBatch]:
    """Open batches still short of units, most urgent first (see batches.repository.open_batches)."""
    batches = open_batches(session)
    if lock and batches:
        # Lock in id order so two replicas never deadlock; the progress read below is then exact.
        session.execute(select(Batch.id).where(Batch.id.in_([b.id for b in batches])).order_by(Batch.id).with_for_update())
    progress = progress_by_batch(session, [b.id for b in batches])
    result = []
    for batch in batches:
        remaining = progress[batch.id].remaining(batch.quantity)
        if remaining > 0:
            result.append(OpenBatch(batch.id, batch.part_id, remaining, batch.hospital_id, batch.priority, batch.due_at))
    return result


def print_files(session: Session, part_ids: set[int]) -> dict[tuple[int, int], list[FileChoice]]:
    """Every print file per (part, profile) of approved parts, newest first, with its analysis."""
    rows = session.execute(
        select(
            PrintFile.part_id, PrintFile.profile_id, PrintFile.id, PrintFile.units_per_print, PrintFile.material,
            PrintFile.analysis,
        )
        .join(Part, Part.id == PrintFile.part_id)
        .where(PrintFile.part_id.in_(part_ids), Part.is_approved.is_(True))
        .order_by(PrintFile.id.desc())
    )
    files: dict[tuple[int, int], list[FileChoice]] = {}
    for part, profile, file_id, units, material, analysis in rows:
        files.setdefault((part, profile), []).append(FileChoice(file_id, units, material, analysis))
    return files


def profiles(session: Session) -> dict[int, ProfileSpec]:
    return {
        row.id: ProfileSpec(
            row.name, row.printer_model, row.nozzle_mm, row.build_x_mm, row.build_y_mm, row.build_z_mm,
            row.slicer_config or "",
        )
        for row in session.scalars(select(PrinterProfile))
    }


def sites(session: Session, site_ids: set[int]) -> list[Site]:
    return list(session.scalars(select(Site).where(Site.id.in_(site_ids))))


def claims_since(session: Session, site_ids: set[int], since: dt.datetime) -> dict[int, list[dt.datetime]]:
    """Claim times of plates at these sites since `since` (heat-ups of the stagger window)."""
    rows = session.execute(
        select(Printer.site_id, PrintJob.created_at)
        .join(Printer, Printer.id == PrintJob.printer_id)
        .where(PrintJob.created_at >= since, Printer.site_id.in_(site_ids))
    )
    result: dict[int, list[dt.datetime]] = {}
    for site_id, created_at in rows:
        result.setdefault(site_id, []).append(created_at)
    return result


def hospital_locations(session: Session, hospital_ids: set[int]) -> dict[int, tuple[float, float]]:
    rows = session.execute(
        select(Hospital.id, Hospital.latitude, Hospital.longitude).where(
            Hospital.id.in_(hospital_ids), Hospital.latitude.is_not(None), Hospital.longitude.is_not(None)
        )
    )
    return {hid: (lat, lon) for hid, lat, lon in rows if lat is not None and lon is not None}


def part_names(session: Session, print_file_ids: set[int]) -> dict[int, str]:
    return dict(
        session.execute(
            select(PrintFile.id, Part.name).join(Part, Part.id == PrintFile.part_id).where(PrintFile.id.in_(print_file_ids))
        ).all()
    )


def move_many(
    session: Session, job_ids: list[int], expected: JobState, target: JobState, now: dt.datetime, **values: object
) -> list[int]:
    """Move the jobs still in `expected` to `target` in one statement; the ids this call moved.

    Rows are locked in id order first, as tracking does, so concurrent units of work cannot deadlock.
    """
    if not job_ids:
        return []
    locked = list(
        session.scalars(
            select(PrintJob.id)
            .where(PrintJob.id.in_(job_ids), PrintJob.state == expected)
            .order_by(PrintJob.id)
            .with_for_update()
        )
    )
    if locked:
        session.execute(
            update(PrintJob)
            .where(PrintJob.id.in_(locked), PrintJob.state == expected)
            .values(state=target, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
    session.expire_all()
    return locked


def locked_printers(session: Session, printer_ids: set[int]) -> dict[int, Printer]:
    return {
        p.id: p
        for p in session.scalars(select(Printer).where(Printer.id.in_(printer_ids)).order_by(Printer.id).with_for_update())
    }


def job_states(session: Session, job_ids: list[int]) -> dict[int, JobState]:
    return dict(session.execute(select(PrintJob.id, PrintJob.state).where(PrintJob.id.in_(job_ids))).all())


def recent_claim_counts(claim_times: dict[int, list[dt.datetime]], windows: dict[int, int], now: dt.datetime) -> Counter[int]:
    """Per site, claims inside that site's own window (claims_since fetched the widest one)."""
    counts: Counter[int] = Counter()
    for site_id, times in claim_times.items():
        cutoff = now - dt.timedelta(seconds=windows.get(site_id, 0))
        counts[site_id] = sum(1 for t in times if t >= cutoff)
    return counts


def printers_to_check(session: Session, now: dt.datetime, limit: int) -> list[Printer]:
    """Printers not known online whose retry time has come, oldest first, a small batch at a time."""
    return list(
        session.scalars(
            select(Printer)
            .where(
                Printer.is_enabled.is_(True),
                Printer.connection != ConnectionState.ONLINE,
                or_(Printer.retry_after.is_(None), Printer.retry_after <= now),
            )
            .order_by(Printer.retry_after.is_(None).desc(), Printer.retry_after, Printer.id)
            .limit(limit)
        )
    )
