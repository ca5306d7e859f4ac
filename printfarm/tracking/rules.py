"""How an OctoPrint event moves a print job: a table, so it reads as data."""

from __future__ import annotations

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
