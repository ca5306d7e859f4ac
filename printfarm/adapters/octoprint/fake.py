"""An in-memory OctoPrint for the fast test layer: the PrinterClient contract, plus knobs.

A FakePrinter is the device (state, uploaded files, knobs); a FakePrinterClient talks to one
FakePrinter with one API key, as the real adapter talks to one OctoPrint; a FakePrinterFleet is a
PrinterClientFactory keyed by base URL. The contract suite in tests/adapters/octoprint runs
against this fake and the real adapter alike, so the two cannot drift.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from printfarm.errors import PrinterAuthRejected, PrinterCommandFailed, PrinterUnreachable
from printfarm.printers.port import PrinterClient, PrinterSnapshot

FAKE_OCTOPRINT_VERSION = "1.11.8"


@dataclass
class FakePrinter:
    """One fake OctoPrint and its board. Change the knobs directly; all methods are thread-safe.

    Knobs: is_reachable (False: every call raises PrinterUnreachable), api_key (the only key it
    accepts), fail_next_start (the next start_print raises PrinterCommandFailed), is_connected
    (the board connection; ensure_connected sets it). A print runs until finish_print(),
    fail_print() or cancel.
    """

    base_url: str = "http://fake-octoprint.invalid"
    api_key: str = "fake-api-key"
    is_reachable: bool = True
    is_connected: bool = False
    fail_next_start: bool = False
    uploads: dict[str, bytes] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    finished_files: list[str] = field(default_factory=list)
    state_text: str = "Offline"
    file_name: str | None = None
    progress_percent: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- knobs for tests --------------------------------------------------------------------

    def set_progress(self, progress_percent: float) -> None:
        with self._lock:
            if self.state_text in ("Printing", "Paused"):
                self.progress_percent = progress_percent

    def finish_print(self) -> None:
        """The running print completes: 100 %, back to Operational with the file still selected."""
        with self._lock:
            if self.state_text not in ("Printing", "Paused"):
                raise AssertionError(f"{self.base_url}: finish_print while {self.state_text}")
            self.state_text, self.progress_percent = "Operational", 100.0
            if self.file_name is not None:
                self.finished_files.append(self.file_name)

    def fail_print(self) -> None:
        """The running print fails, as on a firmware error: the board connection is lost."""
        with self._lock:
            self.state_text, self.is_connected = "Offline after error", False

    # -- what the client calls --------------------------------------------------------------

    def _enter(self, api_key: str, call: str) -> None:
        """Record the call; raise as OctoPrint would for an unreachable host or a wrong key."""
        self.calls.append(call)
        if not self.is_reachable:
            raise PrinterUnreachable(f"printer {self.base_url}: {call} → connection failed (fake: unreachable)")
        if api_key != self.api_key:
            raise PrinterAuthRejected(f"printer {self.base_url}: {call} → HTTP 403 FORBIDDEN (the API key was refused)")

    def _refuse(self, call: str, reason: str) -> PrinterCommandFailed:
        return PrinterCommandFailed(f"printer {self.base_url}: {call} → HTTP 409 CONFLICT: {reason}")


class FakePrinterClient(PrinterClient):
    """A PrinterClient for one FakePrinter (a new one, holding api_key, unless printer is given)."""

    def __init__(
        self,
        base_url: str = "http://fake-octoprint.invalid",
        api_key: str = "fake-api-key",
        *,
        printer: FakePrinter | None = None,
    ) -> None:
        self.base_url = base_url
        self.printer = printer if printer is not None else FakePrinter(base_url=base_url, api_key=api_key)
        self._api_key = api_key

    def __repr__(self) -> str:
        return f"FakePrinterClient({self.base_url!r})"

    def check(self) -> str:
        with self.printer._lock:
            self.printer._enter(self._api_key, "GET /api/version")
            return FAKE_OCTOPRINT_VERSION

    def ensure_connected(self) -> None:
        p = self.printer
        with p._lock:
            p._enter(self._api_key, "POST /api/connection connect")
            if not p.is_connected:
                p.is_connected, p.state_text = True, "Operational"

    def status(self) -> PrinterSnapshot:
        p = self.printer
        with p._lock:
            p._enter(self._api_key, "GET /api/printer")
            if not p.is_connected:
                return PrinterSnapshot(p.state_text, False, False, False, None, None)
            is_printing = p.state_text == "Printing"
            return PrinterSnapshot(
                state_text=p.state_text,
                is_operational=True,
                is_printing=is_printing,
                is_paused=p.state_text == "Paused",
                file_name=p.file_name,
                progress_percent=p.progress_percent,
                tool_temp_c=215.0 if is_printing else 25.0,
                bed_temp_c=60.0 if is_printing else 25.0,
            )

    def start_print(self, filename: str, gcode: bytes) -> None:
        p = self.printer
        call = "POST /api/files/local"
        with p._lock:
            p._enter(self._api_key, call)
            p.uploads[filename] = gcode
            if p.fail_next_start:
                p.fail_next_start = False
                raise p._refuse(call, f"uploaded {filename!r} but the print did not start (fake: fail_next_start)")
            if not p.is_connected or p.state_text != "Operational":
                raise p._refuse(call, f"uploaded {filename!r} but the printer is {p.state_text}")
            p.state_text, p.file_name, p.progress_percent = "Printing", filename, 0.0

    def cancel(self) -> None:
        self._job_command("cancel", ("Printing", "Paused"), "Operational")

    def pause(self) -> None:
        self._job_command("pause", ("Printing", "Paused"), "Paused")

    def resume(self) -> None:
        self._job_command("resume", ("Printing", "Paused"), "Printing")

    def _job_command(self, command: str, allowed_from: tuple[str, ...], to_state: str) -> None:
        p = self.printer
        call = f"POST /api/job {command}"
        with p._lock:
            p._enter(self._api_key, call)
            if p.state_text not in allowed_from:
                raise p._refuse(call, f"Printer is neither printing nor paused, '{command}' command cannot be performed")
            p.state_text = to_state
            if command == "cancel":
                p.progress_percent = None  # as OctoPrint: only a finished print keeps its completion


class FakePrinterFleet:
    """A PrinterClientFactory over FakePrinters keyed by base URL; unknown URLs are unreachable."""

    def __init__(self) -> None:
        self.printers: dict[str, FakePrinter] = {}

    def add(self, base_url: str, api_key: str = "fake-api-key", *, is_connected: bool = False) -> FakePrinter:
        printer = FakePrinter(base_url=base_url, api_key=api_key, is_connected=is_connected)
        if is_connected:
            printer.state_text = "Operational"
        self.printers[base_url] = printer
        return printer

    def __call__(self, base_url: str, api_key: str) -> PrinterClient:
        printer = self.printers.get(base_url)
        if printer is None:
            printer = FakePrinter(base_url=base_url, api_key=api_key, is_reachable=False)
        return FakePrinterClient(base_url, api_key, printer=printer)
