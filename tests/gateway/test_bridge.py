"""Events the gateway publishes for a printer without the OctoPrint-MQTT plugin, from its polled state."""

from __future__ import annotations

import json

from printfarm.adapters.octoprint.fake import FakePrinterFleet
from printfarm.gateway.bridge import EventBridge, events_between
from printfarm.printers.port import PrinterSnapshot

BASE = "printfarm/acme/mk3s-2/"
IDLE = PrinterSnapshot("Operational", True, False, False, None, None)


def printing(progress: float, *, paused: bool = False) -> PrinterSnapshot:
    return PrinterSnapshot("Paused" if paused else "Printing", True, not paused, paused, "pf-3-rc3.gcode", progress)


def test_a_print_from_start_to_done_is_published_as_the_plugin_would() -> None:
    assert events_between(None, printing(5)) == []  # the first poll after a start: nothing known before it
    assert [e for e, _ in events_between(IDLE, printing(0))] == ["PrintStarted"]
    assert [e for e, _ in events_between(printing(10), printing(20, paused=True))] == ["PrintPaused"]
    assert [e for e, _ in events_between(printing(20, paused=True), printing(20))] == ["PrintResumed"]
    done = PrinterSnapshot("Operational", True, False, False, "pf-3-rc3.gcode", 100.0)
    assert events_between(printing(99), done) == [
        ("PrintDone", {"name": "pf-3-rc3.gcode", "path": "pf-3-rc3.gcode", "origin": "local"})
    ]


def test_a_cancelled_or_failed_print_is_published_as_failed_with_its_reason() -> None:
    cancelled = PrinterSnapshot("Operational", True, False, False, "pf-3-rc3.gcode", None)
    assert events_between(printing(40), cancelled)[0][1]["reason"] == "cancelled"
    lost_board = PrinterSnapshot("Offline after error", False, False, False, None, None)
    assert events_between(printing(40), lost_board) == [
        ("PrintFailed", {"name": "pf-3-rc3.gcode", "path": "pf-3-rc3.gcode", "origin": "local", "reason": "error"}),
        ("Disconnected", {}),
    ]


def test_the_bridge_publishes_events_progress_and_whether_the_printer_answers() -> None:
    fleet = FakePrinterFleet()
    device = fleet.add("http://10.0.0.2", "k", is_connected=True)
    client = fleet("http://10.0.0.2", "k")
    published: list[tuple[str, str, bool]] = []
    bridge = EventBridge({"mk3s-2": (client, BASE)}, lambda t, p, r: published.append((t, p, r)))
    bridge.poll_once("mk3s-2", client, BASE)
    client.start_print("pf-3-rc3.gcode", b"G28\n")
    device.set_progress(42.5)
    bridge.poll_once("mk3s-2", client, BASE)
    device.is_reachable = False
    bridge.poll_once("mk3s-2", client, BASE)
    bridge.poll_once("mk3s-2", client, BASE)
    topics = [(t, r) for t, _, r in published]
    assert topics == [
        (f"{BASE}mqtt", True), (f"{BASE}event/PrintStarted", False), (f"{BASE}progress/printing", True),
        (f"{BASE}mqtt", True),
    ]
    assert [p for t, p, _ in published if t == f"{BASE}mqtt"] == ["connected", "disconnected"]
    started = json.loads(published[1][1])
    assert started["_event"] == "PrintStarted" and started["name"] == "pf-3-rc3.gcode"
    assert isinstance(started["_timestamp"], int)
    assert json.loads(published[2][1])["progress"] == 42
