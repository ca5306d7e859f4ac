"""What the pages call things: each printer status with what it means, and the printer's own state
words only where they tell more than the status does ("printing · Printing" says nothing twice)."""

from __future__ import annotations

from printfarm.metrics.rules import PrinterStatus

#: status: (label, what it means), shown as the tag and its tooltip.
STATUS_LABELS: dict[PrinterStatus, tuple[str, str]] = {
    PrinterStatus.FAULT: ("fault", "the printer stopped itself: held until its operator acknowledges"),
    PrinterStatus.OFFLINE: ("offline", "the printer does not answer"),
    PrinterStatus.BED_NOT_CLEAR: ("bed not clear", "a plate is on the bed: take it off and record QC"),
    PrinterStatus.PAUSED: ("paused", "a plate is paused mid-print"),
    PrinterStatus.PRINTING: ("printing", "printing a plate"),
    PrinterStatus.STARTING: ("starting", "a plate is claimed or uploading"),
    PrinterStatus.MAINTENANCE: ("maintenance", "disabled: takes no plates"),
    PrinterStatus.IDLE: ("idle", "online with a clear bed, waiting for a plate"),
}

#: The printer's own state words that each status already says (compared lower-case).
_SAID_BY_STATUS: dict[PrinterStatus, frozenset[str]] = {
    PrinterStatus.FAULT: frozenset(),
    PrinterStatus.OFFLINE: frozenset({"offline", "closed"}),
    PrinterStatus.BED_NOT_CLEAR: frozenset({"operational"}),
    PrinterStatus.PAUSED: frozenset({"paused", "pausing"}),
    PrinterStatus.PRINTING: frozenset({"printing"}),
    PrinterStatus.STARTING: frozenset({"operational", "printing"}),
    PrinterStatus.MAINTENANCE: frozenset({"operational"}),
    PrinterStatus.IDLE: frozenset({"operational"}),
}


def status_label(status: str) -> str:
    return STATUS_LABELS[PrinterStatus(status)][0]


def status_meaning(status: str) -> str:
    return STATUS_LABELS[PrinterStatus(status)][1]


def printer_words(status: str, state_text: str | None) -> str | None:
    """The printer's own state text, or None when it only repeats the status (or is empty)."""
    if not state_text or state_text.strip().lower() in _SAID_BY_STATUS[PrinterStatus(status)]:
        return None
    return state_text
