"""How a printer's events and answers move a print job: tables and pure functions, no I/O."""

from __future__ import annotations

from printfarm.printers.port import PrinterSnapshot
from printfarm.jobs.rules import JobState

#: event name -> the state the job moves to (only if the move is allowed; otherwise nothing happens)
EVENT_TARGET: dict[str, JobState] = {
    "PrintStarted": JobState.PRINTING,
    "PrintResumed": JobState.PRINTING,
    "PrintPaused": JobState.PAUSED,
    "PrintDone": JobState.FINISHED,
    "PrintCancelled": JobState.CANCELLED,
}


def target_for_event(event: str, reason: str | None) -> JobState | None:
    """The job state an event asks for; PrintFailed splits on its reason."""
    if event == "PrintFailed":
        return JobState.CANCELLED if reason == "cancelled" else JobState.FAILED
    return EVENT_TARGET.get(event)


def merged_progress(current: int, reported: int | None) -> int:
    """Progress only goes up: repeated or reordered messages never move it back."""
    if reported is None:
        return current
    return max(current, min(100, max(0, int(reported))))


def settled_state(current: JobState, remote_filename: str | None, status: PrinterSnapshot) -> tuple[JobState, str | None]:
    """What a job in ``current`` is, given its printer's answer: (state, reason for a failure).

    The printer's file is ours when its name is the job's remote file name. A claimed or uploading
    job whose plate the printer does not show never started; a running one it no longer shows ended
    without us hearing how.
    """
    is_ours = status.file_name is not None and status.file_name.rsplit("/", 1)[-1] == remote_filename
    if is_ours and status.is_paused:
        return JobState.PAUSED, None
    if is_ours and status.is_printing:
        return JobState.PRINTING, None
    if is_ours and (status.progress_percent or 0) >= 100:
        return JobState.FINISHED, None
    if current in (JobState.ASSIGNED, JobState.UPLOADING):
        return JobState.FAILED, "reconciled: the printer never started this plate"
    return JobState.FAILED, f"reconciled: printer is {status.state_text}, plate not found"
