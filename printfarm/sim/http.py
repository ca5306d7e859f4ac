"""A simulated printer's REST side: the OctoPrint API calls printfarm's adapter makes, on stdlib HTTP."""

from __future__ import annotations

import json
import logging
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from printfarm.sim.machine import Refused, SimulatedMachine

logger = logging.getLogger(__name__)

OCTOPRINT_VERSION = "1.11.8"
_FORBIDDEN = (
    "You don't have the permission to access the requested resource. "
    "It is either read-protected or not readable by the server."
)


class SimulatedOctoPrintServer(ThreadingHTTPServer):
    """One printer's HTTP server on 127.0.0.1 (a free port unless one is given)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, machine: SimulatedMachine, api_key: str, name: str, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.machine = machine
        self.api_key = api_key
        self.printer_name = name
        self.is_offline = False  # knob: when True, connections are dropped without an answer
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"sim-http-{self.printer_name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: SimulatedOctoPrintServer
    server_version = "printfarm-sim"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sim %s: " + format, self.server.printer_name, *args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        if self.server.is_offline:
            # An unplugged host: the connection closes with no answer at all.
            self.close_connection = True
            return
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("X-Api-Key") != self.server.api_key:
            self._answer(403, {"error": _FORBIDDEN})
            return
        route = _ROUTES.get((method, path))
        if route is None:
            self._answer(404, {"error": f"Not found: {method} {path}"})
            return
        try:
            status, payload = route(self, body)
        except Refused as refused:
            status, payload = refused.status, {"error": refused.message}
        except (ValueError, KeyError) as err:
            status, payload = 400, {"error": f"Malformed request: {err}"}
        self._answer(status, payload)

    def _answer(self, status: int, payload: dict[str, Any] | None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, body: bytes) -> dict[str, Any]:
        value = json.loads(body or b"{}")
        if not isinstance(value, dict):
            raise ValueError("the body is not a JSON object")
        return value

    # -- routes -------------------------------------------------------------------------------

    def version(self, body: bytes) -> tuple[int, dict[str, Any] | None]:
        return 200, {"api": "0.1", "server": OCTOPRINT_VERSION, "text": f"OctoPrint {OCTOPRINT_VERSION} (printfarm sim)"}

    def get_connection(self, body: bytes) -> tuple[int, dict[str, Any] | None]:
        return 200, self.server.machine.connection_view()

    def post_connection(self, body: bytes) -> tuple[int, dict[str, Any] | None]:
        command = self._json(body).get("command")
        if command == "connect":
            self.server.machine.connect()
        elif command == "disconnect":
            self.server.machine.disconnect()
        else:
            raise Refused(400, f"Unknown connection command: {command}")
        return 204, None

    def upload(self, body: bytes) -> tuple[int, dict[str, Any] | None]:
        fields, files = _multipart(self.headers.get("Content-Type", ""), body)
        if "file" not in files:
            raise Refused(400, "No file to upload and no folder to create")
        name, data = files["file"]
        truthy = ("true", "yes", "1")
        effective = self.server.machine.upload(
            name, data, select=fields.get("select", "").lower() in truthy,
            print_now=fields.get("print", "").lower() in truthy,
        )
        resource = f"{self.server.base_url}/api/files/local/{name}"
        return 201, {
            "done": True,
            **effective,
            "files": {"local": {"name": name, "path": name, "origin": "local",
                                "refs": {"resource": resource, "download": resource.replace("/api/", "/downloads/")}}},
        }

    def get_job(self, body: bytes) -> tuple[int, dict[str, Any] | None]:
        return 200, self.server.machine.job_view()

    def post_job(self, body: bytes) -> tuple[int, dict[str, Any] | None]:
        request = self._json(body)
        command = request.get("command")
        machine = self.server.machine
        if command == "start":
            machine.start_job()
        elif command == "cancel":
            machine.cancel_job()
        elif command == "pause":
            machine.pause_job(str(request.get("action", "toggle")))
        else:
            raise Refused(400, f"Unknown command: {command}")
        return 204, None

    def get_printer(self, body: bytes) -> tuple[int, dict[str, Any] | None]:
        return 200, self.server.machine.printer_view()

    def printer_command(self, body: bytes) -> tuple[int, dict[str, Any] | None]:
        self.server.machine.printer_view()  # 409 when not connected, as OctoPrint does
        return 204, None


_ROUTES = {
    ("GET", "/api/version"): _Handler.version,
    ("GET", "/api/connection"): _Handler.get_connection,
    ("POST", "/api/connection"): _Handler.post_connection,
    ("POST", "/api/files/local"): _Handler.upload,
    ("GET", "/api/job"): _Handler.get_job,
    ("POST", "/api/job"): _Handler.post_job,
    ("GET", "/api/printer"): _Handler.get_printer,
    ("POST", "/api/printer/command"): _Handler.printer_command,
}


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Form fields and files of a multipart/form-data body (the cgi module is gone in 3.13)."""
    if not content_type.startswith("multipart/form-data"):
        raise Refused(400, "Expected a multipart/form-data upload")
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[str(name)] = (filename, data)
        elif name is not None:
            fields[str(name)] = data.decode("utf-8", "replace")
    return fields, files
