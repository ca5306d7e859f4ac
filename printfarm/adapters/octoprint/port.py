"""The printer port: what printfarm asks of one OctoPrint instance (no library imports here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PrinterStatus:
    """A snapshot of one printer, as its OctoPrint reports it."""

    state_text: str  # OctoPrint's state string: "Operational", "Printing", "Paused", "Offline", ...
    is_operational: bool  # connected to the printer board and able to take a job
    is_printing: bool
    is_paused: bool
    file_name: str | None  # the selected or printing file's name, if any
    progress_percent: float | None
    tool_temp_c: float | None = None
    bed_temp_c: float | None = None


class PrinterClient(Protocol):
    """One OctoPrint instance. Every call has a timeout and raises only printfarm errors:

    PrinterUnreachable (no answer, refused, timeout), PrinterAuthRejected (401/403 on the key),
    PrinterCommandFailed (answered, but refused the command: 409 not operational, 400, 5xx).
    """

    def check(self) -> str:
        """Verify the URL and API key; return OctoPrint's server version."""

    def ensure_connected(self) -> None:
        """Connect OctoPrint to its printer board if it is not (the Virtual Printer needs this)."""

    def status(self) -> PrinterStatus:
        """The printer's state, selected file and progress."""

    def start_print(self, filename: str, gcode: bytes) -> None:
        """Upload gcode to local storage as filename, select it and start printing."""

    def cancel(self) -> None:
        """Cancel the current print."""

    def pause(self) -> None:
        """Pause the current print."""

    def resume(self) -> None:
        """Resume a paused print."""


class PrinterClientFactory(Protocol):
    def __call__(self, base_url: str, api_key: str) -> PrinterClient:
        """A client for the OctoPrint at base_url, authenticating with api_key."""
