"""How a printer's events and answers move a print job: tables and pure functions, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass

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


# -- what a message says about the printer itself ---------------------------------------------


class Liveness(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    FAULT = "fault"


@dataclass(frozen=True)
class PrinterSignal:
    """What one event says about its printer: online, offline or in fault, and why."""

    liveness: Liveness
    reason: str


#: OctoPrint state ids (PrinterStateChanged) of a printer without a working board.
OFFLINE_STATE_IDS = frozenset({"OFFLINE", "ERROR", "CLOSED", "CLOSED_WITH_ERROR"})
#: OctoPrint state ids of a printer whose board works (connecting and detecting say nothing yet).
ONLINE_STATE_IDS = frozenset({
    "OPERATIONAL", "PRINTING", "PAUSED", "PAUSING", "RESUMING", "STARTING", "FINISHING", "CANCELLING",
    "TRANSFERING_FILE",
})
#: Words of firmware errors that stopped the printer for its own safety (OctoPrint's error FAQs
#: and Marlin's kill()): the printer is held for a person even where OctoPrint sent no M112.
EMERGENCY_WORDS = ("thermal runaway", "kill() called", "mintemp", "maxtemp", "heating failed", "printer halted")
#: Events that may say something about the printer itself (a dict lookup per message decides).
PRINTER_EVENTS = frozenset({"Connected", "Disconnected", "PrinterStateChanged", "Error", "PrintFailed"})


def is_emergency(reason: str | None, consequence: str | None, error: str | None) -> bool:
    """An OctoPrint Error that stopped the printer: consequence emergency, or a firmware error in EMERGENCY_WORDS."""
    if consequence == "emergency":
        return True
    text = (error or "").lower()
    return reason == "firmware" and any(word in text for word in EMERGENCY_WORDS)


def printer_signal(
    event: str, *, reason: str | None = None, state_id: str | None = None, state_string: str | None = None,
    error: str | None = None, consequence: str | None = None,
) -> PrinterSignal | None:
    """What an OctoPrint event says about its printer, or None when it says nothing.

    Connected and a state with a working board: online. Disconnected and an Offline / Error /
    Closed state: offline. A firmware emergency (Error) and a print failed with reason ``error``:
    fault, with OctoPrint's message. Another Error that closed the connection: offline.
    """
    if event not in PRINTER_EVENTS:
        return None
    if event == "PrintFailed":
        if reason != "error":
            return None
        return PrinterSignal(Liveness.FAULT, f"print failed: {error or 'an error (no message)'}")
    if event == "Error":
        if is_emergency(reason, consequence, error):
            return PrinterSignal(Liveness.FAULT, f"{reason or 'printer'} error: {error or 'no message'}")
        if consequence in ("disconnect", "emergency"):
            return PrinterSignal(Liveness.OFFLINE, f"OctoPrint error ({reason}): {error or 'no message'}")
        return None
    if event == "Connected":
        return PrinterSignal(Liveness.ONLINE, "OctoPrint connected to its board")
    if event == "Disconnected":
        return PrinterSignal(Liveness.OFFLINE, "OctoPrint disconnected from its board")
    state = (state_id or "").upper() or _state_id_of(state_string)
    if state in OFFLINE_STATE_IDS:
        return PrinterSignal(Liveness.OFFLINE, f"OctoPrint state {state_string or state}")
    if state in ONLINE_STATE_IDS:
        return PrinterSignal(Liveness.ONLINE, f"OctoPrint state {state_string or state}")
    return None


def _state_id_of(state_string: str | None) -> str:
    """A state id from OctoPrint's state words, for a feed that sends only those."""
    text = (state_string or "").strip().lower()
    if text.startswith(("offline", "error", "closed")):
        return "OFFLINE"
    return text.upper().replace(" ", "_")
