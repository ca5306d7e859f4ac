"""Rows by primary key for the use-cases: a missing id is the domain's NotFound, worded once."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from printfarm.db.base import Base
from printfarm.errors import NotFound

Row = TypeVar("Row", bound=Base)


def get_existing(session: Session, table: type[Row], row_id: int, label: str) -> Row:
    """The row of table with id row_id; NotFound "<label> <row_id> does not exist" when there is none."""
    row = session.get(table, row_id)
    if row is None:
        raise NotFound(f"{label} {row_id} does not exist")
    return row
