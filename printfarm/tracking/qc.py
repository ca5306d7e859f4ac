"""A finished plate waits on its bed; a site that accepts QC automatically counts it at once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from printfarm.db.tables import Printer, PrintJob, Site
from printfarm.jobs import moves
from printfarm.output.service import complete_job


def plate_finished(session: Session, job: PrintJob, printer: Printer, now: dt.datetime) -> None:
    """Call once per job, right after its move into FINISHED (the move set its bed not clear).

    With the site's automatic acceptance every unit counts as good and the bed is free again.
    """
    if not session.scalar(select(Site.auto_accept_qc).where(Site.id == printer.site_id)):
        return
    complete_job(session, job, printer, job.units_per_print, 0, now)
    moves.clear_bed(session, printer, now, job_id=job.id, good_units=job.units_per_print, is_automatic=True)
