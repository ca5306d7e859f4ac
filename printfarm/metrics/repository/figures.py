"""The figures: totals of the overview and /api/stats, units by site and by day, jobs by state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from printfarm.db.tables import Batch, Delivery, OutputBySite, OutputDaily, PrintJob, Site
from printfarm.jobs.rules import JobState
from printfarm.metrics.repository.states import ACTIVE_STATES, ENDED_STATES, RECEIVED_STATE, SHIPPED_STATES


@dataclass(frozen=True)
class Totals:
    requested: int
    in_production: int
    good: int
    rejected: int
    shipped: int
    received: int
    sites: int


def totals(session: Session) -> Totals:
    """The overview's totals in one statement (one round trip on a page polled every second), each a
    scalar subquery over a rollup, an index or a small table.

    requested: units of batches not cancelled; in production: units on active plates; good and
    rejected: QC-recorded units; shipped: units that left their sites; received: units hospitals
    confirmed; sites: all sites.
    """
    received_units = func.coalesce(Delivery.units_received, Delivery.units)
    sums = (
        select(func.coalesce(func.sum(Batch.quantity), 0)).where(Batch.is_cancelled.is_(False)),
        # batch_id > 0 (always true) lets SQLite read the partial index of active plates, which holds
        # units_per_print, instead of each plate's row by the state index (0.5 against 2.5 ms).
        select(func.coalesce(func.sum(PrintJob.units_per_print), 0)).where(PrintJob.state.in_(ACTIVE_STATES), PrintJob.batch_id > 0),
        select(func.coalesce(func.sum(OutputBySite.good_units), 0)),
        select(func.coalesce(func.sum(OutputBySite.rejected_units), 0)),
        select(func.coalesce(func.sum(case((Delivery.state.in_(SHIPPED_STATES), Delivery.units), else_=0)), 0)),
        select(func.coalesce(func.sum(case((Delivery.state == RECEIVED_STATE, received_units), else_=0)), 0)),
        select(func.count()).select_from(Site),
    )
    row = session.execute(select(*(query.scalar_subquery() for query in sums))).one()
    return Totals(*(int(value) for value in row))


def units_by_site(session: Session, limit: int | None = None, by_id: bool = False) -> list[tuple[int, str, int, int]]:
    """(site id, name, good, rejected) for every site, most good units first (ties by id), or by id."""
    good = func.coalesce(OutputBySite.good_units, 0)
    query = (
        select(Site.id, Site.name, good, func.coalesce(OutputBySite.rejected_units, 0))
        .outerjoin(OutputBySite, OutputBySite.site_id == Site.id)
        .order_by(*((Site.id,) if by_id else (good.desc(), Site.id)))
    )
    if limit is not None:
        query = query.limit(limit)
    return [(i, n, int(g), int(r)) for i, n, g, r in session.execute(query)]


def units_by_day(session: Session, since: dt.date) -> dict[dt.date, tuple[int, int]]:
    rows = session.execute(
        select(OutputDaily.day, func.sum(OutputDaily.good_units), func.sum(OutputDaily.rejected_units))
        .where(OutputDaily.day >= since)
        .group_by(OutputDaily.day)
    )
    return {day: (int(g), int(r)) for day, g, r in rows}


def jobs_by_state(session: Session) -> dict[str, int]:
    """Jobs per state without reading the history of completed plates.

    Active jobs are counted from their partial index, failed/cancelled/lost ones from the state
    index (a few per cent of all plates); completed jobs are the QC-recorded plates of the rollup,
    since complete_job writes exactly one Output row, and adds it to the rollups, per completed job.
    """
    counts: dict[str, int] = {}
    for states in (ACTIVE_STATES, ENDED_STATES):
        rows = session.execute(select(PrintJob.state, func.count()).where(PrintJob.state.in_(states)).group_by(PrintJob.state))
        counts.update({state.value: int(n) for state, n in rows})
    plates = session.scalar(select(func.coalesce(func.sum(OutputBySite.plates), 0)))
    counts[JobState.COMPLETED.value] = int(plates or 0)
    return counts
