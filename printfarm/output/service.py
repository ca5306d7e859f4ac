"""QC and output: clearing a bed records good and rejected units; counts are sums of Output rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from printfarm.audit.service import record
from printfarm.auth.rules import Action, Actor, require
from printfarm.batches.repository import progress_by_batch
from printfarm.clock import Clock
from printfarm.db.session import after_commit
from printfarm.db.tables import Batch, Output, Printer, PrintFile, PrintJob, Site
from printfarm.errors import Conflict, InputError
from printfarm.jobs.rules import JobState, check_move
from printfarm.metrics.repository import add_output
from printfarm.output.schemas import ClearBedResult, SiteUnits
from printfarm.printers.repository import active_jobs_by_printer
from printfarm.registry.service import get_or_404


def complete_job(
    session: Session, job: PrintJob, printer: Printer, good_units: int, rejected_units: int, now: dt.datetime
) -> Output:
    """Record QC for a finished plate: the job completes and its units are counted once."""
    check_move(job.id, job.state, JobState.COMPLETED)
    job.state = JobState.COMPLETED
    job.good_units = good_units
    job.rejected_units = rejected_units
    job.completed_at = now
    job.updated_at = now
    part_id = session.scalar(select(PrintFile.part_id).where(PrintFile.id == job.print_file_id))
    output = Output(
        job_id=job.id,
        site_id=printer.site_id,
        printer_id=printer.id,
        part_id=part_id,
        batch_id=job.batch_id,
        day=now.date(),
        good_units=good_units,
        rejected_units=rejected_units,
        recorded_at=now,
    )
    session.add(output)
    add_output(session, output)  # the dashboards' rollups, in the same transaction
    return output


class OutputService:
    def __init__(self, clock: Clock, on_bed_cleared: Callable[[], None] = lambda: None) -> None:
        self._clock = clock
        self._on_bed_cleared = on_bed_cleared

    def clear_bed(self, session: Session, actor: Actor, printer_id: int, good_units: int, rejected_units: int) -> ClearBedResult:
        """The operator took the plate off: record its QC and free the printer for the next plate.

        With a finished plate on the bed, good + rejected must equal its units per print.
        With no finished plate (a failed or cancelled print, or a manual clean), both must be 0.
        Raises Conflict while the printer is still printing.
        """
        printer = get_or_404(session, Printer, printer_id, "printer")
        require(actor, Action.OPERATE_PRINTER, printer.site_id)
        if good_units < 0 or rejected_units < 0:
            raise InputError(f"units cannot be negative (good {good_units}, rejected {rejected_units})")
        job = active_jobs_by_printer(session, [printer_id]).get(printer_id)
        now = self._clock.now()
        if job is not None and job.state is not JobState.FINISHED:
            raise Conflict(f"printer {printer_id} is busy with job {job.id} ({job.state.value}); clear the bed when it has finished")
        if job is not None:
            if good_units + rejected_units != job.units_per_print:
                raise InputError(
                    f"job {job.id} printed {job.units_per_print} units: good {good_units} + rejected "
                    f"{rejected_units} = {good_units + rejected_units}"
                )
            complete_job(session, job, printer, good_units, rejected_units, now)
        elif good_units or rejected_units:
            raise InputError(f"printer {printer_id} has no finished plate to count (good {good_units}, rejected {rejected_units})")
        printer.is_bed_clear = True
        record(
            session, actor, now, "printer.clear_bed", "printer", printer_id,
            {"job_id": job.id if job else None, "good_units": good_units, "rejected_units": rejected_units},
        )
        after_commit(session, self._on_bed_cleared)
        return ClearBedResult(
            printer_id=printer_id, job_id=job.id if job else None, good_units=good_units, rejected_units=rejected_units
        )

    def units_per_site(self, session: Session, actor: Actor) -> list[SiteUnits]:
        require(actor, Action.READ)
        rows = session.execute(
            select(Site.id, Site.name, func.coalesce(func.sum(Output.good_units), 0), func.coalesce(func.sum(Output.rejected_units), 0))
            .outerjoin(Output, Output.site_id == Site.id)
            .group_by(Site.id, Site.name)
            .order_by(Site.id)
        )
        return [SiteUnits(site_id=i, site_name=n, good_units=int(g), rejected_units=int(r)) for i, n, g, r in rows]

    def totals(self, session: Session, actor: Actor) -> dict[str, int]:
        require(actor, Action.READ)
        good, rejected = session.execute(
            select(func.coalesce(func.sum(Output.good_units), 0), func.coalesce(func.sum(Output.rejected_units), 0))
        ).one()
        requested = session.scalar(select(func.coalesce(func.sum(Batch.quantity), 0)).where(Batch.is_cancelled.is_(False)))
        in_production = sum(p.in_production_units for p in progress_by_batch(session).values())
        return {
            "requested_units": int(requested or 0),
            "in_production_units": in_production,
            "good_units": int(good),
            "rejected_units": int(rejected),
        }
