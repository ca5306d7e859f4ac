"""Pure rules of the dashboards: what a printer card says, time left, paging."""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from printfarm.jobs.rules import ACTIVE, JobState
from printfarm.printers.rules import ConnectionState


class PrinterStatus(enum.StrEnum):
    """What a printer card shows, most pressing first."""

    FAULT = "fault"  # the printer stopped itself; held until its operator acknowledges
    OFFLINE = "offline"
    BED_NOT_CLEAR = "bed-not-clear"  # a finished plate waits for QC, or the operator flagged the bed
    PAUSED = "paused"
    PRINTING = "printing"
    STARTING = "starting"  # claimed or uploading
    MAINTENANCE = "maintenance"
    IDLE = "idle"


#: Job states of a plate that waits on the bed for a person to take it off and record its QC.
WAITS_FOR_QC = frozenset({JobState.FINISHED})


@dataclass(frozen=True)
class PrinterCase:
    """Printers by what their cards depend on: a printer is in the case when its connection, its bed
    flag and the state of its active job (None: it has none) are each among these."""

    connections: frozenset[ConnectionState] = frozenset(ConnectionState)
    bed_clear: frozenset[bool] = frozenset({True, False})
    job_states: frozenset[JobState | None] = frozenset({None, *ACTIVE})

    def holds(self, connection: str, is_bed_clear: bool, job_state: JobState | None) -> bool:
        return connection in self.connections and is_bed_clear in self.bed_clear and job_state in self.job_states


#: A person should walk to a printer in any of these cases: the wall's "needs attention" filter,
#: which the repository turns into SQL (metrics.repository.wall.needs_attention_clause).
ATTENTION_CASES = (
    PrinterCase(connections=frozenset(ConnectionState) - {ConnectionState.ONLINE}),  # unreachable or not yet seen
    PrinterCase(job_states=WAITS_FOR_QC),  # a plate waits for QC
    # a failed or cancelled plate left something, or the operator flagged the bed
    PrinterCase(bed_clear=frozenset({False}), job_states=frozenset({None})),
)
#: The card statuses of exactly the printers that need attention.
NEEDS_ATTENTION = frozenset({PrinterStatus.FAULT, PrinterStatus.OFFLINE, PrinterStatus.BED_NOT_CLEAR})


def needs_attention(connection: str, is_bed_clear: bool, job_state: JobState | None) -> bool:
    """Whether a person should walk to the printer (job_state: of its active job, None without one)."""
    return any(case.holds(connection, is_bed_clear, job_state) for case in ATTENTION_CASES)


def printer_status(
    connection: str, is_enabled: bool, is_bed_clear: bool, job_state: JobState | None
) -> PrinterStatus:
    if connection == ConnectionState.FAULT:
        return PrinterStatus.FAULT
    if job_state in WAITS_FOR_QC or (job_state is None and not is_bed_clear):
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


#: A workshop's wall (web/wall.py): what waits for a person first. Printers of an earlier status come first.
WALL_ORDER: tuple[PrinterStatus, ...] = (
    PrinterStatus.FAULT, PrinterStatus.BED_NOT_CLEAR, PrinterStatus.OFFLINE, PrinterStatus.PAUSED,
    PrinterStatus.PRINTING, PrinterStatus.STARTING, PrinterStatus.IDLE, PrinterStatus.MAINTENANCE,
)
#: Within a status: "waiting" puts the longest waiting first (unknown since when: after those known),
#: "time_left" the plate done soonest first (unknown last), "name" orders by name alone.
WALL_WITHIN: dict[PrinterStatus, str] = {
    PrinterStatus.FAULT: "waiting", PrinterStatus.BED_NOT_CLEAR: "waiting", PrinterStatus.OFFLINE: "waiting",
    PrinterStatus.PAUSED: "waiting", PrinterStatus.PRINTING: "time_left", PrinterStatus.STARTING: "name",
    PrinterStatus.IDLE: "name", PrinterStatus.MAINTENANCE: "name",
}


class WallTile(Protocol):
    """What the wall's order reads of a printer (metrics.schemas.PrinterCard has it)."""

    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def waiting_since(self) -> dt.datetime | None: ...
    @property
    def time_left_seconds(self) -> int | None: ...


Tile = TypeVar("Tile", bound=WallTile)
_NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)


def _wall_key(tile: WallTile) -> tuple[int, bool, dt.datetime | int, str]:
    status = PrinterStatus(tile.status)
    within = WALL_WITHIN[status]
    if within == "waiting":
        since = tile.waiting_since
        return WALL_ORDER.index(status), since is None, since.astimezone(dt.UTC) if since else _NEVER, tile.name
    if within == "time_left":
        left = tile.time_left_seconds
        return WALL_ORDER.index(status), left is None, left if left is not None else 0, tile.name
    return WALL_ORDER.index(status), False, 0, tile.name


def wall_order(tiles: Iterable[Tile]) -> list[Tile]:
    """The tiles in the wall's order (WALL_ORDER, then WALL_WITHIN, then name)."""
    return sorted(tiles, key=_wall_key)
