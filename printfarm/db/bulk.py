"""executemany without SQLAlchemy's per-row work, for the hot bulk writes of MQTT ingest on SQLite.

(PostgreSQL takes one statement per batch instead: see printfarm/tracking/repository.py.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import UpdateBase
from sqlalchemy.orm import Session


def executemany(session: Session, statement: UpdateBase, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run statement once per row of parameters, as one DBAPI executemany in the session's transaction.

    SQLAlchemy's own executemany builds and type-processes each row's parameters, about 4 µs a row
    (bench/ingest.py writes up to 10,000 rows a batch). Here the statement is compiled once and the
    rows go to the driver as they are, so they must hold values every driver takes unconverted
    (int, float, str, None): anything needing conversion (a datetime, an enum) belongs in the
    statement as a literal value, which is converted once for all rows.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect)
    constants: dict[str, Any] = {}
    for name, bind in compiled.binds.items():
        if name not in rows[0]:
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            value = bind.effective_value
            constants[name] = process(value) if process is not None else value
    if compiled.positiontup is None:
        raise ValueError(f"executemany: {dialect.name}'s named parameters are not supported; it is for SQLite")
    template = [constants.get(name) for name in compiled.positiontup]
    slots = [(i, name) for i, name in enumerate(compiled.positiontup) if name not in constants]
    params: list[tuple[Any, ...]] = []
    for row in rows:
        values = template.copy()
        for i, name in slots:
            values[i] = row[name]
        params.append(tuple(values))
    connection.exec_driver_sql(str(compiled), params)
