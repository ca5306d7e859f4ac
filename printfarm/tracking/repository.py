"""Tracking's queries: the bulk writes of an MQTT batch and the row locks that order replicas.

A batch writes up to one row per printer and job of the fleet (10,000 in bench/ingest.py). On
SQLite, an executemany of one UPDATE is cheapest (the driver loops in C); on PostgreSQL, one UPDATE
... FROM unnest(arrays) per batch: psycopg's executemany spent ~15 µs of Python a row in its pipeline.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Integer, Table, any_, bindparam, func, or_, select, text, type_coerce, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from printfarm.db.bulk import executemany
from printfarm.db.tables import Printer, PrintJob
from printfarm.jobs.rules import RUNNING, JobState

PRINTERS = cast(Table, Printer.__table__)
JOBS = cast(Table, PrintJob.__table__)


def lock_rows(session: Session, table: Table, ids: set[int]) -> None:
    """Lock rows of table by id, in id order (PostgreSQL; SQLite renders no FOR UPDATE)."""
    if ids:
        session.execute(select(table.c.id).where(_id_in(session, table.c.id, ids)).order_by(table.c.id).with_for_update())


def job_owners_and_states(session: Session, job_ids: Iterable[int]) -> list[tuple[int, int | None, JobState]]:
    """(job id, printer id, state) of the given jobs, read without loading ORM rows."""
    rows = session.execute(select(JOBS.c.id, JOBS.c.printer_id, JOBS.c.state).where(_id_in(session, JOBS.c.id, job_ids)))
    return [(job_id, printer_id, state) for job_id, printer_id, state in rows]


def update_printers(session: Session, rows: dict[int, dict[str, Any]], seen_at: dt.datetime) -> None:
    """Set each printer's columns of rows (bed_temp_c, tool_temp_c, state_text), and last_seen_at.

    On PostgreSQL the caller must hold the printers' row locks (lock_rows): the one statement
    updates its rows in no set order.
    """
    if not rows:
        return
    if _is_postgresql(session):
        # one JSON text parameter: json.dumps works in C, where psycopg dumps array parameters element by element
        documents = json.dumps([{"id": printer_id, **rows[printer_id]} for printer_id in sorted(rows)])
        session.execute(_UPDATE_PRINTERS_POSTGRESQL, {"rows": documents, "seen_at": seen_at})
        return
    # one executemany per set of columns, in printer id order
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for printer_id in sorted(rows):
        values = rows[printer_id]
        by_columns.setdefault(tuple(sorted(values)), []).append(
            {"b_id": printer_id, **{f"b_{column}": value for column, value in values.items()}}
        )
    for columns_set, params in by_columns.items():
        statement = (
            update(PRINTERS).where(PRINTERS.c.id == bindparam("b_id"))
            .values({"last_seen_at": seen_at, **{column: bindparam(f"b_{column}") for column in columns_set}})
        )
        executemany(session, statement, params)


def raise_progress(session: Session, progress: dict[tuple[int, int], int]) -> None:
    """Raise running jobs' progress ((job id, printer id) -> percent); never lower it.

    The comparison is in the WHERE clause, so it is made against the row as committed by another
    replica (PostgreSQL re-reads a row it waited for), and a message that raises nothing writes
    nothing. On PostgreSQL the caller must hold the jobs' row locks (lock_rows).
    """
    if not progress:
        return
    keys = sorted(progress)
    if _is_postgresql(session):
        documents = json.dumps([[job_id, printer_id, progress[(job_id, printer_id)]] for job_id, printer_id in keys])
        session.execute(_RAISE_PROGRESS_POSTGRESQL, {"rows": documents, "running": sorted(s.value for s in RUNNING)})
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
        {"b_id": job_id, "b_printer": printer_id, "b_progress": progress[(job_id, printer_id)]}
        for job_id, printer_id in keys
    ])


# A key missing from a printer's document leaves that column alone; a key with null sets NULL.
_UPDATE_PRINTERS_POSTGRESQL = text(f"""
    UPDATE {PRINTERS.name} AS p
    SET last_seen_at = :seen_at,
        bed_temp_c = CASE WHEN jsonb_exists(r.doc, 'bed_temp_c') THEN CAST(r.doc->>'bed_temp_c' AS double precision)
                          ELSE p.bed_temp_c END,
        tool_temp_c = CASE WHEN jsonb_exists(r.doc, 'tool_temp_c') THEN CAST(r.doc->>'tool_temp_c' AS double precision)
                           ELSE p.tool_temp_c END,
        state_text = CASE WHEN jsonb_exists(r.doc, 'state_text') THEN r.doc->>'state_text' ELSE p.state_text END
    FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS r(doc)
    WHERE p.id = CAST(r.doc->>'id' AS integer)
""")

_RAISE_PROGRESS_POSTGRESQL = text(f"""
    UPDATE {JOBS.name} AS j
    SET progress_percent = CAST(r.row->>2 AS integer)
    FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS r(row)
    WHERE j.id = CAST(r.row->>0 AS integer) AND j.printer_id = CAST(r.row->>1 AS integer)
      AND j.state = ANY(CAST(:running AS varchar[])) AND j.progress_percent < CAST(r.row->>2 AS integer)
""")


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _id_in(session: Session, column: Any, ids: Iterable[int]) -> Any:
    """column IN ids: one array parameter on PostgreSQL, not one parameter per id to render and bind."""
    if _is_postgresql(session):
        # the ids as one JSON parameter (dumped in C), not as an array psycopg dumps id by id
        elements = func.jsonb_array_elements_text(type_coerce(sorted(ids), JSONB))
        return column == any_(select(elements.cast(Integer)).scalar_subquery())
    return column.in_(list(ids))
