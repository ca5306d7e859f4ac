"""A printer's timeline: its connection changes, faults, plates and beds, as rows written with the
unit of work that made them happen (Database.before_commit) and read newest first, a page at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from printfarm.db.tables import PrinterTimelineEntry
from printfarm.events import (
    BedCleared, Event, FaultAcknowledged, PlateFailed, PlateFinished, PlateLost, PlateStarted, PrinterEnabled,
    PrinterFault, PrinterOffline, PrinterOnline, PrinterRegistered,
)

_DETAIL_CHARS = 500


def entry_of(event: Event) -> dict[str, Any] | None:
    """The timeline row of a domain event (printer_id, at, kind, job_id, detail), or None for other events."""
    job_id = getattr(event, "job_id", None)
    detail: str | None
    if isinstance(event, PrinterOnline):
        kind, detail = "online", event.via
    elif isinstance(event, PrinterOffline):
        kind, detail = "offline", event.reason
    elif isinstance(event, PrinterFault):
        kind, detail = "fault", event.reason
    elif isinstance(event, FaultAcknowledged):
        kind, detail = "fault_acknowledged", f"by {event.by}: {event.reason}" if event.by else event.reason
    elif isinstance(event, PlateStarted):
        kind, detail = "plate_started", f"batch {event.batch_id}"
    elif isinstance(event, PlateFinished):
        kind, detail = "plate_finished", f"batch {event.batch_id}"
    elif isinstance(event, PlateFailed):
        kind, detail = f"plate_{event.state}", event.reason or None
    elif isinstance(event, PlateLost):
        kind, detail = "plate_lost", event.reason
    elif isinstance(event, BedCleared):
        kind = "bed_cleared"
        detail = f"good {event.good_units}, rejected {event.rejected_units}" + (" (automatic QC)" if event.is_automatic else "")
    elif isinstance(event, PrinterRegistered):
        kind, detail = "registered", event.base_topic
    elif isinstance(event, PrinterEnabled):
        kind, detail = "enabled", None
    else:
        return None
    return {
        "printer_id": getattr(event, "printer_id"), "at": event.at, "kind": kind, "job_id": job_id,
        "detail": detail[:_DETAIL_CHARS] if detail else None,
    }


def record_timeline(session: Session, events: Sequence[Event]) -> None:
    """Database.before_commit hook: one timeline row per printer event of the unit of work, in one statement."""
    rows = [row for event in events if (row := entry_of(event)) is not None]
    if rows:
        session.execute(insert(PrinterTimelineEntry), rows)


def timeline_page(session: Session, printer_id: int, before: int | None, limit: int) -> list[PrinterTimelineEntry]:
    """The printer's entries newest first: the `limit` before entry id `before` (keyset paging), or the newest."""
    query = select(PrinterTimelineEntry).where(PrinterTimelineEntry.printer_id == printer_id)
    if before is not None:
        query = query.where(PrinterTimelineEntry.id < before)
    return list(session.scalars(query.order_by(PrinterTimelineEntry.id.desc()).limit(limit)))
