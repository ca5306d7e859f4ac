"""Pure rules of the dashboards: what a printer card says, time left, paging."""

from __future__ import annotations

import datetime as dt
import enum
import math

from printfarm.jobs.rules import ACTIVE, JobState
from printfarm.printers.rules import ConnectionState


class PrinterStatus(enum.StrEnum):
    """What a printer card shows, most pressing first."""

    OFFLINE = "offline"
    BED_NOT_CLEAR = "bed-not-clear"  # a finished plate waits for QC, or the operator flagged the bed
    PAUSED = "paused"
    PRINTING = "printing"
    STARTING = "starting"  # claimed or uploading
    MAINTENANCE = "maintenance"
    IDLE = "idle"


def printer_status(
    connection: str, is_enabled: bool, is_bed_clear: bool, job_state: JobState | None
) -> PrinterStatus:
    if job_state is JobState.FINISHED or (job_state is None and not is_bed_clear):
        return PrinterStatus.BED_NOT_CLEAR
    if connection != ConnectionState.ONLINE:
        return PrinterStatus.OFFLINE
    if job_state is JobState.PAUSED:
        return PrinterStatus.PAUSED
    if job_state is JobState.PRINTING:
        return PrinterStatus.PRINTING
    if job_state in (JobState.ASSIGNED, JobState.UPLOADING):
        return PrinterStatus.STARTING
    if not is_enabled:
        return PrinterStatus.MAINTENANCE
    return PrinterStatus.IDLE


def busy_printer_status(connection: str, job_state: JobState) -> PrinterStatus:
    """What the card of a printer with an active job shows: its connection and the job's state decide,
    whether it is enabled or its bed flagged does not (so counts need not read those of busy printers)."""
    if job_state not in ACTIVE:
        raise ValueError(f"{job_state.value} is not an active job state")
    return printer_status(connection, True, True, job_state)


def time_left_seconds(
    progress_percent: int, started_at: dt.datetime | None, now: dt.datetime, estimated_seconds: float | None
) -> int | None:
    """Seconds until the plate is done: from the pace so far once it has moved, else the slicer's estimate.

    None when neither is known (no start time and no estimate).
    """
    progress = min(max(progress_percent, 0), 100)
    if progress >= 100:
        return 0
    if started_at is not None and progress > 0:
        elapsed = max((now - started_at).total_seconds(), 0.0)
        return round(elapsed * (100 - progress) / progress)
    if estimated_seconds is not None and estimated_seconds > 0:
        return round(estimated_seconds * (100 - progress) / 100)
    return None


def duration_text(seconds: int | None) -> str:
    """'1 h 05 min', '12 min', '< 1 min'; an empty string for unknown."""
    if seconds is None:
        return ""
    if seconds < 60:
        return "< 1 min"
    minutes = seconds // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def page_count(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


def clamp_page(page: int, total: int, per_page: int) -> int:
    """Pages count from 1; a page past the end shows the last one."""
    return min(max(page, 1), page_count(total, per_page))
