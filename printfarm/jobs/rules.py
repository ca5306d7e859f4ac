"""The PrintJob state machine as data: states, named sets and allowed moves."""

from __future__ import annotations

import enum
import re

from printfarm.errors import InvalidTransition


class JobState(enum.StrEnum):
    ASSIGNED = "assigned"  # claimed in the database, nothing sent to the printer yet
    UPLOADING = "uploading"  # the file is being sent and the print started
    PRINTING = "printing"
    PAUSED = "paused"
    FINISHED = "finished"  # the printer reported PrintDone; the plate waits on the bed for QC
    COMPLETED = "completed"  # bed cleared and QC recorded
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"  # the printer vanished and reconciliation could not find the print


#: States in which a job occupies its printer; at most one per printer (a unique index holds it).
ACTIVE = frozenset(
    {JobState.ASSIGNED, JobState.UPLOADING, JobState.PRINTING, JobState.PAUSED, JobState.FINISHED}
)
#: States in which the printer is (or may be) moving.
RUNNING = frozenset({JobState.UPLOADING, JobState.PRINTING, JobState.PAUSED})
#: States a job never leaves. Failed, cancelled and lost jobs free their units for another plate.
#: (A lost plate found finished later becomes a new FINISHED job: jobs/moves.py found_finished.)
TERMINAL = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED, JobState.LOST})
#: Cancelling is allowed from these.
CANCELLABLE = frozenset({JobState.ASSIGNED, JobState.UPLOADING, JobState.PRINTING, JobState.PAUSED})

#: Ends without units: the plate's units go back to its batch.
ENDINGS = frozenset({JobState.FAILED, JobState.CANCELLED, JobState.LOST})

ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.ASSIGNED: frozenset({JobState.UPLOADING, *ENDINGS}),
    # a short print may report PrintStarted and PrintDone before the start call returns
    JobState.UPLOADING: frozenset({JobState.PRINTING, JobState.FINISHED, *ENDINGS}),
    JobState.PRINTING: frozenset({JobState.PAUSED, JobState.FINISHED, *ENDINGS}),
    JobState.PAUSED: frozenset({JobState.PRINTING, JobState.FINISHED, *ENDINGS}),
    JobState.FINISHED: frozenset({JobState.COMPLETED}),
    JobState.COMPLETED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
    JobState.LOST: frozenset(),
}


def is_found_finished(current: JobState, target: JobState) -> bool:
    """A lost plate whose printer reports it done after all (moves.found_finished records it)."""
    return current is JobState.LOST and target is JobState.FINISHED


def can_move(current: JobState, target: JobState) -> bool:
    return target in ALLOWED[current]


def bed_clear_after(target: JobState, *, has_started: bool) -> bool | None:
    """The printer's bed-clear flag once its job moved into target; None leaves the flag as it is.

    A plate printing, paused or finished is on the bed. A print that ended without units after it
    started may have left something there, so a person must look first. QC is recorded only when
    the plate came off (by its operator, or a site's automatic acceptance): the bed is clear again.
    """
    if target is JobState.COMPLETED:
        return True
    if target in (JobState.PRINTING, JobState.PAUSED, JobState.FINISHED):
        return False
    if target in ENDINGS and has_started:
        return False
    return None


def check_move(job_id: int, current: JobState, target: JobState) -> None:
    """Raise InvalidTransition unless the job may move from current to target."""
    if not can_move(current, target):
        raise InvalidTransition(f"print job {job_id}: cannot go from {current.value} to {target.value}")


_REMOTE_NAME = re.compile(r"^pf-(\d+)-[A-Za-z0-9_.-]*\.gcode$")


def remote_filename(job_id: int, part_name: str) -> str:
    """The file name sent to the printer; it embeds the job id so every event maps to one job."""
    prefix, suffix = remote_filename_around_id(part_name)
    return f"{prefix}{job_id}{suffix}"


def remote_filename_around_id(part_name: str) -> tuple[str, str]:
    """What comes before and after the job id in remote_filename (for building names in SQL)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", part_name).strip("_").lower()[:40] or "part"
    return "pf-", f"-{slug}.gcode"


def job_id_from_filename(name: str | None) -> int | None:
    """The job id a printer's file name names, or None for a file printfarm did not send."""
    if not name:
        return None
    base = name.rsplit("/", 1)[-1]
    match = _REMOTE_NAME.match(base)
    return int(match.group(1)) if match else None
