"""The gateway's request rules with fake printers: at most once, never past the deadline, errors by kind."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from printfarm.adapters.gateway.protocol import Request, result_of
from printfarm.adapters.octoprint.fake import FakePrinterFleet
from printfarm.errors import PrinterAuthRejected, PrinterCommandFailed, PrinterUnreachable
from printfarm.gateway.handler import RequestHandler
from printfarm.gateway.ledger import RequestLedger

URL, KEY = "http://192.168.1.20", "site-key"
GCODE = b"G28\nG1 X10\n"
SHA = hashlib.sha256(GCODE).hexdigest()
NOW = 1_800_000_000.0


class Fetcher:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.refuse: str | None = None

    def __call__(self, file_name: str, credential: str, sha256: str) -> bytes:
        self.calls.append(file_name)
        if self.refuse:
            raise PrinterCommandFailed(self.refuse)
        return GCODE


@pytest.fixture
def fleet() -> FakePrinterFleet:
    fleet = FakePrinterFleet()
    fleet.add(URL, KEY, is_connected=True)
    return fleet


def handler_for(fleet: FakePrinterFleet, ledger: RequestLedger, fetch: Fetcher, key: str = KEY) -> RequestHandler:
    return RequestHandler({"mk3s-1": fleet(URL, key)}, ledger, fetch, now=lambda: NOW)


def start(request_id: str, file_name: str = "pf-7-rc3.gcode", deadline: float = NOW + 30) -> Request:
    return Request(request_id, deadline, "mk3s-1", "upload-and-start",
                   {"file_name": file_name, "sha256": SHA, "credential": "c"})


def test_a_repeated_request_is_answered_again_not_executed_again(fleet, tmp_path: Path) -> None:
    fetch = Fetcher()
    handler = handler_for(fleet, RequestLedger(tmp_path / "ledger.sqlite3"), fetch)
    first = handler.handle(start("r1"))
    again = handler.handle(start("r1"))
    assert first == again == {"id": "r1", "ok": True, "result": {"already_started": False}}
    assert fleet.printers[URL].calls.count("POST /api/files/local") == 1
    assert fetch.calls == ["pf-7-rc3.gcode"]


def test_the_ledger_survives_a_restart_of_the_gateway(fleet, tmp_path: Path) -> None:
    handler_for(fleet, RequestLedger(tmp_path / "ledger.sqlite3"), Fetcher()).handle(start("r1"))
    fleet.printers[URL].finish_print()
    fleet.printers[URL].file_name = None  # even if OctoPrint forgot the file, the ledger did not
    restarted = handler_for(fleet, RequestLedger(tmp_path / "ledger.sqlite3"), Fetcher())
    assert restarted.handle(start("r1"))["result"] == {"already_started": False}  # the stored reply
    second = restarted.handle(start("r2"))  # a new request for the same plate (a retry from central)
    assert second["ok"] is False and second["error"]["kind"] == "PrinterCommandFailed"
    assert "not starting it twice" in second["error"]["detail"]
    assert fleet.printers[URL].calls.count("POST /api/files/local") == 1


def test_a_second_start_of_a_plate_the_printer_prints_does_not_start_it_again(fleet, tmp_path: Path) -> None:
    handler = handler_for(fleet, RequestLedger(":memory:"), Fetcher())
    handler.handle(start("r1"))
    assert handler.handle(start("r2"))["result"] == {"already_started": True}
    assert fleet.printers[URL].calls.count("POST /api/files/local") == 1


def test_a_request_past_its_deadline_is_not_executed_and_says_so(fleet) -> None:
    fetch = Fetcher()
    reply = handler_for(fleet, RequestLedger(":memory:"), fetch).handle(start("late", deadline=NOW - 2))
    assert reply["ok"] is False and reply["error"]["kind"] == "RequestExpired"
    assert "2.0 s after its deadline; not executed" in reply["error"]["detail"]
    assert fetch.calls == [] and fleet.printers[URL].calls == []
    with pytest.raises(PrinterUnreachable, match="after its deadline"):
        result_of(reply, "printer mk3s-1")


def test_errors_come_back_as_the_direct_adapters_kinds(fleet) -> None:
    ledger = RequestLedger(":memory:")
    wrong_key = handler_for(fleet, ledger, Fetcher(), key="wrong").handle(Request("a", NOW + 5, "mk3s-1", "check"))
    assert wrong_key["error"]["kind"] == "PrinterAuthRejected"
    with pytest.raises(PrinterAuthRejected, match="API key was refused"):
        result_of(wrong_key, "printer mk3s-1")
    fleet.printers[URL].is_reachable = False
    gone = handler_for(fleet, ledger, Fetcher()).handle(Request("b", NOW + 5, "mk3s-1", "status"))
    assert gone["error"]["kind"] == "PrinterUnreachable"
    unknown = handler_for(fleet, ledger, Fetcher()).handle(Request("c", NOW + 5, "mk3s-9", "check"))
    assert unknown["error"] == {"kind": "PrinterUnreachable",
                                "detail": "this site's gateway has no printer named 'mk3s-9' in its configuration"}
    bad_op = handler_for(fleet, ledger, Fetcher()).handle(Request("d", NOW + 5, "mk3s-1", "format-disk"))
    assert bad_op["error"] == {"kind": "PrinterCommandFailed", "detail": "unknown operation 'format-disk'"}


def test_a_plate_whose_gcode_could_not_be_pulled_may_be_sent_again(fleet) -> None:
    fetch = Fetcher()
    fetch.refuse = "plate pf-7-rc3.gcode: the central service refused it: HTTP 403"
    handler = handler_for(fleet, RequestLedger(":memory:"), fetch)
    refused = handler.handle(start("r1"))
    assert refused["error"] == {"kind": "PrinterCommandFailed", "detail": fetch.refuse}
    fetch.refuse = None
    assert handler.handle(start("r2"))["result"] == {"already_started": False}
    assert fleet.printers[URL].calls.count("POST /api/files/local") == 1


def test_status_and_job_commands_reach_the_printer(fleet) -> None:
    handler = handler_for(fleet, RequestLedger(":memory:"), Fetcher())
    handler.handle(start("r1"))
    status = handler.handle(Request("s", NOW + 5, "mk3s-1", "status"))["result"]
    assert (status["state_text"], status["file_name"], status["is_printing"]) == ("Printing", "pf-7-rc3.gcode", True)
    assert handler.handle(Request("p", NOW + 5, "mk3s-1", "pause"))["ok"]
    assert fleet.printers[URL].state_text == "Paused"
    assert handler.handle(Request("q", NOW + 5, "mk3s-1", "resume"))["ok"]
    assert handler.handle(Request("x", NOW + 5, "mk3s-1", "cancel"))["ok"]
    assert fleet.printers[URL].state_text == "Operational"


def test_a_duplicate_arriving_while_its_request_runs_gets_no_second_reply() -> None:
    ledger = RequestLedger(":memory:")
    assert ledger.claim("r1") == (True, None)
    assert ledger.claim("r1") == (False, None)  # under way: its own reply is coming
    ledger.answered("r1", {"id": "r1", "ok": True, "result": None})
    assert ledger.claim("r1") == (False, {"id": "r1", "ok": True, "result": None})
