"""The printer wall: printers counted by what their cards show, the "needs attention" filter, pages."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, true, tuple_
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from printfarm.db.tables import Batch, Hospital, OutputBySite, Part, Printer, PrinterProfile, PrintFile, PrintJob, Site
from printfarm.jobs.rules import JobState
from printfarm.metrics.repository.states import ACTIVE_STATES, NOT_ONLINE, literal_states
from printfarm.metrics.rules import ATTENTION_CASES, PrinterCase
from printfarm.printers.rules import ConnectionState

@dataclass(frozen=True)
class PrinterStateCounts:
    """Printers without an active job by (connection, is_enabled, is_bed_clear), and printers with one
    by (connection, job state): all a card's status depends on (metrics.rules.printer_status)."""

    idle: list[tuple[str, bool, bool, int]]
    busy: list[tuple[str, JobState, int]]


def _has_active_job() -> Any:
    return select(PrintJob.id).where(PrintJob.printer_id == Printer.id, PrintJob.state.in_(ACTIVE_STATES)).exists()


def printer_state_counts(session: Session, site_id: int | None = None) -> PrinterStateCounts:
    """Printers counted by what their cards depend on, over one site or all, in three indexed queries.

    Printers without an active job: ix_printers_state read in order, each probed in the partial
    unique index of active jobs. Busy printers: active jobs by state from the state index, less
    those on printers that are not online (few, found by ix_printers_state), counted apart.
    No table row of printers or of the job history is read.
    """
    key = (Printer.connection, Printer.is_enabled, Printer.is_bed_clear)
    idle = select(*key, func.count()).where(~_has_active_job()).group_by(*key)
    jobs = select(PrintJob.state, func.count()).where(PrintJob.state.in_(ACTIVE_STATES)).group_by(PrintJob.state)
    elsewhere = (
        select(Printer.connection, PrintJob.state, func.count())
        .join(PrintJob, (PrintJob.printer_id == Printer.id) & PrintJob.state.in_(ACTIVE_STATES))
        .where(Printer.connection.in_(NOT_ONLINE))
        .group_by(Printer.connection, PrintJob.state)
    )
    if site_id is not None:
        idle = idle.where(Printer.site_id == site_id)
        jobs = jobs.where(PrintJob.printer_id.in_(select(Printer.id).where(Printer.site_id == site_id)))
        elsewhere = elsewhere.where(Printer.site_id == site_id)
    online: Counter[JobState] = Counter({state: int(n) for state, n in session.execute(jobs)})
    busy: list[tuple[str, JobState, int]] = []
    for connection, state, n in session.execute(elsewhere):
        online[state] -= int(n)
        busy.append((_text(connection), state, int(n)))
    busy.extend((ConnectionState.ONLINE.value, state, n) for state, n in online.items() if n)
    return PrinterStateCounts(
        idle=[(_text(c), bool(e), bool(b), int(n)) for c, e, b, n in session.execute(idle)],
        busy=busy,
    )


def _text(value: object) -> str:
    return str(getattr(value, "value", value))


def _case_clause(name: str, case: PrinterCase) -> ColumnElement[bool]:
    """A printer is in the case (PrinterCase.holds), in SQL; a dimension that allows every value is left out."""
    terms: list[ColumnElement[bool]] = []
    if case.connections != PrinterCase.connections:
        terms.append(Printer.connection.in_(literal_states(f"{name}_connections", case.connections)))
    if case.bed_clear != PrinterCase.bed_clear:
        terms.append(or_(*(Printer.is_bed_clear.is_(value) for value in sorted(case.bed_clear))))
    if case.job_states != PrinterCase.job_states:
        states = frozenset(s for s in case.job_states if s is not None)
        has_job: list[ColumnElement[bool]] = []
        if states:
            jobs = select(PrintJob.printer_id).where(PrintJob.state.in_(literal_states(f"{name}_jobs", states)))
            has_job.append(Printer.id.in_(jobs))
        if None in case.job_states:
            has_job.append(~_has_active_job())
        terms.append(or_(*has_job))
    return and_(true(), *terms)


def needs_attention_clause() -> ColumnElement[bool]:
    """metrics.rules.needs_attention in SQL: a printer in any of the ATTENTION_CASES."""
    return or_(*(_case_clause(f"attention_{n}", case) for n, case in enumerate(ATTENTION_CASES)))


def wall_counts(session: Session, site_id: int | None, needs_attention: bool) -> tuple[int, int]:
    """(printers that pass the filter, good units of the filter's site or of all sites), in one statement."""
    printers = select(func.count()).select_from(Printer)
    good = select(func.coalesce(func.sum(OutputBySite.good_units), 0))
    if site_id is not None:
        printers = printers.where(Printer.site_id == site_id)
        good = good.where(OutputBySite.site_id == site_id)
    if needs_attention:
        printers = printers.where(needs_attention_clause())
    count, units = session.execute(select(printers.scalar_subquery(), good.scalar_subquery())).one()
    return int(count), int(units)


@dataclass(frozen=True)
class PrinterLine:
    printer: Printer
    site_name: str
    profile_name: str
    job: PrintJob | None
    estimated_seconds: float | None


def printer_lines(
    session: Session, site_id: int | None, needs_attention: bool, offset: int, limit: int,
    after: int | None = None, before: int | None = None, printer_id: int | None = None,
) -> list[PrinterLine]:
    """One page of printers by site and name: `limit` after skipping `offset`, or, with `after` (a
    printer id), the `limit` that follow that printer, or with `before` the `limit` that precede it
    (keyset paging both ways: nothing is skipped row by row)."""
    # (site_id, name) is unique, so ordering by it is total and walks uq_printers_site_name as stored
    # (backwards for the page before a printer). The page's ids are picked first, from that index
    # alone; only they are joined to sites and profiles, which put them back in order.
    key = tuple_(Printer.site_id, Printer.name)
    page = select(Printer.id).limit(limit)
    mark_id = after if after is not None else before
    if mark_id is not None:
        # Two scalar subqueries, not a joined one: PostgreSQL then compares in the index condition
        # (a joined row was a filter over every printer before the mark: 1.9 against 0.1 ms at page 100).
        mark = aliased(Printer)
        edge = tuple_(*(select(c).where(mark.id == mark_id).scalar_subquery() for c in (mark.site_id, mark.name)))
        if after is not None:
            page = page.where(key > edge).order_by(Printer.site_id, Printer.name)
        else:
            page = page.where(key < edge).order_by(Printer.site_id.desc(), Printer.name.desc())
    else:
        page = page.order_by(Printer.site_id, Printer.name).offset(offset)
    if site_id is not None:
        page = page.where(Printer.site_id == site_id)
    if printer_id is not None:
        page = page.where(Printer.id == printer_id)
    if needs_attention:
        page = page.where(needs_attention_clause())
    # One statement for the page (one round trip on a page polled every second): the ids come from
    # the subquery above, each with its active job (at most one: uq_print_jobs_one_active_per_printer)
    # and that job's slicer estimate.
    query = (
        select(Printer, Site.name, PrinterProfile.name, PrintJob, PrintFile.analysis)
        .join(Site, Site.id == Printer.site_id)
        .join(PrinterProfile, PrinterProfile.id == Printer.profile_id)
        .outerjoin(PrintJob, (PrintJob.printer_id == Printer.id) & PrintJob.state.in_(ACTIVE_STATES))
        .outerjoin(PrintFile, PrintFile.id == PrintJob.print_file_id)
        .where(Printer.id.in_(page.correlate(None)))
        .order_by(Printer.site_id, Printer.name)
    )
    lines = []
    for printer, site_name, profile_name, job, analysis in session.execute(query):
        estimate = analysis.get("estimated_seconds") if isinstance(analysis, dict) else None
        lines.append(PrinterLine(printer, site_name, profile_name, job, float(estimate) if estimate else None))
    return lines


def site_choices(session: Session) -> list[tuple[int, str]]:
    return [(i, n) for i, n in session.execute(select(Site.id, Site.name).order_by(Site.name))]


def batch_destinations(session: Session, batch_ids: set[int]) -> dict[int, tuple[str, str]]:
    """(part name, hospital name) of each of these batches, by batch id, in one query."""
    if not batch_ids:
        return {}
    query = (
        select(Batch.id, Part.name, Hospital.name)
        .join(Part, Part.id == Batch.part_id)
        .join(Hospital, Hospital.id == Batch.hospital_id)
        .where(Batch.id.in_(sorted(batch_ids)))
    )
    return {batch_id: (part, hospital) for batch_id, part, hospital in session.execute(query)}
