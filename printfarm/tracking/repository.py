"""Tracking's queries: the bulk writes of an MQTT batch and the row locks that order replicas."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from printfarm.db.bulk import executemany
from printfarm.db.tables import Printer, PrintJob
from printfarm.jobs.rules import RUNNING, JobState

PRINTERS = cast(Table, Printer.__table__)
JOBS = cast(Table, PrintJob.__table__)


def lock_rows(session: Session, table: Table, ids: set[int]) -> None:
    """Lock rows of table by id, in id order (PostgreSQL; SQLite renders no FOR UPDATE)."""
    if ids:
        session.execute(select(table.c.id).where(table.c.id.in_(ids)).order_by(table.c.id).with_for_update())


def job_owners_and_states(session: Session, job_ids: Iterable[int]) -> list[tuple[int, int | None, JobState]]:
    """(job id, printer id, state) of the given jobs, read without loading ORM rows."""
    rows = session.execute(select(JOBS.c.id, JOBS.c.printer_id, JOBS.c.state).where(JOBS.c.id.in_(list(job_ids))))
    return [(job_id, printer_id, state) for job_id, printer_id, state in rows]


def update_printers(session: Session, rows: dict[int, dict[str, Any]], seen_at: dt.datetime) -> None:
    """Set each printer's columns of rows, and last_seen_at, in printer id order.

    One executemany per set of columns; rows hold plain values (floats, strings) only.
    """
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for printer_id in sorted(rows):
        values = rows[printer_id]
        by_columns.setdefault(tuple(sorted(values)), []).append(
            {"b_id": printer_id, **{f"b_{column}": value for column, value in values.items()}}
        )
    for columns, params in by_columns.items():
        statement = (
            update(PRINTERS).where(PRINTERS.c.id == bindparam("b_id"))
            .values({"last_seen_at": seen_at, **{column: bindparam(f"b_{column}") for column in columns}})
        )
        executemany(session, statement, params)


def raise_progress(session: Session, progress: dict[tuple[int, int], int]) -> None:
    """Raise running jobs' progress ((job id, printer id) -> percent) in job id order; never lower it.

    The comparison is in the WHERE clause, so it is made against the row as committed by another
    replica (PostgreSQL re-reads a row it waited for), and a message that raises nothing writes nothing.
    """
    if not progress:
        return
    statement = (
        update(JOBS)
        .where(JOBS.c.id == bindparam("b_id"), JOBS.c.printer_id == bindparam("b_printer"),
               # an IN list would be an "expanding" parameter, which executemany does not take
               or_(*(JOBS.c.state == state for state in sorted(RUNNING, key=lambda s: s.value))),
               JOBS.c.progress_percent < bindparam("b_progress"))
        .values(progress_percent=bindparam("b_progress"))
    )
    executemany(session, statement, [
        {"b_id": job_id, "b_printer": printer_id, "b_progress": value}
        for (job_id, printer_id), value in sorted(progress.items())
    ])
