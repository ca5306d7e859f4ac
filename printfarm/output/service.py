"""QC and output: clearing a bed records good and rejected units; counts are sums of Output rows.

The figures (/api/stats/...) read the rollups that complete_job keeps beside the Output rows, the
same sums the dashboards show, instead of summing every row on each request.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from printfarm.audit.service import record
from printfarm.auth.rules import Action, Actor, require
from printfarm.clock import Clock
from printfarm.db.tables import Output, Printer, PrintFile, PrintJob
from printfarm.errors import Conflict, InputError
from printfarm.events import BatchDone, raise_event
from printfarm.jobs import moves
from printfarm.jobs.rules import JobState
from printfarm.metrics.repository import figures as rollups
from printfarm.output import repository
from printfarm.output.schemas import ClearBedResult, SiteUnits
from printfarm.printers.repository import active_jobs_by_printer
from printfarm.db.lookup import get_existing


def complete_job(
    session: Session, job: PrintJob, printer: Printer, good_units: int, rejected_units: int, now: dt.datetime
) -> Output:
    """Record QC for a finished plate: the job completes and its units are counted once.

    Raises InvalidTransition unless the job is FINISHED (MovedMeanwhile if it just changed). When
    these good units bring the batch to its quantity, the BatchDone event is raised.
    """
    moves.move(session, job, JobState.COMPLETED, now, good_units=good_units, rejected_units=rejected_units)
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
    repository.add_output(session, output)  # the dashboards' rollups, in the same transaction
    if good_units:
        _raise_if_batch_done(session, job.batch_id, good_units, now)
    return output


def _raise_if_batch_done(session: Session, batch_id: int, good_units_now: int, now: dt.datetime) -> None:
    good, quantity = repository.good_units_and_quantity(session, batch_id)
    if good >= quantity > good - good_units_now:
        raise_event(session, BatchDone(now, batch_id, good))


class OutputService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def clear_bed(self, session: Session, actor: Actor, printer_id: int, good_units: int, rejected_units: int) -> ClearBedResult:
        """The operator took the plate off: record its QC and free the printer for the next plate.

        With a finished plate on the bed, good + rejected must equal its units per print.
        With no finished plate (a failed or cancelled print, or a manual clean), both must be 0.
        Raises Conflict while the printer is still printing.
        """
        printer = get_existing(session, Printer, printer_id, "printer")
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
        moves.clear_bed(
            session, printer, now, job_id=job.id if job else None, good_units=good_units, rejected_units=rejected_units
        )
        record(
            session, actor, now, "printer.clear_bed", "printer", printer_id,
            {"job_id": job.id if job else None, "good_units": good_units, "rejected_units": rejected_units},
        )
        return ClearBedResult(
            printer_id=printer_id, job_id=job.id if job else None, good_units=good_units, rejected_units=rejected_units
        )

    def units_per_site(self, session: Session, actor: Actor) -> list[SiteUnits]:
        """Good and rejected units of every site, by site id."""
        require(actor, Action.READ)
        return [
            SiteUnits(site_id=i, site_name=n, good_units=g, rejected_units=r)
            for i, n, g, r in rollups.units_by_site(session, by_id=True)
        ]

    def totals(self, session: Session, actor: Actor) -> dict[str, int]:
        require(actor, Action.READ)
        totals = rollups.totals(session)
        return {
            "requested_units": totals.requested,
            "in_production_units": totals.in_production,
            "good_units": totals.good,
            "rejected_units": totals.rejected,
        }
