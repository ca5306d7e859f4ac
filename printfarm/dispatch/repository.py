"""Dispatch queries: idle printers (locked where the database can), open batches, print files."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from printfarm.batches.repository import open_batches, progress_by_batch
from printfarm.db.tables import Batch, Part, Printer, PrintFile, PrintJob, Site
from printfarm.dispatch.rules import FileChoice, IdlePrinter, OpenBatch
from printfarm.jobs.rules import ACTIVE
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
    batches = [b for b in open_batches(session)]
    if lock and batches:
        # Lock in id order so two replicas never deadlock; the progress read below is then exact.
        session.execute(select(Batch.id).where(Batch.id.in_([b.id for b in batches])).order_by(Batch.id).with_for_update())
    progress = progress_by_batch(session, [b.id for b in batches])
    result = []
    for batch in batches:
        remaining = progress[batch.id].remaining(batch.quantity)
        if remaining > 0:
            result.append(OpenBatch(batch.id, batch.part_id, remaining))
    return result


def latest_print_files(session: Session, part_ids: set[int]) -> dict[tuple[int, int], FileChoice]:
    """The newest print file per (part, profile), for approved parts only."""
    newest = (
        select(func.max(PrintFile.id))
        .join(Part, Part.id == PrintFile.part_id)
        .where(PrintFile.part_id.in_(part_ids), Part.is_approved.is_(True))
        .group_by(PrintFile.part_id, PrintFile.profile_id)
    )
    rows = session.execute(
        select(PrintFile.part_id, PrintFile.profile_id, PrintFile.id, PrintFile.units_per_print, PrintFile.material)
        .where(PrintFile.id.in_(newest))
    )
    return {(part, profile): FileChoice(fid, units, material) for part, profile, fid, units, material in rows}


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
