"""The printer port: what printfarm asks of one printer, whatever drives it (no library imports here).

Each printer kind (printers/kinds.py) brings a PrinterClientFactory; OctoPrint's is the first
(adapters/octoprint). Above adapters/, code sees only these types and printfarm's errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PrinterSnapshot:
    """A snapshot of one printer, as it reports itself."""

    state_text: str  # the printer's own state words: "Operational", "Printing", "Paused", "Offline", ...
    is_operational: bool  # connected to the printer board and able to take a job
    is_printing: bool
    is_paused: bool
    file_name: str | None  # the selected or printing file's name, if any
    progress_percent: float | None
    tool_temp_c: float | None = None
    bed_temp_c: float | None = None


class PrinterClient(Protocol):
    """One printer. Every call has a timeout and raises only printfarm errors:

    PrinterUnreachable (no answer, refused, timeout), PrinterAuthRejected (the credentials were
    refused), PrinterCommandFailed (answered, but refused the command: not operational, bad
    request, a server error).
    """

    def check(self) -> str:
        """Verify the address and credentials; return the printer server's version."""

    def ensure_connected(self) -> None:
        """Connect the printer server to its board if it is not (OctoPrint's Virtual Printer needs this).

        This opens the printer's serial port: printfarm calls it only to start a claimed plate on a
        printer not in fault (dispatch/service.py says when).
        """

    def status(self) -> PrinterSnapshot:
        """The printer's state, selected file and progress."""

    def start_print(self, filename: str, gcode: bytes) -> None:
        """Upload gcode as filename, select it and start printing."""

    def cancel(self) -> None:
        """Cancel the current print."""

    def pause(self) -> None:
        """Pause the current print."""

    def resume(self) -> None:
        """Resume a paused print."""


class PrinterClientFactory(Protocol):
    def __call__(self, base_url: str, api_key: str) -> PrinterClient:
        """A client for the printer at base_url, authenticating with api_key; does no I/O."""
