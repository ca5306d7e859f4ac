"""A simulated OctoPrint and its board: states, the selected file, and a print in compressed time.

All state sits behind one lock. HTTP handlers call in from their threads; a ticker thread advances
the print. Telemetry (events, progress, temperatures) goes to a sink in the order it happens.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from printfarm.sim.gcode import estimated_print_seconds

AMBIENT_C = 25.0
PRINT_TOOL_C = 215.0
PRINT_BED_C = 60.0
_TICK_SECONDS = 0.02

# States in which OctoPrint has a board connection (the rest answer 409 on /api/printer).
CONNECTED_STATES = frozenset({"Operational", "Printing", "Paused", "Cancelling"})
JOB_STATES = frozenset({"Printing", "Paused"})


class Telemetry(Protocol):
    """Where the machine reports what happens (the MQTT publisher, or a list in tests)."""

    def event(self, name: str, payload: dict[str, Any]) -> None: ...

    def progress(self, path: str, progress_percent: int) -> None: ...

    def temperature(self, heater: str, actual_c: float, target_c: float) -> None: ...


class Refused(Exception):
    """A request OctoPrint would refuse: the HTTP status and its error text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class PrintTiming:
    """How simulated time maps to real time: real seconds = sim seconds / time_scale."""

    time_scale: float = 600.0
    min_print_seconds: float = 1.0  # real seconds, however short the plate
    default_print_seconds: float = 3600.0  # sim seconds, for G-code without a slicer estimate
    progress_step_percent: int = 10
    progress_interval_sim_seconds: float = 5.0  # at most one progress message per this much sim time


@dataclass
class _Job:
    name: str
    size: int
    sim_seconds: float
    real_seconds: float
    fail_at_percent: float | None
    active_real_seconds: float = 0.0
    last_progress_percent: int = 0
    last_progress_sim_seconds: float = 0.0

    @property
    def progress_fraction(self) -> float:
        return min(1.0, self.active_real_seconds / self.real_seconds)

    @property
    def sim_elapsed_seconds(self) -> float:
        return self.progress_fraction * self.sim_seconds


class SimulatedMachine:
    """The printer side of one simulated OctoPrint; see SimulatedPrinter for the knobs."""

    def __init__(
        self,
        telemetry: Telemetry,
        *,
        timing: PrintTiming = PrintTiming(),
        fail_probability: float = 0.0,
        rng: random.Random | None = None,
        is_connected: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timing = timing
        self.fail_probability = fail_probability
        self._telemetry = telemetry
        self._rng = rng or random.Random()
        self._monotonic = monotonic
        self._lock = threading.RLock()
        self._state = "Operational" if is_connected else "Closed"
        self._files: dict[str, bytes] = {}
        self._selected: str | None = None
        self._job: _Job | None = None
        self._last_finished: _Job | None = None
        self._fail_next_at_percent: float | None = None
        self._tool = (AMBIENT_C, 0.0)
        self._bed = (AMBIENT_C, 0.0)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._last_tick = monotonic()

    # -- life cycle -------------------------------------------------------------------------

    def start(self, name: str) -> None:
        self._stop.clear()
        self._last_tick = self._monotonic()
        self._ticker = threading.Thread(target=self._run, name=f"sim-print-{name}", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(_TICK_SECONDS):
            self.tick()

    # -- knobs ----------------------------------------------------------------------------

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    def fail_next_print(self, at_percent: float = 50.0) -> None:
        """The next (or the running) print fails when it reaches at_percent."""
        with self._lock:
            if self._job is not None and self._job.fail_at_percent is None:
                self._job.fail_at_percent = at_percent
            else:
                self._fail_next_at_percent = at_percent

    def set_telemetry(self, telemetry: Telemetry) -> None:
        with self._lock:
            self._telemetry = telemetry

    def publish_current(self) -> None:
        """Report the current temperatures and progress again (after telemetry reconnects)."""
        with self._lock:
            self._telemetry.temperature("tool0", *self._tool)
            self._telemetry.temperature("bed", *self._bed)
            job = self._job or self._last_finished
            if job is not None and job.last_progress_percent > 0:
                self._telemetry.progress(job.name, job.last_progress_percent)

    # -- REST-shaped operations -------------------------------------------------------------

    def connect(self) -> None:
        with self._lock:
            if self._state not in CONNECTED_STATES:
                self._set_state("Operational")
                self._telemetry.event("Connected", {"port": "VIRTUAL", "baudrate": 115200})
                self._set_temperatures((AMBIENT_C, 0.0), (AMBIENT_C, 0.0))

    def disconnect(self) -> None:
        with self._lock:
            if self._job is not None:
                self._end_job("PrintFailed", reason="error")
            if self._state != "Closed":
                self._set_state("Closed")
                self._telemetry.event("Disconnected", {})

    def upload(self, name: str, data: bytes, *, select: bool, print_now: bool) -> dict[str, Any]:
        """Store the file; select and start it if asked and possible (OctoPrint answers 201 either way)."""
        with self._lock:
            if self._job is not None and self._selected == name:
                raise Refused(409, f"Trying to overwrite file that is currently being printed: {name}")
            self._files[name] = data
            self._telemetry.event("Upload", {"name": name, "path": name, "target": "local"})
            effective_select = effective_print = False
            if (select or print_now) and self._state == "Operational":
                self._selected, effective_select = name, True
                if print_now:
                    self._begin_job(name)
                    effective_print = True
            return {"effectiveSelect": effective_select, "effectivePrint": effective_print}

    def start_job(self) -> None:
        with self._lock:
            if self._state != "Operational" or self._selected is None:
                raise Refused(409, "Printer is not operational or no file is selected, cannot start")
            self._begin_job(self._selected)

    def cancel_job(self) -> None:
        with self._lock:
            if self._job is None:
                raise Refused(409, "Printer is neither printing nor paused, 'cancel' command cannot be performed")
            payload = self._file_payload(self._job)
            self._set_state("Cancelling")
            self._telemetry.event("PrintCancelling", payload)
            # Real OctoPrint 1.11.8 reports a cancel twice: PrintCancelled, then PrintFailed (cancelled).
            self._telemetry.event("PrintCancelled", {**payload, "time": round(self._job.sim_elapsed_seconds, 3)})
            self._end_job("PrintFailed", reason="cancelled")

    def pause_job(self, action: str) -> None:
        with self._lock:
            if self._job is None:
                raise Refused(409, "Printer is neither printing nor paused, 'pause' command cannot be performed")
            if action not in ("pause", "resume", "toggle"):
                raise Refused(400, f"Unknown action for pause: {action}")
            wants_pause = action == "pause" or (action == "toggle" and self._state == "Printing")
            if wants_pause and self._state == "Printing":
                self._set_state("Paused")
                self._telemetry.event("PrintPaused", self._file_payload(self._job))
            elif not wants_pause and self._state == "Paused":
                self._set_state("Printing")
                self._telemetry.event("PrintResumed", self._file_payload(self._job))

    # -- views for GET ------------------------------------------------------------------------

    def connection_view(self) -> dict[str, Any]:
        with self._lock:
            connected = self._state in CONNECTED_STATES
            return {
                "current": {
                    "state": self._state,
                    "port": "VIRTUAL" if connected else None,
                    "baudrate": 115200 if connected else None,
                    "printerProfile": "_default",
                },
                "options": {
                    "ports": ["VIRTUAL"],
                    "baudrates": [250000, 115200],
                    "printerProfiles": [{"id": "_default", "name": "Default"}],
                    "portPreference": "VIRTUAL",
                    "baudratePreference": None,
                    "printerProfilePreference": "_default",
                    "autoconnect": False,
                },
            }

    def printer_view(self) -> dict[str, Any]:
        with self._lock:
            if self._state not in CONNECTED_STATES:
                raise Refused(409, "Printer is not operational")
            flags = {
                "operational": True,
                "printing": self._state == "Printing",
                "paused": self._state == "Paused",
                "pausing": False,
                "resuming": False,
                "cancelling": self._state == "Cancelling",
                "finishing": False,
                "error": False,
                "closedOrError": False,
                "ready": self._state == "Operational",
                "sdReady": False,
            }
            return {
                "state": {"text": self._state, "flags": flags, "error": ""},
                "temperature": {
                    "tool0": {"actual": self._tool[0], "target": self._tool[1], "offset": 0},
                    "bed": {"actual": self._bed[0], "target": self._bed[1], "offset": 0},
                },
                "sd": {"ready": False},
            }

    def job_view(self) -> dict[str, Any]:
        with self._lock:
            job = self._job or self._last_finished
            name = self._selected
            file_info: dict[str, Any] = {"name": None, "path": None, "origin": None, "size": None, "date": None}
            if name is not None:
                file_info = {"name": name, "path": name, "origin": "local", "size": len(self._files.get(name, b"")),
                             "date": None}
            progress: dict[str, Any] = {"completion": None, "filepos": None, "printTime": None, "printTimeLeft": None}
            if job is not None and job.name == name:
                fraction = job.progress_fraction
                progress = {
                    "completion": round(fraction * 100.0, 3),
                    "filepos": int(fraction * job.size),
                    "printTime": int(job.sim_elapsed_seconds),
                    "printTimeLeft": int(job.sim_seconds - job.sim_elapsed_seconds),
                    "printTimeLeftOrigin": "estimate",
                }
            return {
                "job": {"file": file_info, "estimatedPrintTime": job.sim_seconds if job else None, "user": "sim"},
                "progress": progress,
                "state": self._state if self._state in CONNECTED_STATES else "Offline",
            }

    # -- the print ---------------------------------------------------------------------------

    def tick(self) -> None:
        """Advance a running print by the real time since the last tick."""
        now = self._monotonic()
        with self._lock:
            elapsed, self._last_tick = now - self._last_tick, now
            job = self._job
            if job is None or self._state != "Printing":
                return
            job.active_real_seconds += elapsed
            percent = job.progress_fraction * 100.0
            if job.fail_at_percent is not None and percent >= job.fail_at_percent:
                self._telemetry.event("Error", {"error": "Simulated printer error (thermal runaway)"})
                self._end_job("PrintFailed", reason="error", then_state="Offline after error")
                self._telemetry.event("Disconnected", {})
                return
            if job.progress_fraction >= 1.0:
                self._report_progress(job, 100, force=True)
                self._end_job("PrintDone")
                return
            self._report_progress(job, int(percent), force=False)

    def _report_progress(self, job: _Job, percent: int, *, force: bool) -> None:
        step_reached = percent >= job.last_progress_percent + self.timing.progress_step_percent
        interval_passed = (
            job.sim_elapsed_seconds - job.last_progress_sim_seconds >= self.timing.progress_interval_sim_seconds
        )
        if percent > job.last_progress_percent and (force or (step_reached and interval_passed)):
            job.last_progress_percent, job.last_progress_sim_seconds = percent, job.sim_elapsed_seconds
            self._telemetry.progress(job.name, percent)

    def _begin_job(self, name: str) -> None:
        data = self._files[name]
        sim_seconds = estimated_print_seconds(data) or self.timing.default_print_seconds
        real_seconds = max(self.timing.min_print_seconds, sim_seconds / self.timing.time_scale)
        fail_at, self._fail_next_at_percent = self._fail_next_at_percent, None
        if fail_at is None and self.fail_probability > 0 and self._rng.random() < self.fail_probability:
            fail_at = self._rng.uniform(5.0, 95.0)
        self._job = _Job(name, len(data), sim_seconds, real_seconds, fail_at)
        self._last_tick = self._monotonic()
        self._set_state("Printing")
        self._set_temperatures((PRINT_TOOL_C, PRINT_TOOL_C), (PRINT_BED_C, PRINT_BED_C))
        self._telemetry.event("PrintStarted", self._file_payload(self._job))

    def _end_job(self, event: str, *, reason: str | None = None, then_state: str = "Operational") -> None:
        job = self._job
        assert job is not None
        payload = {**self._file_payload(job), "time": round(job.sim_elapsed_seconds, 3)}
        if reason is not None:
            payload["reason"] = reason
        # Like OctoPrint, only a finished print keeps showing its completion (100 %).
        self._job, self._last_finished = None, (job if event == "PrintDone" else None)
        self._set_state(then_state)
        self._set_temperatures((AMBIENT_C, 0.0), (AMBIENT_C, 0.0))
        self._telemetry.event(event, payload)

    def _file_payload(self, job: _Job) -> dict[str, Any]:
        return {"name": job.name, "path": job.name, "origin": "local", "size": job.size}

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self._telemetry.event(
                "PrinterStateChanged", {"state_id": state.upper().replace(" ", "_"), "state_string": state}
            )

    def _set_temperatures(self, tool: tuple[float, float], bed: tuple[float, float]) -> None:
        if tool != self._tool:
            self._tool = tool
            self._telemetry.temperature("tool0", *tool)
        if bed != self._bed:
            self._bed = bed
            self._telemetry.temperature("bed", *bed)
