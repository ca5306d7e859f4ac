"""The adapter translates every HTTP failure into printfarm's errors, naming the URL and never the key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from printfarm.adapters.octoprint.octorest_client import OctorestPrinterClient
from printfarm.errors import PrinterAuthRejected, PrinterCommandFailed

API_KEY = "SECRET-KEY-0123456789"


class _Answers(BaseHTTPRequestHandler):
    """Answers every request with the status and body set on the server."""

    server: _StubServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)


class _StubServer(ThreadingHTTPServer):
    daemon_threads = True
    status = 200
    body = b"{}"


@pytest.fixture
def stub() -> Iterator[_StubServer]:
    server = _StubServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def client(stub: _StubServer) -> Iterator[OctorestPrinterClient]:
    with OctorestPrinterClient(f"http://127.0.0.1:{stub.server_address[1]}", API_KEY, timeout_seconds=2) as made:
        yield made


@pytest.mark.parametrize(("status", "error"), [(401, PrinterAuthRejected), (403, PrinterAuthRejected),
                                               (400, PrinterCommandFailed), (500, PrinterCommandFailed),
                                               (503, PrinterCommandFailed)])
def test_http_errors_become_printer_errors_naming_url_and_status(
    stub: _StubServer, client: OctorestPrinterClient, status: int, error: type[Exception]
) -> None:
    stub.status, stub.body = status, b'{"error": "echoing SECRET-KEY-0123456789 back"}'
    with pytest.raises(error) as raised:
        client.check()
    message = str(raised.value)
    assert client.base_url in message and f"HTTP {status}" in message and "GET /api/version" in message
    assert API_KEY not in message
    assert raised.value.__cause__ is not None


def test_a_body_that_is_not_json_is_a_failed_command(stub: _StubServer, client: OctorestPrinterClient) -> None:
    stub.body = b"<html>a proxy login page</html>"
    with pytest.raises(PrinterCommandFailed, match="GET /api/version"):
        client.check()


def test_a_409_on_the_printer_means_not_connected(stub: _StubServer, client: OctorestPrinterClient) -> None:
    stub.status, stub.body = 409, b'{"error": "Printer is not operational"}'
    # /api/printer answers 409 and so does /api/connection here: the second is a real failure.
    with pytest.raises(PrinterCommandFailed, match="GET /api/connection"):
        client.status()


def test_a_url_that_is_not_http_is_refused_at_construction() -> None:
    with pytest.raises(PrinterCommandFailed, match="ftp://printer"):
        OctorestPrinterClient("ftp://printer", API_KEY)
