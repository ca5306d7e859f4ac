"""The fake's knobs behave as the contract's errors and states say."""

from __future__ import annotations

import pytest

from printfarm.adapters.octoprint.fake import FakePrinterClient, FakePrinterFleet
from printfarm.errors import PrinterCommandFailed, PrinterUnreachable


def test_an_unreachable_fake_raises_on_every_call() -> None:
    client = FakePrinterClient()
    client.printer.is_reachable = False
    with pytest.raises(PrinterUnreachable):
        client.check()
    with pytest.raises(PrinterUnreachable):
        client.start_print("pf-1-a.gcode", b"G1 X1\n")


def test_fail_next_start_refuses_one_start_but_keeps_the_upload() -> None:
    client = FakePrinterClient()
    client.ensure_connected()
    client.printer.fail_next_start = True
    with pytest.raises(PrinterCommandFailed, match="pf-1-a.gcode"):
        client.start_print("pf-1-a.gcode", b"G1 X1\n")
    assert client.printer.uploads["pf-1-a.gcode"] == b"G1 X1\n"
    client.start_print("pf-1-a.gcode", b"G1 X1\n")
    assert client.status().is_printing


def test_a_failed_print_drops_the_board_connection_until_reconnected() -> None:
    client = FakePrinterClient()
    client.ensure_connected()
    client.start_print("pf-2-a.gcode", b"G1 X1\n")
    client.printer.set_progress(40.0)
    assert client.status().progress_percent == 40.0
    client.printer.fail_print()
    assert client.status().state_text == "Offline after error"
    assert not client.status().is_operational
    client.ensure_connected()
    assert client.status().is_operational


def test_the_fleet_shares_one_printer_per_url_and_knows_no_others() -> None:
    fleet = FakePrinterFleet()
    printer = fleet.add("http://octopi-1.local", "key-1", is_connected=True)
    fleet("http://octopi-1.local", "key-1").start_print("pf-3-a.gcode", b"G1\n")
    assert fleet("http://octopi-1.local", "key-1").status().file_name == "pf-3-a.gcode"
    printer.finish_print()
    assert printer.finished_files == ["pf-3-a.gcode"]
    with pytest.raises(PrinterUnreachable, match="octopi-2"):
        fleet("http://octopi-2.local", "key-1").check()
