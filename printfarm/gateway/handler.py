"""The gateway's request rules: each request at most once, none past its deadline, errors by kind."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from printfarm.adapters.gateway.protocol import (
    OPS, REQUEST_EXPIRED, Request, error_reply, ok_reply, reply_for_error,
)
from printfarm.errors import PrinterCommandFailed, PrinterError, PrinterUnreachable
from printfarm.gateway.ledger import RequestLedger
from printfarm.printers.port import PrinterClient

log = logging.getLogger(__name__)

#: fetch(file_name, credential, sha256) -> the plate's G-code, checked (adapters/gateway/plates.fetch_plate).
PlateFetcher = Callable[[str, str, str], bytes]


class RequestHandler:
    """Answers one request: from the ledger if it was answered before, else by calling the printer."""

    def __init__(
        self, printers: Mapping[str, PrinterClient], ledger: RequestLedger, fetch_plate: PlateFetcher,
        *, now: Callable[[], float] = time.time,
    ) -> None:
        self._printers = printers
        self._ledger = ledger
        self._fetch_plate = fetch_plate
        self._now = now

    def handle(self, request: Request) -> dict[str, Any] | None:
        """The reply to send; None for a duplicate of a request being executed right now."""
        is_new, earlier = self._ledger.claim(request.id)
        if not is_new:
            if earlier is not None:
                log.info("request %s (%s %s) answered before: same reply again", request.id, request.op, request.printer)
            return earlier
        reply = self._answer(request)
        self._ledger.answered(request.id, reply)
        return reply

    def _answer(self, request: Request) -> dict[str, Any]:
        late_seconds = self._now() - request.deadline
        if late_seconds > 0:
            log.warning("request %s (%s %s) came %.1f s after its deadline: not executed",
                        request.id, request.op, request.printer, late_seconds)
            return error_reply(request.id, REQUEST_EXPIRED,
                               f"request {request.id} ({request.op}) reached the gateway {late_seconds:.1f} s after "
                               "its deadline; not executed")
        client = self._printers.get(request.printer)
        if client is None:
            return error_reply(request.id, PrinterUnreachable.__name__,
                               f"this site's gateway has no printer named {request.printer!r} in its configuration")
        if request.op not in OPS:
            return error_reply(request.id, PrinterCommandFailed.__name__, f"unknown operation {request.op!r}")
        try:
            return ok_reply(request.id, self._execute(request, client))
        except PrinterError as err:
            return reply_for_error(request.id, err)

    def _execute(self, request: Request, client: PrinterClient) -> Any:
        op = request.op
        if op == "check":
            return client.check()
        if op == "status":
            return dataclasses.asdict(client.status())
        if op == "ensure-connected":
            return client.ensure_connected()
        if op == "upload-and-start":
            return self._upload_and_start(request, client)
        if op == "pause":
            return client.pause()
        if op == "resume":
            return client.resume()
        return client.cancel()

    def _upload_and_start(self, request: Request, client: PrinterClient) -> dict[str, Any]:
        try:
            file_name, credential, sha256 = (str(request.args[k]) for k in ("file_name", "credential", "sha256"))
        except KeyError as err:
            raise PrinterCommandFailed(f"upload-and-start needs {err.args[0]}") from err
        status = client.status()
        if status.file_name == file_name:  # it prints, or printed, that plate already
            log.info("printer %s: plate %s is on it already (%s): not started again", request.printer, file_name,
                     status.state_text)
            return {"already_started": True}
        if self._ledger.plate_sent_before(request.printer, file_name):
            raise PrinterCommandFailed(
                f"plate {file_name} was sent to printer {request.printer} before and is not on it now "
                f"({status.state_text}); not starting it twice"
            )
        try:
            gcode = self._fetch_plate(file_name, credential, sha256)
        except PrinterError:
            self._ledger.forget_plate(request.printer, file_name)  # nothing reached the printer
            raise
        client.start_print(file_name, gcode)
        log.info("printer %s: started plate %s (%d bytes)", request.printer, file_name, len(gcode))
        return {"already_started": False}
