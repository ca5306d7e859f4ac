"""Dashboard and metrics queries: sums read from the output rollups, pages of printers and batches.

The rollups (output_daily per site and day, output_by_batch per batch, output_by_site per site) are
the sums of Output rows, added to in the transaction that writes each Output row, so no page sums a
million rows. Active jobs are read from partial indexes that hold only them (migration 0018).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, case, delete, func, insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import BindParameter

from printfarm.db.tables import (
    Batch,
    Delivery,
    Hospital,
    HospitalRequest,
    Output,
    OutputByBatch,
    OutputBySite,
    OutputDaily,
    Part,
    Printer,
    PrinterProfile,
    PrintFile,
    PrintJob,
    Site,
)
from printfarm.jobs.rules import ACTIVE, TERMINAL, JobState
from printfarm.printers.rules import ConnectionState

# The active states are written into the SQL as literals, in the order of the partial index of
# active jobs: with a bound list, SQLite's planner (after ANALYZE) guesses a quarter of all jobs per
# state and scans the whole table; with the literals it uses the index (1 s against 16 ms at 1 M jobs).
ACTIVE_STATES: BindParameter[list[str]] = bindparam("active_states", [s.value for s in sorted(ACTIVE)], expanding=True, literal_execute=True)
ENDED_STATES: BindParameter[list[str]] = bindparam(
    "ended_states", [s.value for s in sorted(TERMINAL - {JobState.COMPLETED})], expanding=True, literal_execute=True
)
SHIPPED_STATES = ("shipped", "received")
RECEIVED_STATE = "received"


# -- the rollups ---------------------------------------------------------------------------------


def _upsert(session: Session, table: Any, keys: dict[str, Any], good: int, rejected: int) -> None:
    values = {**keys, "good_units": good, "rejected_units": rejected, "plates": 1}
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={
            "good_units": table.good_units + statement.excluded.good_units,
            "rejected_units": table.rejected_units + statement.excluded.rejected_units,
            "plates": table.plates + 1,
        },
    )
    session.execute(statement)


def add_output(session: Session, output: Output) -> None:
    """Add one QC-recorded plate to the rollups (call in the transaction that writes it)."""
    _upsert(session, OutputDaily, {"site_id": output.site_id, "day": output.day}, output.good_units, output.rejected_units)
    _upsert(session, OutputByBatch, {"batch_id": output.batch_id}, output.good_units, output.rejected_units)
    _upsert(session, OutputBySite, {"site_id": output.site_id}, output.good_units, output.rejected_units)


def rebuild_rollups(session: Session) -> None:
    """Recompute the rollups from the Output rows (a migration backfill, a bulk load)."""
    session.execute(delete(OutputDaily))
    session.execute(delete(OutputByBatch))
    session.execute(delete(OutputBySite))
    sums = (func.sum(Output.good_units), func.sum(Output.rejected_units), func.count())
    session.execute(
        insert(OutputDaily).from_select(
            ["site_id", "day", "good_units", "rejected_units", "plates"],
            select(Output.site_id, Output.day, *sums).group_by(Output.site_id, Output.day),
        )
    )
    session.execute(
        insert(OutputByBatch).from_select(
            ["batch_id", "good_units", "rejected_units", "plates"],
            select(Output.batch_id, *sums).group_by(Output.batch_id),
        )
    )
    session.execute(
        insert(OutputBySite).from_select(
            ["site_id", "good_units", "rejected_units", "plates"],
            select(Output.site_id, *sums).group_by(Output.site_id),
        )
    )


# -- totals and charts ---------------------------------------------------------------------------


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


# -- batches -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchLine:
    batch: Batch
    part_name: str
    hospital_name: str
    good_units: int
    rejected_units: int
    in_production_units: int


def _batches_query(open_only: bool) -> Select[Batch, str, str, int, int]:
    query = (
        select(
            Batch, Part.name, Hospital.name,
            func.coalesce(OutputByBatch.good_units, 0), func.coalesce(OutputByBatch.rejected_units, 0),
        )
        .join(Part, Part.id == Batch.part_id)
        .join(Hospital, Hospital.id == Batch.hospital_id)
        .outerjoin(OutputByBatch, OutputByBatch.batch_id == Batch.id)
    )
    if open_only:
        query = query.where(Batch.is_cancelled.is_(False), func.coalesce(OutputByBatch.good_units, 0) < Batch.quantity)
    return query


def count_batches(session: Session, open_only: bool) -> int:
    inner = _batches_query(open_only).with_only_columns(Batch.id).subquery()
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)


def batch_lines(session: Session, open_only: bool, offset: int, limit: int) -> list[BatchLine]:
    """Open batches most urgent first (as dispatch serves them); all batches newest first."""
    # Units on active plates, per batch of the page, from the partial index of active plates (which
    # holds units_per_print) in the same statement: one round trip fewer on a page polled every second.
    running = (
        select(func.coalesce(func.sum(PrintJob.units_per_print), 0))
        .where(PrintJob.batch_id == Batch.id, PrintJob.state.in_(ACTIVE_STATES))
        .scalar_subquery()
    )
    query = _batches_query(open_only).add_columns(running)
    if open_only:
        query = query.order_by(Batch.priority.desc(), Batch.due_at.is_(None), Batch.due_at, Batch.created_at, Batch.id)
    else:
        query = query.order_by(Batch.id.desc())
    rows = session.execute(query.offset(offset).limit(limit))
    return [BatchLine(b, part, hospital, int(g), int(r), int(u)) for b, part, hospital, g, r, u in rows]


# -- printers ------------------------------------------------------------------------------------


ONLINE = "online"


@dataclass(frozen=True)
class PrinterStateCounts:
    """Printers without an active job by (connection, is_enabled, is_bed_clear), and printers with one
    by (connection, job state): all a card's status depends on (metrics.rules.printer_status)."""

    idle: list[tuple[str, bool, bool, int]]
    busy: list[tuple[str, JobState, int]]


def printer_state_counts(session: Session, site_id: int | None = None) -> PrinterStateCounts:
    """Printers counted by what their cards depend on, over one site or all, in three indexed queries.

    Printers without an active job: ix_printers_state read in order, each probed in the partial
    unique index of active jobs. Busy printers: active jobs by state from the state index, less
    those on printers that are not online (few, found by ix_printers_state), counted apart.
    No table row of printers or of the job history is read.
    """
    key = (Printer.connection, Printer.is_enabled, Printer.is_bed_clear)
    has_job = select(PrintJob.id).where(PrintJob.printer_id == Printer.id, PrintJob.state.in_(ACTIVE_STATES)).exists()
    idle = select(*key, func.count()).where(~has_job).group_by(*key)
    jobs = select(PrintJob.state, func.count()).where(PrintJob.state.in_(ACTIVE_STATES)).group_by(PrintJob.state)
    not_online = [c.value for c in ConnectionState if c.value != ONLINE]
    elsewhere = (
        select(Printer.connection, PrintJob.state, func.count())
        .join(PrintJob, (PrintJob.printer_id == Printer.id) & PrintJob.state.in_(ACTIVE_STATES))
        .where(Printer.connection.in_(bindparam("not_online", not_online, expanding=True, literal_execute=True)))
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
    busy.extend((ONLINE, state, n) for state, n in online.items() if n)
    return PrinterStateCounts(
        idle=[(_text(c), bool(e), bool(b), int(n)) for c, e, b, n in session.execute(idle)],
        busy=busy,
    )


def _text(value: object) -> str:
    return str(getattr(value, "value", value))


def _needs_attention() -> Any:
    """Printers someone should walk to: a plate waits for QC, the bed is flagged, or it is offline."""
    waiting = select(PrintJob.printer_id).where(PrintJob.state == bindparam("finished", JobState.FINISHED.value, literal_execute=True))
    return Printer.is_bed_clear.is_(False) | (Printer.connection != "online") | Printer.id.in_(waiting)


def wall_counts(session: Session, site_id: int | None, needs_attention: bool) -> tuple[int, int]:
    """(printers that pass the filter, good units of the filter's site or of all sites), in one statement."""
    printers = select(func.count()).select_from(Printer)
    good = select(func.coalesce(func.sum(OutputBySite.good_units), 0))
    if site_id is not None:
        printers = printers.where(Printer.site_id == site_id)
        good = good.where(OutputBySite.site_id == site_id)
    if needs_attention:
        printers = printers.where(_needs_attention())
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
    after: int | None = None, before: int | None = None,
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
    if needs_attention:
        page = page.where(_needs_attention())
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


# -- sites and hospitals -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SiteLine:
    id: int
    name: str
    city: str | None
    is_paused: bool
    printers: int
    online: int
    busy: int
    beds_not_clear: int
    good_units: int
    rejected_units: int


def site_rows(session: Session) -> list[SiteLine]:
    """Every site with its printers (all, online, busy, beds not clear) and units, by name.

    Columns, not Site objects: 500 ORM instances cost more than the query (and a collection of
    their short-lived state on every few requests)."""
    fleet = (
        select(
            Printer.site_id,
            func.count().label("printers"),
            func.sum(case((Printer.connection == "online", 1), else_=0)).label("online"),
            func.count(PrintJob.printer_id).label("busy"),
            func.sum(case((Printer.is_bed_clear.is_(False), 1), else_=0)).label("not_clear"),
        )
        .select_from(Printer)
        .outerjoin(PrintJob, (PrintJob.printer_id == Printer.id) & PrintJob.state.in_(ACTIVE_STATES))
        .group_by(Printer.site_id)
        .subquery()
    )
    query = (
        select(
            Site.id, Site.name, Site.city, Site.is_paused,
            func.coalesce(fleet.c.printers, 0), func.coalesce(fleet.c.online, 0), func.coalesce(fleet.c.busy, 0),
            func.coalesce(fleet.c.not_clear, 0), func.coalesce(OutputBySite.good_units, 0),
            func.coalesce(OutputBySite.rejected_units, 0),
        )
        .outerjoin(fleet, fleet.c.site_id == Site.id)
        .outerjoin(OutputBySite, OutputBySite.site_id == Site.id)
        .order_by(Site.name)
    )
    return [
        SiteLine(i, name, city, bool(paused), int(p), int(o), int(b), int(n), int(g), int(r))
        for i, name, city, paused, p, o, b, n, g, r in session.execute(query)
    ]


def hospital_rows(session: Session) -> list[tuple[Hospital, int, int, int, int, int]]:
    """(hospital, open requested, batched, good of its batches, shipped, received), by name."""
    requested = (
        select(HospitalRequest.hospital_id, func.sum(HospitalRequest.quantity).label("units"))
        .where(HospitalRequest.is_closed.is_(False))
        .group_by(HospitalRequest.hospital_id)
        .subquery()
    )
    batched = (
        select(
            Batch.hospital_id,
            func.sum(Batch.quantity).label("units"),
            func.sum(func.coalesce(OutputByBatch.good_units, 0)).label("good"),
        )
        .outerjoin(OutputByBatch, OutputByBatch.batch_id == Batch.id)
        .where(Batch.is_cancelled.is_(False))
        .group_by(Batch.hospital_id)
        .subquery()
    )
    delivered = (
        select(
            Delivery.hospital_id,
            func.sum(case((Delivery.state.in_(SHIPPED_STATES), Delivery.units), else_=0)).label("shipped"),
            func.sum(
                case((Delivery.state == RECEIVED_STATE, func.coalesce(Delivery.units_received, Delivery.units)), else_=0)
            ).label("received"),
        )
        .group_by(Delivery.hospital_id)
        .subquery()
    )
    query = (
        select(
            Hospital,
            func.coalesce(requested.c.units, 0), func.coalesce(batched.c.units, 0), func.coalesce(batched.c.good, 0),
            func.coalesce(delivered.c.shipped, 0), func.coalesce(delivered.c.received, 0),
        )
        .outerjoin(requested, requested.c.hospital_id == Hospital.id)
        .outerjoin(batched, batched.c.hospital_id == Hospital.id)
        .outerjoin(delivered, delivered.c.hospital_id == Hospital.id)
        .order_by(Hospital.name)
    )
    return [(h, int(q), int(b), int(g), int(s), int(r)) for h, q, b, g, s, r in session.execute(query)]


# -- /metrics ------------------------------------------------------------------------------------


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
