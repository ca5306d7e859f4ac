"""The gateway's messages and topics (no library imports): what a request and a reply hold.

    printfarm/<site>/gateway/request            central → gateway: {id, deadline, printer, op, args}
    printfarm/<site>/gateway/reply/<client-id>  gateway → central: {id, ok, result} or {id, ok, error: {kind, detail}}
    printfarm/<site>/gateway/status             gateway, retained: "online"; its last will "offline"

The request's MQTT 5 properties carry the reply topic (ResponseTopic) and the request id again
(CorrelationData); the payload's id is the one that counts, so a reply can be matched either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from printfarm.errors import PrinterAuthRejected, PrinterCommandFailed, PrinterError, PrinterUnreachable

#: The operations a gateway performs on one of its printers.
OPS = frozenset({"check", "status", "ensure-connected", "upload-and-start", "pause", "resume", "cancel"})

ONLINE, OFFLINE = "online", "offline"

#: A request that reached the gateway after its deadline: not executed (to the caller, unreachable in time).
REQUEST_EXPIRED = "RequestExpired"

#: Error kinds a reply may carry: the direct adapter's errors, by class name, and expiry.
ERROR_KINDS: dict[str, type[PrinterError]] = {
    **{cls.__name__: cls for cls in (PrinterUnreachable, PrinterAuthRejected, PrinterCommandFailed)},
    REQUEST_EXPIRED: PrinterUnreachable,
}


def request_topic(site: str) -> str:
    return f"printfarm/{site}/gateway/request"


def reply_topic(site: str, client_id: str) -> str:
    return f"printfarm/{site}/gateway/reply/{client_id}"


def status_topic(site: str) -> str:
    return f"printfarm/{site}/gateway/status"


#: Every site's gateway status (for the central service's subscription).
ALL_STATUS_TOPICS = "printfarm/+/gateway/status"


def site_of_status_topic(topic: str) -> str | None:
    parts = topic.split("/")
    if len(parts) == 4 and parts[0] == "printfarm" and parts[2:] == ["gateway", "status"]:
        return parts[1]
    return None


class BadMessage(ValueError):
    """A request or reply that is not JSON of the expected shape."""


@dataclass(frozen=True)
class Request:
    id: str
    deadline: float  # unix seconds: past it, the gateway does not execute the request
    printer: str
    op: str
    args: dict[str, Any] = field(default_factory=dict)
    #: The reply topic again, for a broker without MQTT 5 (the embedded one): the property wins where there is one.
    reply_topic: str | None = None

    def encode(self) -> bytes:
        return json.dumps(
            {"id": self.id, "deadline": self.deadline, "printer": self.printer, "op": self.op, "args": self.args,
             "reply_topic": self.reply_topic}
        ).encode()

    @classmethod
    def decode(cls, payload: bytes) -> Request:
        try:
            data = json.loads(payload)
            request = cls(str(data["id"]), float(data["deadline"]), str(data["printer"]), str(data["op"]),
                          dict(data.get("args") or {}), data.get("reply_topic") or None)
        except (ValueError, KeyError, TypeError) as err:
            raise BadMessage(f"not a gateway request: {err}") from err
        if not request.id:
            raise BadMessage("a gateway request needs an id")
        return request


def ok_reply(request_id: str, result: Any) -> dict[str, Any]:
    return {"id": request_id, "ok": True, "result": result}


def error_reply(request_id: str, kind: str, detail: str) -> dict[str, Any]:
    return {"id": request_id, "ok": False, "error": {"kind": kind, "detail": detail}}


def reply_for_error(request_id: str, err: PrinterError) -> dict[str, Any]:
    kind = type(err).__name__ if type(err).__name__ in ERROR_KINDS else PrinterCommandFailed.__name__
    return error_reply(request_id, kind, str(err))


def decode_reply(payload: bytes) -> dict[str, Any]:
    try:
        reply = json.loads(payload)
    except ValueError as err:
        raise BadMessage(f"not a gateway reply: {err}") from err
    if not isinstance(reply, dict) or "id" not in reply or "ok" not in reply:
        raise BadMessage("a gateway reply needs an id and ok")
    return reply


def result_of(reply: dict[str, Any], where: str) -> Any:
    """The reply's result, or its error raised as the printfarm error of its kind (unknown kinds: PrinterCommandFailed)."""
    if reply.get("ok"):
        return reply.get("result")
    error = reply.get("error") or {}
    cls = ERROR_KINDS.get(str(error.get("kind")), PrinterCommandFailed)
    raise cls(f"{where}: {error.get('detail') or 'the gateway gave no reason'}")
