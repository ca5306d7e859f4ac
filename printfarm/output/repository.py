"""The output rollups, written beside the Output rows: units per site and day, per batch, per site.

They are the sums of Output rows, added to in the QC transaction that writes each row (complete_job),
so the dashboards (printfarm.metrics) read a few rows instead of summing a million; after a bulk load
of Output rows, rebuild_rollups recomputes them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from printfarm.db.tables import Batch, Output, OutputByBatch, OutputBySite, OutputDaily


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


def good_units_and_quantity(session: Session, batch_id: int) -> tuple[int, int]:
    """A batch's QC-passed units so far (its rollup, this transaction's included) and the units it wants."""
    row = session.execute(
        select(func.coalesce(OutputByBatch.good_units, 0), Batch.quantity)
        .select_from(Batch)
        .outerjoin(OutputByBatch, OutputByBatch.batch_id == Batch.id)
        .where(Batch.id == batch_id)
    ).one()
    return int(row[0]), int(row[1])
