"""Outbound calls on printer registration: http(s) only, no redirect to another host, timeouts,
and an optional list of networks printer addresses must lie in."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from support.world import PRINTER_KEY

from printfarm.adapters.octoprint.octorest_client import OctorestPrinterClient
from printfarm.app import create_app
from printfarm.auth.rules import SYSTEM, Role
from printfarm.errors import ConfigError, PrinterCommandFailed, PrinterUnreachable
from printfarm.printers.network import address_problem, parse_networks
from printfarm.settings import load_settings

VERSION_BODY = b'{"api": "0.1", "server": "1.11.8", "text": "OctoPrint 1.11.8"}'


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers GET /api/version, or redirects when the server was given a redirect target."""

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        self.server.seen.append((self.path, self.headers.get("X-Api-Key")))  # type: ignore[attr-defined]
        target = self.server.redirect_to  # type: ignore[attr-defined]
        if target is not None:
            self.send_response(302)
            self.send_header("Location", target + self.path)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(VERSION_BODY)))
        self.end_headers()
        self.wfile.write(VERSION_BODY)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def http_server(host: str, redirect_to: str | None = None) -> Iterator[http.server.HTTPServer]:
    server = http.server.ThreadingHTTPServer((host, 0), _Recorder)
    server.seen = []  # type: ignore[attr-defined]
    server.redirect_to = redirect_to  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def url_of(server: http.server.HTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


def test_a_redirect_to_another_host_is_refused_and_the_key_never_reaches_it() -> None:
    with http_server("127.0.0.2") as elsewhere, http_server("127.0.0.1", redirect_to=url_of(elsewhere)) as printer:
        client = OctorestPrinterClient(url_of(printer), "secret-key-1", timeout_seconds=2)
        with pytest.raises(PrinterCommandFailed, match="redirect \\(302\\) to another host refused: http://127.0.0.2"):
            client.check()
        assert printer.seen == [("/api/version", "secret-key-1")]
        assert elsewhere.seen == []


def test_a_redirect_on_the_same_host_is_followed() -> None:
    with http_server("127.0.0.1") as target:
        same_host = url_of(target)
        with http_server("127.0.0.1", redirect_to=same_host) as printer:
            client = OctorestPrinterClient(url_of(printer), "secret-key-2", timeout_seconds=2)
            assert client.check() == "1.11.8"
        assert target.seen == [("/api/version", "secret-key-2")]


def test_a_printer_that_never_answers_times_out() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # the handshake completes in the backlog; nothing is ever read or written
    try:
        client = OctorestPrinterClient(f"http://127.0.0.1:{silent.getsockname()[1]}", "k", timeout_seconds=0.5)
        started = time.monotonic()
        with pytest.raises(PrinterUnreachable, match="timed out \\(timeout 0.5 s\\)"):
            client.check()
        assert time.monotonic() - started < 5
    finally:
        silent.close()


def test_registering_a_redirecting_printer_through_the_api_saves_nothing(database_url, tmp_path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", database_url=database_url, printer_timeout_seconds=2)
    app = create_app(settings, run_background=False)  # the real OctoPrint client, not the fake fleet
    services = app.state.services
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        admin, _ = services.tokens.create(session, SYSTEM, role=Role.ADMIN, name="admin")
    headers = {"Authorization": f"Bearer {admin}"}
    with TestClient(app) as client, http_server("127.0.0.2") as elsewhere, \
            http_server("127.0.0.1", redirect_to=url_of(elsewhere)) as printer:
        site = client.post("/api/sites", json={"name": "acme"}, headers=headers).json()["id"]
        response = client.post("/api/printers", headers=headers, json={
            "site_id": site, "name": "mk3", "base_url": url_of(printer), "api_key": "secret-key-3",
            "profile": "prusa-mk3s-0.4"})
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "InputError"
        assert "did not answer as OctoPrint" in response.json()["detail"]
        assert "another host refused" in response.json()["detail"]
        assert "secret-key-3" not in response.text
        assert client.get("/api/printers", headers=headers).json() == []
        assert elsewhere.seen == []
    services.db.dispose()


@pytest.fixture
def lan_only(configured_world):
    world = configured_world(printer_allowed_networks=["127.0.0.0/8", "192.168.8.0/24"])
    world.ids["acme"] = world.ok("admin", "POST", "/api/sites", json={"name": "acme"})["id"]
    return world


def register(world, name: str, base_url: str):
    printer = world.fleet.add(base_url, PRINTER_KEY)
    response = world.call("admin", "POST", "/api/printers", json={
        "site_id": world.ids["acme"], "name": name, "base_url": base_url, "api_key": PRINTER_KEY,
        "profile": "prusa-mk3s-0.4"})
    return response, printer


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:5000", "https://192.168.8.20", "http://127.0.0.1.nip.invalid"])
def test_allowed_networks_refuse_or_admit_a_printer_before_it_is_called(lan_only, base_url) -> None:
    response, printer = register(lan_only, "p", base_url)

    if base_url.endswith(".invalid"):
        assert response.status_code == 422
        assert "cannot resolve the name" in response.json()["detail"]
        assert printer.calls == []
    else:
        assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("base_url", "address"),
    [("http://10.1.2.3", "10.1.2.3"), ("http://192.168.9.1:80", "192.168.9.1"), ("http://[::1]:5000", "::1")],
)
def test_a_printer_outside_the_allowed_networks_is_refused_and_never_called(lan_only, base_url, address) -> None:
    response, printer = register(lan_only, "p", base_url)

    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert f"resolves to {address}, outside the allowed printer networks (127.0.0.0/8, 192.168.8.0/24)" in detail
    assert printer.calls == []  # refused before any request left printfarm
    assert lan_only.ok("admin", "GET", "/api/printers") == []


def test_every_resolved_address_must_be_allowed() -> None:
    networks = parse_networks(["10.0.0.0/8"])

    assert address_problem("p", ["10.0.0.5"], networks) is None
    assert address_problem("p", ["::ffff:10.0.0.5"], networks) is None  # IPv4-mapped IPv6
    assert address_problem("p", ["10.0.0.5", "203.0.113.9"], networks) == (
        "p resolves to 203.0.113.9, outside the allowed printer networks (10.0.0.0/8)"
    )
    assert address_problem("p", [], networks) == "p resolves to no address"


def test_a_bad_network_setting_stops_start_up_naming_it(tmp_path) -> None:
    with pytest.raises(ConfigError, match="printer_allowed_networks: .*'10.0.0.0/33' is not a network in CIDR form"):
        load_settings(data_dir=tmp_path, printer_allowed_networks="10.0.0.0/8,10.0.0.0/33")
