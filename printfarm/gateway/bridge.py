"""Events for printers without the OctoPrint-MQTT plugin: the gateway polls their REST state and
publishes what the plugin would have, under the same base topic (DESIGN.md's MQTT contract).

Published on a change between two polls: PrintStarted, PrintPaused, PrintResumed, PrintDone (the
job reached 100 %) or PrintFailed (reason ``cancelled`` after Cancelling, else ``error``),
Connected / Disconnected (the board), the retained ``progress/printing``, and the retained
``<base>mqtt`` ``connected`` / ``disconnected`` (whether the printer's server answers).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from printfarm.errors import PrinterError
from printfarm.printers.port import PrinterClient, PrinterSnapshot

log = logging.getLogger(__name__)

#: publish(topic, payload, retain)
Publish = Callable[[str, str, bool], None]


def _payload(**fields: Any) -> str:
    return json.dumps({**fields, "_timestamp": int(time.time())})


def events_between(before: PrinterSnapshot | None, after: PrinterSnapshot) -> list[tuple[str, dict[str, Any]]]:
    """The OctoPrint events (name, payload fields) a change from before to after means; pure."""
    if before is None:
        return []
    events: list[tuple[str, dict[str, Any]]] = []
    file_fields = {"name": after.file_name, "path": after.file_name, "origin": "local"}
    if after.is_operational and not before.is_operational:
        events.append(("Connected", {}))
    was_busy = before.is_printing or before.is_paused
    is_busy = after.is_printing or after.is_paused
    if is_busy and (not was_busy or before.file_name != after.file_name):
        events.append(("PrintStarted", file_fields))
        if after.is_paused:
            events.append(("PrintPaused", file_fields))
    elif is_busy:
        if after.is_paused and not before.is_paused:
            events.append(("PrintPaused", file_fields))
        elif before.is_paused and not after.is_paused:
            events.append(("PrintResumed", file_fields))
    if was_busy and (not is_busy or before.file_name != after.file_name):
        ended = {"name": before.file_name, "path": before.file_name, "origin": "local"}
        if not is_busy and (after.progress_percent or 0) >= 100 and after.file_name == before.file_name:
            events.append(("PrintDone", ended))
        else:
            cancelled = before.state_text.startswith("Cancelling") or after.is_operational
            events.append(("PrintFailed", {**ended, "reason": "cancelled" if cancelled else "error"}))
    if before.is_operational and not after.is_operational:
        events.append(("Disconnected", {}))
    return events


class EventBridge:
    """Polls the given printers every interval_seconds on one thread and publishes their events."""

    def __init__(self, printers: Mapping[str, tuple[PrinterClient, str]], publish: Publish,
                 interval_seconds: float = 1.0) -> None:
        """printers: {name: (client, base topic ending in /)}."""
        self._printers = dict(printers)
        self._publish = publish
        self._interval_seconds = interval_seconds
        self._last: dict[str, PrinterSnapshot | None] = {}
        self._answering: dict[str, bool] = {}
        self._progress: dict[str, int] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self._printers:
            return
        self._thread = threading.Thread(target=self._run, name="gateway-bridge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            for name, (client, base) in self._printers.items():
                try:
                    self.poll_once(name, client, base)
                except Exception:
                    log.exception("printer %s: bridging its events failed", name)
            self._stopping.wait(self._interval_seconds)

    def poll_once(self, name: str, client: PrinterClient, base: str) -> None:
        try:
            snapshot = client.status()
        except PrinterError as err:
            if self._answering.get(name, True):
                log.warning("printer %s does not answer: %s", name, err)
                self._publish(f"{base}mqtt", "disconnected", True)
            self._answering[name] = False
            self._last[name] = None
            return
        if not self._answering.get(name, False):
            self._publish(f"{base}mqtt", "connected", True)
            self._answering[name] = True
        for event, fields in events_between(self._last.get(name), snapshot):
            log.info("printer %s: %s %s", name, event, fields.get("name") or "")
            self._publish(f"{base}event/{event}", _payload(_event=event, **fields), False)
        self._last[name] = snapshot
        if snapshot.is_printing and snapshot.progress_percent is not None:
            progress = int(snapshot.progress_percent)
            if progress != self._progress.get(name) and progress > 0:
                self._progress[name] = progress
                self._publish(f"{base}progress/printing",
                              _payload(location="local", path=snapshot.file_name, progress=progress), True)
